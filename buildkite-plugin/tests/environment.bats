#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each test runs in a subshell of its own: what it exports stays there
# The environment hook: the plugin's configuration as `truss-ci login` flags, the key only in
# truss-ci's environment, bad options refused before truss-ci runs.

load helpers

setup() { setup_job; }
teardown() { teardown_job; }

@test "defaults: login --from-env, the key in env only" {
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env
  [ "$(last_env_key)" = "$KEY" ]
  expect_key_hidden
}

@test "each option becomes its --flag=value" {
  export BUILDKITE_PLUGIN_TRUSS_CI_REMOTE=staging
  export BUILDKITE_PLUGIN_TRUSS_CI_REMOTE_URL=https://app.staging.baseten.co
  export BUILDKITE_PLUGIN_TRUSS_CI_API_URL=https://api.staging.baseten.co
  export BUILDKITE_PLUGIN_TRUSS_CI_TIMEOUT=45
  export BUILDKITE_PLUGIN_TRUSS_CI_REQUIRE_KEY_TYPE=workspace-manage-all,personal
  export BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=true
  export BUILDKITE_PLUGIN_TRUSS_CI_VALIDATE=false
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=true
  export BUILDKITE_PLUGIN_TRUSS_CI_TEAM=ml
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY_TTL=2h
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env --remote=staging --remote-url=https://app.staging.baseten.co \
    --api-url=https://api.staging.baseten.co --timeout=45 \
    --require-key-type=workspace-manage-all,personal --export-env --no-validate --job-key \
    --team=ml --job-key-ttl=2h
  expect_key_hidden
}

@test "baseten-profile: true names the profile after the remote, a name is one flag's value" {
  export BUILDKITE_PLUGIN_TRUSS_CI_BASETEN_PROFILE=true
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env --baseten-profile
  export BUILDKITE_PLUGIN_TRUSS_CI_BASETEN_PROFILE=Deploy-1
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env --baseten-profile=Deploy-1
  export BUILDKITE_PLUGIN_TRUSS_CI_BASETEN_PROFILE=off
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env
}

@test "a value that starts with - stays the option's value" {
  export BUILDKITE_PLUGIN_TRUSS_CI_REMOTE=--no-validate
  export BUILDKITE_PLUGIN_TRUSS_CI_TEAM=-x
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=yes
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env --remote=--no-validate --job-key --team=-x
}

@test "values are trimmed; blank options are left out" {
  export BUILDKITE_PLUGIN_TRUSS_CI_REMOTE="  prod  "
  export BUILDKITE_PLUGIN_TRUSS_CI_API_URL="   "
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env --remote=prod
}

@test "every yes/no spelling is read, in any case" {
  local value
  for value in false FALSE No off 0; do
    : >"$STUB_LOG"
    BUILDKITE_PLUGIN_TRUSS_CI_VALIDATE=$value environment_hook
    [ "$status" -eq 0 ]
    expect_argv login --from-env --no-validate
  done
  for value in true True YES on 1; do
    : >"$STUB_LOG"
    BUILDKITE_PLUGIN_TRUSS_CI_VALIDATE=$value environment_hook
    [ "$status" -eq 0 ]
    expect_argv login --from-env
  done
}

@test "a bad boolean is refused with exit 2 before truss-ci runs" {
  export BUILDKITE_PLUGIN_TRUSS_CI_VALIDATE=ture
  environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"the validate option must be true or false"*"not 'ture'"* ]]
  [ "$(stub_runs)" -eq 0 ]
}

@test "a bad cleanup, which only pre-exit reads, fails the login at once" {
  export BUILDKITE_PLUGIN_TRUSS_CI_CLEANUP=flase
  environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"the cleanup option must be true or false"* ]]
  [ "$(stub_runs)" -eq 0 ]
}

@test "export-env: true, truss-env, false; anything else is refused" {
  BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=on environment_hook
  expect_argv login --from-env --export-env
  BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=Truss-Env environment_hook
  expect_argv login --from-env --export-env=truss-env
  : >"$STUB_LOG"
  BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=false environment_hook
  expect_argv login --from-env
  : >"$STUB_LOG"
  BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=github environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"the export-env option must be true or false (or yes/no, on/off, 1/0, truss-env, key), not 'github'"* ]]
  [ "$(stub_runs)" -eq 0 ]
}

@test "job-key: true, a key type, false; anything else is refused" {
  BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=1 environment_hook
  expect_argv login --from-env --job-key
  BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=workspace-manage-all environment_hook
  expect_argv login --from-env --job-key=workspace-manage-all
  BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=WORKSPACE-INVOKE BUILDKITE_PLUGIN_TRUSS_CI_MODEL_IDS="abc, def ghi" environment_hook
  expect_argv login --from-env --job-key=workspace-invoke --model-id=abc --model-id=def --model-id=ghi
  BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=workspace-export-metrics BUILDKITE_PLUGIN_TRUSS_CI_MODEL_IDS_0=m1 \
    BUILDKITE_PLUGIN_TRUSS_CI_MODEL_IDS_1=m2 environment_hook
  expect_argv login --from-env --job-key=workspace-export-metrics --model-id=m1 --model-id=m2
  : >"$STUB_LOG"
  BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=False environment_hook
  expect_argv login --from-env
  : >"$STUB_LOG"
  BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=routes environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"the job-key option must be true or false"*"workspace-invoke"*"not 'routes'"* ]]
  [ "$(stub_runs)" -eq 0 ]
}

