#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each test runs in a subshell of its own: what it exports stays there
# The pre-exit hook: `truss-ci logout --post` unless cleanup is off; a failed post fails the job.

load helpers

setup() { setup_job; }
teardown() { teardown_job; }

@test "runs logout --post and exits 0" {
  pre_exit_hook
  [ "$status" -eq 0 ]
  expect_argv logout --post
  expect_key_hidden
}

@test "a failed post (a job key left alive) fails the job with its exit code" {
  STUB_EXIT=3 pre_exit_hook
  [ "$status" -eq 3 ]
  [[ $output == *"truss-ci logout --post failed (exit 3)"* ]]
  expect_argv logout --post
}

@test "cleanup: false skips the post" {
  local value
  for value in false No OFF 0; do
    BUILDKITE_PLUGIN_TRUSS_CI_CLEANUP=$value pre_exit_hook
    [ "$status" -eq 0 ]
    [[ $output == *"cleanup is off"* ]]
  done
  [ "$(stub_runs)" -eq 0 ]
}

@test "a bad cleanup warns and cleans up all the same" {
  BUILDKITE_PLUGIN_TRUSS_CI_CLEANUP=flase pre_exit_hook
  [ "$status" -eq 0 ]
  [[ $output == *"warning: the cleanup option must be true or false"* ]]
  expect_argv logout --post
}

@test "with a job key, the key that minted it is read from its variable, with api-url and timeout" {
  export MY_KEY=minter.K3yValue55 BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=workspace-invoke
  export BUILDKITE_PLUGIN_TRUSS_CI_API_URL=-https://api.example BUILDKITE_PLUGIN_TRUSS_CI_TIMEOUT=20
  export BUILDKITE_PLUGIN_TRUSS_CI_REMOTE=not-for-the-post
  pre_exit_hook
  [ "$status" -eq 0 ]
  expect_argv logout --post --from-env=MY_KEY --api-url=-https://api.example --timeout=20
  [ "$(last_env_key MY_KEY)" = minter.K3yValue55 ]
  expect_key_hidden minter.K3yValue55
}

@test "an unreadable job-key counts as one; a bad api-key-env falls back to BASETEN_API_KEY" {
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=maybe BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV="$KEY"
  pre_exit_hook
  [ "$status" -eq 0 ]
  expect_argv logout --post --from-env
  [ "$(last_env_key)" = "$KEY" ]
  expect_key_hidden
}

@test "without truss-ci on PATH, the post fails saying how to install it" {
  rm "$WORK/bin/truss-ci"
  pre_exit_hook
  [ "$status" -eq 1 ]
  [[ $output == *"truss-ci is not on PATH"*"pip install truss-ci=="* ]]
}

@test "a truss-ci of another version than asked still runs the post, with a warning" {
  BUILDKITE_PLUGIN_TRUSS_CI_VERSION=0.2.0 pre_exit_hook
  [ "$status" -eq 0 ]
  [[ $output == *"warning: the version option asks for truss-ci 0.2.0"* ]]
  expect_argv logout --post
}
