#!/usr/bin/env bash
# Try truss-ci in one command, no Baseten account needed: builds truss-ci (release profile) and the
# test suite's fake Baseten API (tests/fake_baseten.rs), starts the fake on 127.0.0.1, and walks
# through a CI job's login in a throwaway HOME with throwaway runner files: a login from the
# environment, status, the same login as a GitHub Actions step, a key minted for one job and
# revoked by the job's cleanup, exec, and a rejected key. Your HOME, keyring and CI files are never
# read or written; everything it makes is removed on every exit, signals included.
#
#   bash scripts/try.sh          the walk against the local stand-in
#   bash scripts/try.sh --real   log in to the real Baseten API with the BASETEN_API_KEY in your
#                                environment (also TRUSS_CI_TRY_REAL=1), still in a throwaway HOME
#
# TRUSS_CI_TRY_BIN and TRUSS_CI_TRY_FAKE name prebuilt binaries (the test suite passes its own).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

real=${TRUSS_CI_TRY_REAL:-}
case "${1:-}" in
  --real) real=1 ;;
  "") ;;
  -h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: bash scripts/try.sh [--real]" >&2; exit 2 ;;
esac
[ "$real" = 0 ] && real=""

if [ -n "$real" ] && [ -z "${BASETEN_API_KEY:-}" ]; then
  cat >&2 <<'EOF'
try.sh --real logs in to the real Baseten API with the key in BASETEN_API_KEY, and none is set.
Create an API key at https://app.baseten.co/settings/api_keys, then:
  read -rs BASETEN_API_KEY && export BASETEN_API_KEY && bash scripts/try.sh --real
(or run `bash scripts/try.sh` to see the whole flow against a local stand-in, no account needed)
EOF
  exit 2
fi

# --- what runs, and the throwaway place it runs in
work=$(mktemp -d "${TMPDIR:-/tmp}/truss-ci-try.XXXXXX")
fake_pid=""
cleanup() {
  exec 9>&- 2>/dev/null || true # the fake reads its stdin to the end, then exits
  if [ -n "$fake_pid" ]; then wait "$fake_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
for sig in HUP INT QUIT TERM; do
  # shellcheck disable=SC2064 # the number is fixed when the trap is set
  trap "exit $((128 + $(kill -l "$sig")))" "$sig"
done

bin=${TRUSS_CI_TRY_BIN:-}
fake=${TRUSS_CI_TRY_FAKE:-}
target=${CARGO_TARGET_DIR:-$root/target}
if [ -z "$bin" ]; then
  echo "building truss-ci (release profile) ..."
  (cd "$root" && cargo build --locked --release --quiet)
  bin=$target/release/truss-ci
fi
if [ -z "$fake" ] && [ -z "$real" ]; then
  echo "building the test suite's fake Baseten API ..."
  (cd "$root" && cargo build --locked --quiet --example fake-baseten)
  fake=$target/debug/examples/fake-baseten
fi

home=$work/home
mkdir -p "$home" "$work/bin" "$work/tmp" "$work/runner"
ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$work/bin/truss-ci"
cat >"$work/bin/show-baseten-env" <<'SH'
#!/bin/sh
# What a command run by `truss-ci exec` gets: the Baseten variables (the key as its length only).
env | sed -n 's/^\(BASETEN_[A-Z_]*\|USER_TRUSSRC_PATH\)=.*/\1/p' | sort | while read -r name; do
  eval "value=\${$name}"
  case $name in
    BASETEN_API_KEY) echo "$name is set (${#value} characters)" ;;
    *) echo "$name=$value" ;;
  esac
done
if [ -f "${USER_TRUSSRC_PATH:-}" ]; then
  echo "$USER_TRUSSRC_PATH: $(wc -c <"$USER_TRUSSRC_PATH") bytes, mode $(stat -c %a "$USER_TRUSSRC_PATH")"
fi
SH
chmod +x "$work/bin/show-baseten-env"

