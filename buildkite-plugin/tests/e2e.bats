#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each test runs in a subshell of its own: what it exports stays there
# The hooks with the real truss-ci ($TRUSS_CI_BIN) against the test suite's fake Baseten API
# (`cargo build --example fake-baseten`, beside it or at $TRUSS_CI_FAKE_BASETEN), in a throwaway
# HOME, as a Buildkite job (buildkite-agent is the stub, recording what truss-ci asks of it).

load helpers

setup() {
  if [ -z "${TRUSS_CI_BIN:-}" ]; then
    echo "SKIPPED: TRUSS_CI_BIN is unset: no end-to-end test with the real truss-ci" >&3
    skip "TRUSS_CI_BIN is unset: set it to a truss-ci binary (scripts/test-buildkite-plugin.sh builds one)"
  fi
  local bin=$TRUSS_CI_BIN
  local fake=${TRUSS_CI_FAKE_BASETEN:-$(dirname "$bin")/examples/fake-baseten}
  [ -x "$fake" ] || {
    echo "no fake Baseten API at $fake: run cargo build --example fake-baseten, or set TRUSS_CI_FAKE_BASETEN" >&2
    return 1
  }
  setup_job
  ln -sf "$bin" "$WORK/bin/truss-ci"
  export BUILDKITE=true BUILDKITE_JOB_ID=0190f3a2-7d3c-4b6e-9c1a-5e8f2b4d6a10
  # The fake serves until its stdin closes: this shell holds the FIFO's other end.
  mkfifo "$WORK/fake.in"
  "$fake" "$KEY" <"$WORK/fake.in" >"$WORK/fake.url" 3>&- &
  FAKE_PID=$!
  exec 9>"$WORK/fake.in"
  local _
  for _ in $(seq 200); do
    [ -s "$WORK/fake.url" ] && break
    sleep 0.05
  done
  API=$(cat "$WORK/fake.url")
  [ -n "$API" ]
  export BUILDKITE_PLUGIN_TRUSS_CI_API_URL=$API
}

teardown() {
  [ -n "${WORK:-}" ] || return 0
  exec 9>&-
  wait "$FAKE_PID" 2>/dev/null || true
  teardown_job
}

@test "end to end: the environment hook logs in, pre-exit undoes it" {
  environment_hook
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qFx '[baseten]' "$HOME/.trussrc"
  grep -qFx "api_key = $KEY" "$HOME/.trussrc"
  [ "$(stat -c %a "$HOME/.trussrc")" = 600 ]
  # The key reached the log redactor on stdin, not argv.
  grep -qFx 'argv: redactor' "$AGENT_LOG"
  grep -qFx "stdin: $KEY" "$AGENT_LOG"
  expect_key_hidden

  pre_exit_hook
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$HOME/.trussrc" ]
  expect_key_hidden
}

@test "end to end: a trussrc that was there is restored byte for byte" {
  printf '[other]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = old.Value1234\n\n' >"$HOME/.trussrc"
  chmod 600 "$HOME/.trussrc"
  cp "$HOME/.trussrc" "$WORK/before"
  environment_hook
  [ "$status" -eq 0 ]
  grep -qFx "api_key = $KEY" "$HOME/.trussrc"
  pre_exit_hook
  [ "$status" -eq 0 ]
  cmp "$WORK/before" "$HOME/.trussrc"
}

@test "end to end: a job key, exported to the command, revoked at pre-exit" {
  export MY_KEY=$KEY BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=true BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=true
  unset BASETEN_API_KEY
  environment_hook
  echo "$output"
  [ "$status" -eq 0 ]
  local job_key
  job_key=$(sed -n 's/^api_key = //p' "$HOME/.trussrc")
  [ -n "$job_key" ] && [ "$job_key" != "$KEY" ]
  # Handed to the command through the Job API, on stdin.
  grep -qFx 'argv: env' "$AGENT_LOG"
  grep -qF "\"BASETEN_API_KEY\":\"$job_key\"" "$AGENT_LOG"
  expect_key_hidden
  expect_key_hidden "$job_key"

  # As the agent runs pre-exit: BASETEN_API_KEY is the job key now.
  export BASETEN_API_KEY=$job_key
  pre_exit_hook
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$HOME/.trussrc" ]
  expect_key_hidden
  expect_key_hidden "$job_key"
  # The post said which key it revoked; run again, there is nothing left to do.
  pre_exit_hook
  [ "$status" -eq 0 ]
}

@test "end to end: a restricted job key exported over the key pre-exit revokes it with is refused by truss-ci" {
  export BUILDKITE_PLUGIN_TRUSS_CI_JOB_KEY=workspace-invoke BUILDKITE_PLUGIN_TRUSS_CI_MODEL_IDS=m1
  export BUILDKITE_PLUGIN_TRUSS_CI_EXPORT_ENV=true
  environment_hook
  echo "$output"
  [ "$status" -eq 2 ]
  [[ $output == *"--job-key=workspace-invoke with --export-env would hand the job key to the pre-exit hook as BASETEN_API_KEY"* ]]
  [[ $output == *"--from-env=NAME"* ]]
  [[ $output == *"truss-ci login failed (exit 2)"* ]]
  [ ! -e "$HOME/.trussrc" ]
  # Nothing was exported through the Job API.
  run grep -qFx 'argv: env' "$AGENT_LOG"
  [ "$status" -ne 0 ]
  expect_key_hidden

  # With the key that mints it in another variable, the job key is minted, exported and, at
  # pre-exit, revoked with that variable's key.
  export MY_KEY=$KEY BUILDKITE_PLUGIN_TRUSS_CI_API_KEY_ENV=MY_KEY
  environment_hook
  echo "$output"
  [ "$status" -eq 0 ]
  local job_key
  job_key=$(sed -n 's/^api_key = //p' "$HOME/.trussrc")
  [ -n "$job_key" ] && [ "$job_key" != "$KEY" ]
  grep -qF "\"BASETEN_API_KEY\":\"$job_key\"" "$AGENT_LOG"
  export BASETEN_API_KEY=$job_key
  pre_exit_hook
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"Revoked job key truss-ci-buildkite-"* ]]
  [ ! -e "$HOME/.trussrc" ]
  expect_key_hidden
  expect_key_hidden "$job_key"
}
