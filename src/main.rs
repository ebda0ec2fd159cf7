//! The `truss-ci` binary: everything lives in the library.
fn main() -> std::process::ExitCode {
    truss_ci::main()
}
