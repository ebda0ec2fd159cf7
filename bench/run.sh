#!/usr/bin/env bash
# The benchmark: truss-ci against curl (the floor: one process, one request) and against truss,
# on a fake Baseten API on 127.0.0.1. One command: `bash bench/run.sh`. Writes bench/results.md.
#   ROUNDS (default 3) rounds interleave the contenders; RUNS (default 20) runs each per round.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${ROUNDS:-3}
runs=${RUNS:-20}
work=$(mktemp -d)
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

command -v hyperfine >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
eval "$(bash scripts/interop-setup.sh)"
# The binary users download: the one release build, static, and its brotli asset.
bin=$(bash scripts/release-build.sh x86_64-unknown-linux-musl)
key=benchKEY01.Zx9qv7Lw3pTt

mkfifo "$work/fake.in"
python3 bench/fake_api.py "$work" < "$work/fake.in" > "$work/fake.out" &
fake_pid=$!
exec 9> "$work/fake.in"
for _ in $(seq 50); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
read -r http_port https_port ca < "$work/fake.out"
api=http://127.0.0.1:$http_port
tls=https://127.0.0.1:$https_port

# Each contender is an environment and a command. hyperfine runs the command itself, with exactly
# that environment (`env -i` starts hyperfine, not each run): a wrapper process in every run would
# add its own start-up, the same to each contender, to every figure.
# (a) GitHub mode with the runner's files present.
gh=$work/gh; mkdir -p "$gh/home"
for f in env output state summary; do : > "$gh/$f"; done
ghenv="HOME=$gh/home GITHUB_ACTIONS=true GITHUB_ENV=$gh/env GITHUB_OUTPUT=$gh/output GITHUB_STATE=$gh/state GITHUB_STEP_SUMMARY=$gh/summary BASETEN_API_KEY=$key"
# --require-key-type: the lookup must have found the key, or the smoke run fails.
a_env="$ghenv BASETEN_REMOTE_URL=$api"
a="$bin login --from-env --require-key-type workspace-manage-all"
b_env=""
b="curl -sf -o /dev/null -H Accept:application/json -H Authorization:Api-Key\\ $key $api/v1/users/me"
# (c) truss: log in, then check the key (the one command that sends a request).
th=$work/truss/home; mkdir -p "$th"
printf '[bench]\nremote_provider = baseten\nremote_url = %s\n' "$api" > "$th/.trussrc"
c_env="HOME=$th PATH=/usr/bin:/bin TRUSS_NO_UPDATE_CHECK=1 BASETEN_TRUSS_AUTH_KEYRING_DISABLED=1 NO_PROXY=127.0.0.1"
c="sh -c \"$TRUSS_CI_TRUSS auth login --api-key $key --remote bench >/dev/null && $TRUSS_CI_TRUSS whoami --remote bench >/dev/null\""
# (d) status of the file (a) wrote.
d_env="HOME=$gh/home"
d="$bin status"
# (e) (a) and (b) over TLS, the self-signed CA given to both.
e_truss_ci_env="$ghenv BASETEN_REMOTE_URL=$tls"
e_truss_ci="$bin login --from-env --ca-cert $ca"
e_curl_env=""
e_curl="curl -sf -o /dev/null --cacert $ca -H Accept:application/json -H Authorization:Api-Key\\ $key $tls/v1/users/me"
# (f) and (g): a workspace of 10,000 keys (the fake lists them to the large workspace's key).
big=bigKEY0001.Zx9qv7Lw3pTt
f_env="HOME=$gh/home BASETEN_API_KEY=$big BASETEN_REMOTE_URL=$api"
f="$bin keys prune --dry-run"
g_env="$ghenv BASETEN_API_KEY=$big BASETEN_REMOTE_URL=$api"
g="$a"
# (h) (a) that also writes the baseten CLI's profile (one more small file).
h_env="$ghenv BASETEN_CONFIG_DIR=$gh/baseten BASETEN_REMOTE_URL=$api"
h="$bin login --from-env --require-key-type workspace-manage-all --baseten-profile"
fast="a b d e_truss_ci e_curl f g h"
# A contender's environment and command, by name.
env_of() {
  case $1 in
    a) printf '%s' "$a_env" ;; b) printf '%s' "$b_env" ;; c) printf '%s' "$c_env" ;;
    d) printf '%s' "$d_env" ;; e_truss_ci) printf '%s' "$e_truss_ci_env" ;;
    e_curl) printf '%s' "$e_curl_env" ;; f) printf '%s' "$f_env" ;; g) printf '%s' "$g_env" ;;
    h) printf '%s' "$h_env" ;;
  esac
}
cmd_of() {
  case $1 in
    a) printf '%s' "$a" ;; b) printf '%s' "$b" ;; c) printf '%s' "$c" ;; d) printf '%s' "$d" ;;
    e_truss_ci) printf '%s' "$e_truss_ci" ;; e_curl) printf '%s' "$e_curl" ;;
    f) printf '%s' "$f" ;; g) printf '%s' "$g" ;; h) printf '%s' "$h" ;;
  esac
}
label() { printf '%s' "$1" | tr _ -; }
run() { sh -c "env -i PATH=/usr/bin:/bin $(env_of "$1") $(cmd_of "$1")"; }

