#!/usr/bin/env bash
# The test command: the whole cargo suite (unit, integration, interop), then the extra suites that
# live outside cargo. Interop tests read the tool paths that scripts/interop-setup.sh prints.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets
