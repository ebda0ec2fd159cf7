#!/usr/bin/env bash
# truss-ci/logout: `truss-ci logout --post`, which undoes exactly what this job's login did (a
# replaced section restored, an added one removed, the $BASH_ENV exports cleared) and revokes a
# job key. The parameters arrive as ORB_PARAM_* environment variables; the key that minted a
# job key is read as login reads it, from the variable api-key-env names (--from-env), never argv.
# With nothing recorded it exits 0; otherwise with truss-ci's own code.
# Plain bash 3.2 (macOS) and later: CircleCI runs this text with the step's shell, not as a file.
set -euo pipefail
# A trace of the shell (set -x) would print the key: tracing is off from here on in this step.
{ set +x; } 2>/dev/null

key_env=${ORB_PARAM_API_KEY_ENV:-BASETEN_API_KEY}
api_url=${ORB_PARAM_API_URL:-}
timeout=${ORB_PARAM_TIMEOUT:-}
unset ORB_PARAM_API_KEY_ENV ORB_PARAM_API_URL ORB_PARAM_TIMEOUT

if ! [[ "$key_env" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  printf 'truss-ci/logout: the api-key-env parameter must be an environment variable name\n' >&2
  exit 2
fi

# Only a truss-ci on PATH can have logged this job in (an install that failed, say, never got that far).
if ! command -v truss-ci >/dev/null 2>&1; then
  echo 'truss-ci/logout: truss-ci is not on PATH, so this job never logged in: nothing to undo' >&2
  exit 0
fi

args=(logout --post)
if [ -n "$api_url" ]; then args+=("--api-url=$api_url"); fi
if [ -n "$timeout" ]; then args+=("--timeout=$timeout"); fi
if [ "$key_env" = BASETEN_API_KEY ]; then
  args+=(--from-env)
else
  args+=("--from-env=$key_env")
fi

exec truss-ci "${args[@]}"
