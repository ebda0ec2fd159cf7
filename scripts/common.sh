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
# process start without glibc's start-up work), elsewhere the host's.
release_target() {
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    *) rustc -vV | sed -n 's/^host: //p' ;;
  esac
}
