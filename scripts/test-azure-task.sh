#!/usr/bin/env bash
# The Azure Pipelines task's checks: shellcheck on its scripts, then its tests with Node's own
# runner (node --test azure/): the steps under azure-pipelines-task-lib's mock runner with a stub
# truss-ci, and end to end with the real truss-ci ($TRUSS_CI_BIN, else a debug build made here)
# against the fake Baseten API ($TRUSS_CI_FAKE_BASETEN, else beside the build). The task library
# comes from scripts/setup-azure-task.sh; without it (or shellcheck, or cargo) each check skips
# loudly, unless TRUSS_CI_REQUIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
require=${TRUSS_CI_REQUIRE_INTEROP:-}
skip() { # skip WHAT: fatal when interop is required, a loud skip otherwise
  if [ "$require" = 1 ]; then
    echo "$1 (TRUSS_CI_REQUIRE_INTEROP=1)" >&2
    exit 1
  fi
  echo "SKIPPED: $1" >&2
}

cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
sc=${TRUSS_CI_SHELLCHECK:-$(dirname "$cj")/shellcheck}
if [ -x "$sc" ]; then
  "$sc" scripts/setup-azure-task.sh scripts/test-azure-task.sh
else
  skip "no shellcheck at $sc: run scripts/interop-setup.sh"
fi

[ -f azure/TrussCiLogin/node_modules/azure-pipelines-task-lib/package.json ] \
  || skip "no azure-pipelines-task-lib in azure/TrussCiLogin/node_modules: run scripts/setup-azure-task.sh (the task's tests skip)"

# The end-to-end tests: $TRUSS_CI_BIN (else a debug build) and the fake Baseten API.
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$(pwd)/$target ;; esac
fake=${TRUSS_CI_FAKE_BASETEN:-$target/debug/examples/fake-baseten}
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
node --test azure/
