#!/usr/bin/env bash
# truss-ci/login: maps the command's parameters, which CircleCI hands over as ORB_PARAM_*
# environment variables (never spliced into this text), to `truss-ci login` flags. Each value is
# passed as `--flag=value`, so one starting with `-` stays a value. The key reaches truss-ci only
# through its environment (the variable api-key-env names, read with --from-env), never argv, and
# is never printed.
# Plain bash 3.2 (macOS) and later: CircleCI runs this text with the step's shell, not as a file.
# All the logic (validation, the trussrc, the $BASH_ENV exports, the undo record) is truss-ci's.
set -euo pipefail
# A trace of the shell (set -x) would print the key: tracing is off from here on in this step.
{ set +x; } 2>/dev/null

usage() { # usage MESSAGE: a bad parameter, exit 2 (truss-ci's usage code) before truss-ci runs
  printf 'truss-ci/login: %s\n' "$1" >&2
  exit 2
}

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# The one yes/no parser: true/false/yes/no/on/off/1/0 in any case; anything else is an error
# naming the parameter, never a silent no. Prints true or false.
yes_no() { # yes_no PARAMETER VALUE
  case "$(lower "$2")" in
    true | yes | on | 1) echo true ;;
    false | no | off | 0) echo false ;;
    *) usage "the $1 parameter must be true or false (or yes/no, on/off, 1/0), not '$2'" ;;
  esac
}

key_env=${ORB_PARAM_API_KEY_ENV:-BASETEN_API_KEY}
remote=${ORB_PARAM_REMOTE:-}
remote_url=${ORB_PARAM_REMOTE_URL:-}
api_url=${ORB_PARAM_API_URL:-}
timeout=${ORB_PARAM_TIMEOUT:-}
require_key_type=${ORB_PARAM_REQUIRE_KEY_TYPE:-}
export_env=${ORB_PARAM_EXPORT_ENV:-false}
validate=${ORB_PARAM_VALIDATE:-true}
job_key=${ORB_PARAM_JOB_KEY:-false}
job_key_ttl=${ORB_PARAM_JOB_KEY_TTL:-}
model_ids=${ORB_PARAM_MODEL_IDS:-}
team=${ORB_PARAM_TEAM:-}
baseten_profile=${ORB_PARAM_BASETEN_PROFILE:-}
# truss-ci gets none of the parameters' variables, only its flags.
unset ORB_PARAM_API_KEY_ENV ORB_PARAM_REMOTE ORB_PARAM_REMOTE_URL ORB_PARAM_API_URL \
  ORB_PARAM_TIMEOUT ORB_PARAM_REQUIRE_KEY_TYPE ORB_PARAM_EXPORT_ENV ORB_PARAM_VALIDATE \
  ORB_PARAM_JOB_KEY ORB_PARAM_JOB_KEY_TTL ORB_PARAM_MODEL_IDS ORB_PARAM_TEAM ORB_PARAM_BASETEN_PROFILE

[[ "$key_env" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || usage "the api-key-env parameter must be an environment variable name"
# Every yes/no value is read before anything runs, so a typo fails the step at once.
case "$(lower "$export_env")" in
  truss-env) export_mode=truss-env ;;
  *) export_mode=$(yes_no export-env "$export_env") ;;
esac
validate=$(yes_no validate "$validate")
case "$(lower "$job_key")" in
  workspace-manage-all | workspace-invoke | workspace-export-metrics) job_key=$(lower "$job_key") ;;
  *) job_key=$(yes_no job-key "$job_key") ;;
esac

args=(login)
if [ -n "$remote" ]; then args+=("--remote=$remote"); fi
if [ -n "$remote_url" ]; then args+=("--remote-url=$remote_url"); fi
if [ -n "$api_url" ]; then args+=("--api-url=$api_url"); fi
if [ -n "$timeout" ]; then args+=("--timeout=$timeout"); fi
if [ -n "$require_key_type" ]; then args+=("--require-key-type=$require_key_type"); fi
case "$export_mode" in
  truss-env) args+=(--export-env=truss-env) ;;
  true) args+=(--export-env) ;;
esac
if [ "$validate" = false ]; then args+=(--no-validate); fi
if [ "$job_key" != false ]; then
  if [ "$job_key" = true ]; then args+=(--job-key); else args+=("--job-key=$job_key"); fi
  # model-ids: separated by commas or white space (split with globbing off; no here-string,
  # whose two less-than signs CircleCI would read as its own syntax).
  set -f
  saved_ifs=$IFS
  IFS=$', \t\n\r'
  for id in $model_ids; do args+=("--model-id=$id"); done
  IFS=$saved_ifs
  set +f
  if [ -n "$team" ]; then args+=("--team=$team"); fi
  if [ -n "$job_key_ttl" ]; then args+=("--job-key-ttl=$job_key_ttl"); fi
fi
# baseten-profile: true (a profile named like the remote), false, or the profile's name.
case "$(lower "$baseten_profile")" in
  '' | false | no | off | 0) ;;
  true | yes | on | 1) args+=(--baseten-profile) ;;
  *) args+=("--baseten-profile=$baseten_profile") ;;
esac

# The key: truss-ci reads it from the variable api-key-env names (--from-env=NAME, which reads
# NAME_FILE too), never from argv. The variable keeps its name, so that truss-ci can tell whether
# what export-env writes to $BASH_ENV would replace it in the later steps logout runs in.
file_env=${key_env}_FILE
if [ -z "${!key_env:-}" ] && [ -z "${!file_env:-}" ]; then
  printf 'truss-ci/login: %s is not set in this job: add the context or project variable that holds the key\n' "$key_env" >&2
fi
if [ "$key_env" = BASETEN_API_KEY ]; then
  args+=(--from-env)
else
  args+=("--from-env=$key_env")
fi

exec truss-ci "${args[@]}"