# --- how it is shown
secrets="" # every key in play, one a line: shown as PREFIX.**** wherever it would appear
hide() { secrets=$(printf '%s\n%s' "$secrets" "$1"); }
redact() { # stdin → stdout, each secret replaced by its prefix and ****
  TRY_SECRETS=$secrets TRY_WORK=$work awk 'BEGIN { n = split(ENVIRON["TRY_SECRETS"], s, "\n") }
    { line = $0
      for (i = 1; i <= n; i++) {
        if (s[i] == "") continue
        p = s[i]; sub(/\..*/, "", p)
        while ((j = index(line, s[i])) > 0)
          line = substr(line, 1, j - 1) p ".****" substr(line, j + length(s[i]))
      }
      while ((j = index(line, ENVIRON["TRY_WORK"])) > 0)
        line = substr(line, 1, j - 1) "$TRY" substr(line, j + length(ENVIRON["TRY_WORK"]))
      print line }'
}
show() { # TEXT...: an indented block, with GitLab's section markers and the keys taken out
  sed -E 's/\x1b\[0K//g; /^section_(start|end):/d' | redact | sed 's/^/    /'
}
bold=""
plain=""
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '  %s\n' "$*"; }

# job VAR=VALUE... -- CMD...: runs CMD with only these variables (and PATH, HOME, TMPDIR), as a
# CI runner would start a step: nothing of this shell's environment, the real HOME, a D-Bus session
# or a CI of its own reaches it. Variables are exported by the shell, so no key is ever in an argv.
job() {
  local shown=() vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shown+=("${1%%=*}=${1#*=}"); shift; done
  shift
  printf '  $ %s\n' "${shown[*]:+${shown[*]} }$*" | redact
  set +e
  (
    while read -r name; do unset "$name" 2>/dev/null; done < <(compgen -e)
    export PATH="$work/bin:/usr/bin:/bin" HOME="$home" TMPDIR="$work/tmp" LC_ALL=C.UTF-8 \
      BASETEN_TRUSS_AUTH_KEYRING_DISABLED=1
    for v in "${vars[@]}"; do export "${v?}"; done
    exec "$@"
  ) >"$work/out" 2>&1
  rc=$?
  set -e
  show <"$work/out"
  note "exit code $rc"
}
expect() { # CODE: the last step's exit code must be CODE
  if [ "$rc" != "$1" ]; then
    echo "try.sh: expected exit code $1, got $rc" >&2
    exit 1
  fi
}

# --- the real API
if [ -n "$real" ]; then
  key=$BASETEN_API_KEY
  hide "$key"
  # What reaching the real API may need from this shell: its remote, proxies and CA bundle.
  net=()
  for name in BASETEN_REMOTE_URL BASETEN_API_URL HTTPS_PROXY https_proxy HTTP_PROXY http_proxy \
    ALL_PROXY all_proxy NO_PROXY no_proxy SSL_CERT_FILE; do
    [ -n "${!name:-}" ] && net+=("$name=${!name}")
  done
  echo "truss-ci against the REAL Baseten API, with the key in BASETEN_API_KEY, in a throwaway HOME"
  echo "(\$TRY/home, \$TRY=$work): your own ~/.trussrc, keyring and CI files are not touched."
  step "1. Log in from the environment (validates the key, then writes ~/.trussrc)"
  job "${net[@]}" BASETEN_API_KEY="$key" -- truss-ci login --from-env
  [ "$rc" = 0 ] || exit "$rc"
  step "2. status --check: what truss will use, checked again"
  job "${net[@]}" -- truss-ci status --check
  [ "$rc" = 0 ] || exit "$rc"
  echo
  echo "Done: the throwaway HOME is removed now. In CI, the same two lines log truss in."
  exit 0
fi

# --- the local stand-in
key=tryDEMO01.Zq8wPm3vXk2Lr7Ny
bad=tryWRONG1.Hk4sQz8pLm2Tv6Wd
hide "$key"
hide "$bad"
mkfifo "$work/fake.in"
"$fake" "$key" <"$work/fake.in" >"$work/fake.url" &
fake_pid=$!
exec 9>"$work/fake.in"
for _ in $(seq 100); do [ -s "$work/fake.url" ] && break; sleep 0.05; done
api=$(cat "$work/fake.url")
[ -n "$api" ] || { echo "try.sh: the fake Baseten API did not start" >&2; exit 1; }
rc_file=$home/.trussrc

