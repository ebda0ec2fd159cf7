# shellcheck shell=bash
# What the test scripts share, sourced: the loud skip, and the release binary and fake Baseten
# API the wrappers' end-to-end tests run against.

# skip WHAT: fatal when interop is required (TRUSS_CI_REQUIRE_INTEROP=1), a loud skip otherwise.
skip() {
  if [ "${TRUSS_CI_REQUIRE_INTEROP:-}" = 1 ]; then
    echo "$1 (TRUSS_CI_REQUIRE_INTEROP=1)" >&2
    exit 1
  fi
  echo "SKIPPED: $1" >&2
}

# Exports TRUSS_CI_BIN ($TRUSS_CI_BIN, else a debug build) and TRUSS_CI_FAKE_BASETEN (the suite's
# fake API as a program), building what is missing; a loud skip without cargo.
end_to_end() {
  local target=${CARGO_TARGET_DIR:-target}
  case $target in /*) ;; *) target=$(pwd)/$target ;; esac
  local fake=${TRUSS_CI_FAKE_BASETEN:-$target/debug/examples/fake-baseten}
  if [ -z "${TRUSS_CI_BIN:-}" ] || [ ! -x "$fake" ]; then
    if command -v cargo >/dev/null; then
      cargo build --locked --quiet --bin truss-ci --example fake-baseten
    else
      skip "no cargo to build truss-ci and the fake Baseten API: the end-to-end tests are skipped"
    fi
  fi
  if [ -x "$fake" ]; then
    TRUSS_CI_BIN=${TRUSS_CI_BIN:-$target/debug/truss-ci}
    TRUSS_CI_FAKE_BASETEN=$fake
    export TRUSS_CI_BIN TRUSS_CI_FAKE_BASETEN
  fi
}

# The release's target for this machine: on Linux the static musl build (any distribution, and a
# process start without glibc's start-up work), elsewhere the host's; TRUSS_CI_RELEASE_TARGET
# when scripts/test.sh fell back to another.
release_target() {
  if [ -n "${TRUSS_CI_RELEASE_TARGET:-}" ]; then
    echo "$TRUSS_CI_RELEASE_TARGET"
    return
  fi
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    *) rustc -vV | sed -n 's/^host: //p' ;;
  esac
}

# has_rust_std TARGET: whether Rust's standard library for TARGET is installed.
has_rust_std() {
  local libdir
  libdir=$(rustc --print target-libdir --target "$1" 2>/dev/null || true)
  [ -n "$libdir" ] && [ -d "$libdir" ]
}

# musl_missing TARGET: what a build for the musl TARGET lacks here (Rust's standard library for it,
# or musl's C compiler for ring), said as what to do; nothing when it can be built.
musl_missing() {
  if ! has_rust_std "$1"; then
    echo "the Rust standard library for $1 is missing: rustup target add $1"
  # cc-rs calls ARCH-linux-musl-gcc; on x86_64 it also takes musl-gcc.
  elif ! command -v "${1%%-*}-linux-musl-gcc" >/dev/null &&
    ! { [ "${1%%-*}" = x86_64 ] && command -v musl-gcc >/dev/null; }; then
    echo "no C compiler for musl (${1%%-*}-linux-musl-gcc): install musl-tools"
  fi
}
