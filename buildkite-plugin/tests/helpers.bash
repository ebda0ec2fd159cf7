# shellcheck shell=bash
# Shared by the plugin's bats files: a scratch directory, the stubs on a PATH without any other
# truss-ci, and a job environment with no plugin configuration but what a test sets.

PLUGIN_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
KEY=bkTEST01.s3cretValue9876

setup_job() {
  WORK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/truss-ci-plugin.XXXXXX")
  export WORK
  mkdir -p "$WORK/bin" "$WORK/home"
  cp "$BATS_TEST_DIRNAME/stubs/truss-ci" "$BATS_TEST_DIRNAME/stubs/buildkite-agent" "$WORK/bin/"
  # No configuration from the environment the tests run in.
  local name
  for name in $(compgen -e); do
    case $name in
      BUILDKITE* | BASETEN_* | TRUSS_CI_* | USER_TRUSSRC_PATH | MY_KEY) unset "$name" ;;
    esac
  done
  # The system's directories, less any that holds a truss-ci of its own.
  local dir path=$WORK/bin
  for dir in /usr/local/bin /usr/bin /bin; do
    [ -e "$dir/truss-ci" ] || path=$path:$dir
  done
  export PATH=$path
  export HOME=$WORK/home STUB_LOG=$WORK/truss-ci.log AGENT_LOG=$WORK/agent.log
  export BASETEN_API_KEY=$KEY
  : >"$STUB_LOG"
  : >"$AGENT_LOG"
}

teardown_job() {
  rm -rf "$WORK"
}

# The argv of the stub's last run, one argument a line, without the "argv: " prefix.
last_argv() {
  awk '/^=== truss-ci/ { buf = ""; next } /^argv: / { buf = buf substr($0, 7) "\n" } END { printf "%s", buf }' "$STUB_LOG"
}

# last_env_key [VAR]: the value of VAR (default BASETEN_API_KEY) in the stub's last recorded env.
last_env_key() {
  local var=${1:-BASETEN_API_KEY}
  grep "^env $var=" "$STUB_LOG" | tail -n 1 | sed "s/^env $var=//"
}

stub_runs() {
  grep -c '^=== truss-ci' "$STUB_LOG" || true
}

# expect_argv ARG...: the stub's last argv was exactly these arguments.
expect_argv() {
  local want got
  want=$(printf '%s\n' "$@")
  got=$(last_argv)
  if [ "$got" != "$want" ]; then
    printf 'argv was:\n%s\nwanted:\n%s\n' "$got" "$want" >&2
    return 1
  fi
}

# The key is in no argv the stubs recorded, and not in the hook's output.
expect_key_hidden() {
  local key=${1:-$KEY}
  if grep '^argv: ' "$STUB_LOG" "$AGENT_LOG" | grep -F -- "$key"; then
    echo "the key reached an argv" >&2
    return 1
  fi
  # shellcheck disable=SC2154 # bats's run sets output
  if printf '%s' "$output" | grep -F -- "$key"; then
    echo "the key reached the hook's output" >&2
    return 1
  fi
}

environment_hook() {
  run bash "$PLUGIN_DIR/hooks/environment"
}

pre_exit_hook() {
  run bash "$PLUGIN_DIR/hooks/pre-exit"
}