@test "job-key options without job-key still reach truss-ci, which refuses them" {
  export BUILDKITE_PLUGIN_TRUSS_CI_TEAM=ml BUILDKITE_PLUGIN_TRUSS_CI_MODEL_IDS=m1
  environment_hook
  expect_argv login --from-env --model-id=m1 --team=ml
}

@test "a restricted job key with export-env is truss-ci's to judge: the flags reach it as given" {
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=workspace-invoke BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=true
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env --export-env --job-key=workspace-invoke
  export MY_KEY=$KEY BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env=MY_KEY --export-env --job-key=workspace-invoke
  # Its refusal (exit 2) is the hook's (end to end, with the real truss-ci, in e2e.bats).
  STUB_EXIT=2 environment_hook
  [ "$status" -eq 2 ]
}

@test "api-key-env: truss-ci reads the named variable, in env only" {
  export MY_KEY=other.K3yValue55 BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env=MY_KEY
  [ "$(last_env_key MY_KEY)" = other.K3yValue55 ]
  [ "$(last_env_key)" = "$KEY" ]
  expect_key_hidden other.K3yValue55
}

@test "api-key-env naming an unset variable is refused before truss-ci runs" {
  export BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"names MY_KEY, which is unset or empty"* ]]
  [ "$(stub_runs)" -eq 0 ]
}

@test "api-key-env holding the key itself is refused without printing it" {
  export BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV="$KEY"
  environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"must be the name of an env var"* ]]
  expect_key_hidden
  [ "$(stub_runs)" -eq 0 ]
}

@test "an unset BASETEN_API_KEY is left to truss-ci (which also reads BASETEN_API_KEY_FILE)" {
  unset BASETEN_API_KEY
  environment_hook
  [ "$status" -eq 0 ]
  expect_argv login --from-env
  [ "$(last_env_key)" = "<unset>" ]
}

@test "truss-ci's failure is the hook's, with its exit code" {
  STUB_EXIT=3 environment_hook
  [ "$status" -eq 3 ]
  [[ $output == *"truss-ci login failed (exit 3)"* ]]
  expect_key_hidden
}

@test "without truss-ci on PATH, the hook says how to install it" {
  rm "$WORK/bin/truss-ci"
  environment_hook
  [ "$status" -eq 1 ]
  [[ $output == *"truss-ci is not on PATH"*"pip install truss-ci==0.1.0"*".sha256"* ]]
  BUILDKITE_PLUGIN_TRUSS_CI_VERSION=v0.2.0 environment_hook
  [[ $output == *"pip install truss-ci==0.2.0"* ]]
}

@test "version: a truss-ci of another version is refused" {
  BUILDKITE_PLUGIN_TRUSS_CI_VERSION=0.1.0 environment_hook
  [ "$status" -eq 0 ]
  : >"$STUB_LOG"
  BUILDKITE_PLUGIN_TRUSS_CI_VERSION=0.2.0 environment_hook
  [ "$status" -eq 2 ]
  [[ $output == *"asks for truss-ci 0.2.0"*"truss-ci 0.1.0"* ]]
  [ "$(stub_runs)" -eq 0 ]
}

@test "the configuration is read under the name the agent gives the plugin" {
  # From github.com/baseten/auth-action/buildkite-plugin the agent's name is buildkite-plugin.
  export BUILDKITE_PLUGIN_NAME=BUILDKITE_PLUGIN BUILDKITE_PLUGIN_BUILDKITE_PLUGIN_REMOTE=sub
  export BUILDKITE_PLUGIN_TRUSS_CI_REMOTE=ignored
  environment_hook
  expect_argv login --from-env --remote=sub
}

@test "sourced as the agent sources it, the hook exports nothing and leaves the key alone" {
  run bash -c '
    env | sort >"$WORK/before"
    . "$1"
    env | sort >"$WORK/after"
  ' _ "$PLUGIN_DIR/hooks/environment"
  [ "$status" -eq 0 ]
  diff "$WORK/before" "$WORK/after"
  expect_key_hidden
}

@test "a trace of the job's shell (set -x) never shows the key, and tracing is back on after the hooks" {
  export MY_KEY=$KEY BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  run bash -xc '. "$1/hooks/environment"; . "$1/hooks/pre-exit"; case $- in *x*) echo still-tracing ;; esac' _ "$PLUGIN_DIR"
  [ "$status" -eq 0 ]
  [[ "$output" != *"$KEY"* ]]
  [[ "$output" == *still-tracing* ]]
}
