#!/usr/bin/env bash
# Installs the Azure Pipelines task's dependency (azure-pipelines-task-lib, pinned in
# azure/TrussCiLogin/package.json and its package-lock.json) into azure/TrussCiLogin/node_modules
# with `npm ci` (idempotent: nothing is done when the pinned version is already there). The
# task's tests find it there, so no environment is printed on stdout; logs go to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
task=$root/azure/TrussCiLogin
log() { printf 'setup-azure-task: %s\n' "$*" >&2; }

want=$(node -p 'require(process.argv[1]).dependencies["azure-pipelines-task-lib"]' "$task/package.json")
got=$(node -p 'require(process.argv[1]).version' "$task/node_modules/azure-pipelines-task-lib/package.json" 2>/dev/null || true)
if [ "$got" != "$want" ]; then
  command -v npm >/dev/null || { log "npm is needed to install azure-pipelines-task-lib@$want"; exit 1; }
  log "installing azure-pipelines-task-lib@$want into $task/node_modules (npm ci)"
  (cd "$task" && npm ci --silent --no-audit --no-fund >&2)
fi
