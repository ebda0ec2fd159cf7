//! The `truss-ci` binary: everything lives in the library.

/// On musl (the static Linux release), dlmalloc rather than musl's own allocator, which takes about
/// twice as long over the many small allocations of parsing (Cargo.toml).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> std::process::ExitCode {
    truss_ci::main()
}