if ! { run a >/dev/null && run b && run c && run d >/dev/null && run e_truss_ci >/dev/null && run e_curl \
  && run f 2>/dev/null && run g >/dev/null && run h >/dev/null && grep -q '"baseten"' "$gh/baseten/auth.json"; }; then
  echo "a contender failed its smoke run" >&2
  exit 1
fi

# Every run starts from the same files: the runner's files, the undo record and the baseten CLI's
# journal would otherwise grow by an entry a run, and login reads and rewrites each whole.
printf ': > %s/env; : > %s/output; : > %s/state; : > %s/summary; rm -f %s/home/.trussrc.truss-ci-state.json %s/baseten/.auth.json.truss-ci-state.json\n' \
  "$gh" "$gh" "$gh" "$gh" "$gh" "$gh" > "$work/reset.sh"
for r in $(seq "$rounds"); do
  echo "--- round $r of $rounds"
  for name in $fast; do
    sh -c "env -i PATH=/usr/bin:/bin $(env_of "$name") hyperfine --shell=none --prepare 'sh $work/reset.sh' \
      --warmup 3 --runs $runs --style basic --export-json $work/fast-$r-$name.json -n $(label "$name") \"$(cmd_of "$name" | sed 's/["\\]/\\&/g')\"" > /dev/null
  done
  sh -c "env -i PATH=/usr/bin:/bin $c_env hyperfine --shell=none --warmup 0 --runs 2 --style basic \
    --export-json $work/truss-$r.json -n c \"$(cmd_of c | sed 's/["\\]/\\&/g')\"" > /dev/null
done

# Peak RSS (KiB) with GNU time, five runs each.
for name in a b c d e_truss_ci e_curl f g h; do
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "$(label "$name") %M" -a -o "$work/rss.txt" sh -c "env -i PATH=/usr/bin:/bin $(env_of "$name") $(cmd_of "$name")" >/dev/null 2>&1
  done
done

# The action shim: Node start-up; a run through a tool-cache hit (no-op binary); and the cold path
# of a hosted runner, whose tool cache is empty: download the .br from a local server, verify its
# SHA-256, decompress, run `truss-ci login` against the fake API.
t=x86_64-unknown-linux-musl
shim=$work/shim; mkdir -p "$shim/cache/truss-ci/0.1.0/$t" "$shim/srv/v0.1.0" "$shim/home"
cp /bin/true "$shim/cache/truss-ci/0.1.0/$t/truss-ci"
true_sha=$(sha256sum /bin/true | cut -d' ' -f1)
printf '{"version":"0.1.0","repository":"x/y","sha256":{"0.1.0":{"%s":"%064d"}},"binary_sha256":{"0.1.0":{"%s":"%s"}}}' "$t" 0 "$t" "$true_sha" > "$shim/manifest.json"
cp "dist/truss-ci-$t.br" "$shim/srv/v0.1.0/"
br_sha=$(cut -d' ' -f1 "dist/truss-ci-$t.br.sha256")
bin_sha=$(cut -d' ' -f1 "dist/truss-ci-$t.sha256")
printf '{"version":"0.1.0","repository":"x/y","sha256":{"0.1.0":{"%s":"%s"}},"binary_sha256":{"0.1.0":{"%s":"%s"}}}' "$t" "$br_sha" "$t" "$bin_sha" > "$shim/cold-manifest.json"
python3 -m http.server --bind 127.0.0.1 --directory "$shim/srv" 0 > "$work/srv.out" 2>&1 &
srv_pid=$!
for _ in $(seq 50); do grep -q port "$work/srv.out" 2>/dev/null && break; sleep 0.1; done
srv_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/srv.out" | head -n 1)
: > "$shim/state"
node_cmd="env -i PATH=/usr/bin:/bin:/usr/local/bin node -e 0"
shim_cmd="env -i PATH=/usr/bin:/bin:/usr/local/bin RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TOOL_CACHE=$shim/cache GITHUB_STATE=$shim/state node $root/bench/shim.js $shim/manifest.json"
cold_cmd="env -i PATH=/usr/bin:/bin:/usr/local/bin HOME=$shim/home RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TOOL_CACHE=$shim/cold-cache GITHUB_STATE=$shim/state INPUT_API-KEY=$key INPUT_REMOTE-URL=$api node $root/bench/shim.js $shim/cold-manifest.json http://127.0.0.1:$srv_port"
hyperfine --shell=none --warmup 3 --runs "$runs" --style basic --export-json "$work/shim.json" \
  --prepare "rm -rf $shim/cold-cache" \
  -n node "$node_cmd" -n shim-cache-hit "$shim_cmd" -n shim-cold "$cold_cmd" > /dev/null
kill "$srv_pid"

# The trussrc at the size cap, in each adversarial shape: login, status and logout over 1 MiB.
python3 bench/shapes.py "$bin" "$work/shapes.json"

python3 bench/report.py "$work" "$bin" > bench/results.md
cat bench/results.md
grep -q '^\*\*All budgets met\.\*\*$' bench/results.md