echo "truss-ci, the main job of a CI pipeline, against a local stand-in for Baseten's API at $api"
echo "(the fake the tests use). It runs in a throwaway HOME and throwaway runner files under"
echo "\$TRY=$work: your own HOME, keyring and CI files are never touched."
echo "The demo key is shown as $(printf %s "$key" | redact)."

step "1. Log in from the environment, as any CI job does"
job BASETEN_API_KEY="$key" BASETEN_REMOTE_URL="$api" -- truss-ci login --from-env
expect 0
note "The trussrc (~/.trussrc) now holds exactly what \`truss auth login --api-key\` writes (the key shortened here):"
show <"$rc_file"

step "2. status: what truss will use, printed as \`truss auth status\` prints it"
job -- truss-ci status
expect 0

step "3. The same login as a GitHub Actions step (what uses: baseten/auth-action runs)"
gh=$work/runner
for f in env output state summary; do : >"$gh/$f"; done
job GITHUB_ACTIONS=true GITHUB_ENV="$gh/env" GITHUB_OUTPUT="$gh/output" GITHUB_STATE="$gh/state" \
  GITHUB_STEP_SUMMARY="$gh/summary" BASETEN_API_KEY="$key" BASETEN_REMOTE_URL="$api" -- \
  truss-ci login --from-env --export-env
expect 0
note "The first line is the mask command: GitHub hides the key in every later line of the log."
note "GITHUB_ENV (for later steps: the key under a random delimiter, so no value can end it early):"
show <"$gh/env"
note "GITHUB_OUTPUT (steps.<id>.outputs.*):"
awk '/<<ghadelimiter_/ { split($0, a, "<<"); name = a[1]; next }
  /^ghadelimiter_/ { next } { print name " = " $0 }' "$gh/output" | show
note "GITHUB_STEP_SUMMARY (the run's summary page):"
show <"$gh/summary"

step "4. A key for this job only (--job-key), revoked by the job's cleanup (logout --post)"
cp "$rc_file" "$work/before-job"
gitlab=(GITLAB_CI=true CI_JOB_ID=4242 CI_PROJECT_DIR="$work/runner" BASETEN_API_KEY="$key" BASETEN_REMOTE_URL="$api")
job "${gitlab[@]}" -- truss-ci login --from-env --job-key --job-key-ttl 1h
expect 0
minted=$(sed -n 's/^api_key = //p' "$rc_file")
hide "$minted"
note "The trussrc now holds the minted key $(printf %s "$minted" | redact), not the CI secret; it expires in 1h anyway."
job "${gitlab[@]}" -- truss-ci logout --post
expect 0
if cmp -s "$work/before-job" "$rc_file"; then
  note "The trussrc is back to its bytes before the job ($(wc -c <"$rc_file") bytes, compared with cmp)."
else
  echo "try.sh: the trussrc differs from its bytes before the job" >&2
  exit 1
fi
note "And the API refuses the minted key now (a login with it, in another throwaway HOME):"
mkdir "$work/probe"
home=$work/probe job BASETEN_API_KEY="$minted" BASETEN_REMOTE_URL="$api" -- truss-ci login --from-env
expect 3

step "5. exec: the key for one command only, in a file that is gone when the command ends"
job BASETEN_API_KEY="$key" BASETEN_REMOTE_URL="$api" -- truss-ci exec --from-env --export-env -- show-baseten-env
expect 0
left=$(find "$work/tmp" -mindepth 1 | wc -l)
note "Files left in its temporary directory afterwards: $left."

step "6. A rejected key: exit 3, and nothing is written"
cp "$rc_file" "$work/before-bad"
job BASETEN_API_KEY="$bad" BASETEN_REMOTE_URL="$api" -- truss-ci login --from-env
expect 3
if cmp -s "$work/before-bad" "$rc_file"; then
  note "The trussrc is unchanged (compared with cmp)."
else
  echo "try.sh: a rejected key changed the trussrc" >&2
  exit 1
fi

echo
echo "Done. The throwaway HOME, the runner files and the fake are removed now. In your CI:"
echo "    truss-ci login --from-env        # BASETEN_API_KEY from the CI's secret store"
echo "Against the real API with your own key: bash scripts/try.sh --real"
