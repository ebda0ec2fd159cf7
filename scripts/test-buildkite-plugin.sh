#!/usr/bin/env bash
# The Buildkite plugin's checks: shellcheck on its hooks and scripts, its plugin.yml's
# configuration schema against the JSON Schema metaschema and the example pipeline against it
# (check-jsonschema), then its bats tests, the end-to-end ones with the real truss-ci
# ($TRUSS_CI_BIN, else a debug build made here) against the fake Baseten API
# ($TRUSS_CI_FAKE_BASETEN, else target/debug/examples/fake-baseten, built here when missing). A missing tool is a
# loud skip, or a failure with TRUSS_CI_REQUIRE_INTEROP=1. Tools: scripts/interop-setup.sh
# (shellcheck, check-jsonschema) and scripts/setup-buildkite-plugin.sh (bats).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
. scripts/common.sh
plugin=buildkite-plugin
cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
venv=$(dirname "$cj")
sc=${TRUSS_CI_SHELLCHECK:-$venv/shellcheck}
bats=${TRUSS_CI_BATS:-target/interop/bats-venv/bin/bats}

echo "--- shellcheck"
if [ -x "$sc" ]; then
  "$sc" -x "$plugin"/hooks/* "$plugin"/lib/*.bash "$plugin"/tests/stubs/* \
    scripts/setup-buildkite-plugin.sh scripts/test-buildkite-plugin.sh
  "$sc" -x -s bash "$plugin"/tests/*.bats "$plugin"/tests/helpers.bash
else
  skip "no shellcheck at $sc: run scripts/interop-setup.sh"
fi

echo "--- plugin.yml's configuration schema"
if [ -x "$cj" ] && [ -x "$venv/python" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # The configuration block, and each of the example pipeline's configurations of this plugin,
  # as JSON files (ruamel.yaml comes with check-jsonschema).
  "$venv/python" - "$plugin/plugin.yml" "$plugin/examples/pipeline.yml" "$work" <<'PY'
import json, sys
from ruamel.yaml import YAML
yaml = YAML(typ="safe")
plugin, pipeline, out = sys.argv[1:]
with open(plugin) as f:
    meta = yaml.load(f)
for field in ("name", "description", "author", "requirements", "configuration"):
    assert field in meta, f"plugin.yml has no {field}"
with open(f"{out}/schema.json", "w") as f:
    json.dump(meta["configuration"], f)
n = 0
with open(pipeline) as f:
    for step in yaml.load(f)["steps"]:
        for entry in step.get("plugins", []):
            for ref, config in entry.items():
                if "/buildkite-plugin#" in ref:
                    n += 1
                    with open(f"{out}/config-{n}.json", "w") as c:
                        json.dump(config, c)
assert n, "the example pipeline configures the plugin nowhere"
with open(f"{out}/bad.json", "w") as f:
    json.dump({"api-key": "the key itself", "job-key": "routes"}, f)
PY
  "$cj" --check-metaschema "$work/schema.json"
  "$cj" --schemafile "$work/schema.json" "$work"/config-*.json
  "$cj" --builtin-schema vendor.buildkite "$plugin/examples/pipeline.yml"
  if "$cj" --schemafile "$work/schema.json" "$work/bad.json" >/dev/null 2>&1; then
    echo "the configuration schema accepted an unknown option and a bad job-key" >&2
    exit 1
  fi
else
  skip "no check-jsonschema at $cj: run scripts/interop-setup.sh"
fi

echo "--- bats"
if [ -x "$bats" ]; then
  # The end-to-end tests: the release binary (or a debug build) and the fake Baseten API.
  end_to_end
  "$bats" "$plugin/tests"
else
  skip "no bats at $bats: run scripts/setup-buildkite-plugin.sh"
fi
