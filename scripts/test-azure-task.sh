#!/usr/bin/env bash
# The Azure Pipelines task's checks: shellcheck on its scripts, then its tests with Node's own
# runner (node --test azure/): the steps under azure-pipelines-task-lib's mock runner with a stub
# truss-ci, and end to end with the real truss-ci ($TRUSS_CI_BIN, else a debug build made here)
# against the fake Baseten API ($TRUSS_CI_FAKE_BASETEN, else beside the build). The task library
# comes from scripts/setup-azure-task.sh; without it (or shellcheck, or cargo) each check skips
# loudly, unless TRUSS_CI_REQUIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
. scripts/common.sh

cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
sc=${TRUSS_CI_SHELLCHECK:-$(dirname "$cj")/shellcheck}
if [ -x "$sc" ]; then
  "$sc" scripts/setup-azure-task.sh scripts/test-azure-task.sh
else
  skip "no shellcheck at $sc: run scripts/interop-setup.sh"
fi

[ -f azure/TrussCiLogin/node_modules/azure-pipelines-task-lib/package.json ] \
  || skip "no azure-pipelines-task-lib in azure/TrussCiLogin/node_modules: run scripts/setup-azure-task.sh (the task's tests skip)"

# The end-to-end tests: the release binary (or a debug build) and the fake Baseten API.
end_to_end
node --test azure/
