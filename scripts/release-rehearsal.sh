#!/usr/bin/env bash
# Rehearses the release of the committed tree (HEAD) end to end on this machine, and exits 0 only
# when it held:
#   1. builds this machine's release artifact and packages it exactly as the release does
#      (scripts/release-build.sh: static binary, brotli, SHA-256), then the image around it
#      (scripts/image.sh), pushed to an OCI layout for its digest (with podman; without it, a loud
#      skip, and the image is checked by its tag only);
#   2. in a throwaway clone, records the checksums (the .br asset's, the binary's and the image's)
#      in action/manifest.json and pins the GitLab component's image to that digest with the
#      release's own steps (action/update-manifest.js, scripts/pin-image.js), commits, tags vX.Y.Z
#      and moves the major tag vX;
#   3. serves the release assets from 127.0.0.1, and a fake Baseten API beside them; checks that
#      the binary digest the manifest records is that of the served asset decompressed;
#   4. runs action/main.js from the tagged tree, as the runner would (main, then post), with only
#      the release base passed in as a parameter (TRUSS_CI_MANIFEST_PATH and
#      TRUSS_CI_RELEASE_BASE_URL point nowhere, and must change nothing): it must download,
#      verify, log in, and in post undo the login;
#   5. changes the binary in the tool cache: main and post must refuse to run it;
#   6. tampers with the served asset: the action must refuse it and log nothing in;
#   7. checks that the release workflow attests every asset it uploads, and the image, before it
#      publishes (scripts/check-attestations.py), and that the SBOM is the binary's
#      (scripts/check-sbom.py);
#   8. packs the CircleCI orb with the release version and the tagged manifest
#      (scripts/pack-orb.js): its install checks a download against the release binary's digest;
#   9. packs the Azure Pipelines task with the tagged manifest: its version is the release's, and
#      it downloads the served asset and verifies it, and the binary inside, against the release's
#      own digests;
#  10. checks that the GitLab component's default image is the one whose digest the tagged manifest
#      records, and that this image holds the release's binary; and that the Buildkite plugin (which
#      downloads nothing: it runs the agent's truss-ci) names the release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh
say() { printf 'rehearsal: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl; arch=X64 ;;
  aarch64) target=aarch64-unknown-linux-musl; arch=ARM64 ;;
  *) die "no release target for $(uname -m)" ;;
esac

work=$(mktemp -d)
pids=()
image=''
engine=${TRUSS_CI_CONTAINER_ENGINE:-$(command -v podman || true)}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$image" ]; then "$engine" rmi "$image" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say "1. the release artifact for $target, and the image around it"
bash scripts/release-build.sh "$target" >/dev/null
# The image's digest is its manifest's in a registry; an OCI layout holds the same manifest.
image_sha256=''
if [ "$(basename "${engine:-none}")" = podman ]; then
  image=localhost/truss-ci:rehearsal-$$
  bash scripts/image.sh "$image" >/dev/null
  "$engine" push --quiet --digestfile "$work/image.digest" "$image" "oci:$work/oci:$version"
  image_sha256=$(sed -n 's/^sha256:\([0-9a-f]\{64\}\)$/\1/p' "$work/image.digest")
  [ -n "$image_sha256" ] || die "podman push gave no image digest"
else
  skip "no podman to build the image and push it to an OCI layout: the GitLab component's image is checked by its tag only"
fi

say "2. manifest commit and tags v$version, v$major in a throwaway clone"
git clone -q "$root" "$work/repo"
git -C "$work/repo" checkout -q -B release
mkdir -p "$work/sums"
cp "dist/truss-ci-$target.br.sha256" "dist/truss-ci-$target.sha256" "$work/sums/"
(cd "$work/repo" && node action/update-manifest.js "$version" "$work/sums" ${image_sha256:+"--image-sha256=$image_sha256"} >&2)
if [ -n "$image_sha256" ]; then
  (cd "$work/repo" && node scripts/pin-image.js "$version" >&2)
fi
git -C "$work/repo" -c user.name=release -c user.email=release@localhost \
  commit -qam "release v$version: checksums in action/manifest.json, the component's image pinned"
git -C "$work/repo" tag "v$version"
git -C "$work/repo" tag -f "v$major" >/dev/null
[ "$(git -C "$work/repo" rev-parse "v$major^{commit}")" = "$(git -C "$work/repo" rev-parse "v$version^{commit}")" ] \
  || die "v$major does not point at v$version"
mkdir -p "$work/tagged"
git -C "$work/repo" archive "v$major" | tar -x -C "$work/tagged"
node -e '
const m = require(process.argv[1]);
const [v, t] = process.argv.slice(2);
const hex = /^[0-9a-f]{64}$/;
if (m.version !== v || !hex.test(m.sha256?.[v]?.[t] ?? "") || !hex.test(m.binary_sha256?.[v]?.[t] ?? "")) process.exit(1);
' "$work/tagged/action/manifest.json" "$version" "$target" \
  || die "the tree v$major resolves to has no SHA-256 for truss-ci $version ($target), asset and binary"

say "3. release assets and a fake API on 127.0.0.1"
assets="$work/srv/releases/download/v$version"
mkdir -p "$assets"
cp dist/truss-ci-"$target"* "$assets/"
node -e '
const [file, asset, v, t] = process.argv.slice(1);
const m = require(file);
const sha = (b) => require("crypto").createHash("sha256").update(b).digest("hex");
const bytes = require("fs").readFileSync(asset);
if (sha(bytes) !== m.sha256[v][t]) process.exit(1);
if (sha(require("zlib").brotliDecompressSync(bytes)) !== m.binary_sha256[v][t]) process.exit(2);
' "$work/tagged/action/manifest.json" "$assets/truss-ci-$target.br" "$version" "$target" \
  || die "the manifest's digests are not those of the served asset and of the binary it decompresses to"
serve() { # serve NAME SCRIPT...: starts a server that prints its port first
  python3 -u -c "$2" > "$work/$1.port" 2> "$work/$1.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  head -n 1 "$work/$1.port"
}
release_port=$(serve release "
import functools, http.server
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='$work/srv')
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)
print(s.server_address[1]); s.serve_forever()")
key="rehearsal01.K3yFor7heRehearsal"
api_port=$(serve api "
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get('Authorization') == 'Api-Key $key' and self.path == '/v1/users/me'
        body = json.dumps({'email': 'release@example.com', 'workspace_name': 'ws'} if ok else {'error': 'no'}).encode()
        self.send_response(200 if ok else 401)
        self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1]); s.serve_forever()")

runner() { # a fresh runner: HOME, tool cache and the file commands
  local dir=$1
  mkdir -p "$dir/home" "$dir/cache" "$dir/temp"
  : > "$dir/state"; : > "$dir/env"; : > "$dir/output"; : > "$dir/summary"
}
action() { # action DIR [NAME=VALUE...]: runs the tagged action/main.js as the runner would
  local dir=$1; shift
  # The one difference: the release base, which only a caller's parameter can change. The two
  # variables that once could must be ignored.
  env -i PATH="$PATH" HOME="$dir/home" RUNNER_OS=Linux RUNNER_ARCH="$arch" \
    RUNNER_TOOL_CACHE="$dir/cache" RUNNER_TEMP="$dir/temp" \
    GITHUB_ACTIONS=true GITHUB_STATE="$dir/state" GITHUB_ENV="$dir/env" \
    GITHUB_OUTPUT="$dir/output" GITHUB_STEP_SUMMARY="$dir/summary" \
    GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1 GITHUB_JOB=rehearsal \
    TRUSS_CI_MANIFEST_PATH="$work/nowhere.json" TRUSS_CI_RELEASE_BASE_URL="http://127.0.0.1:1/nowhere" \
    "INPUT_API-KEY=$key" "INPUT_REMOTE-URL=http://127.0.0.1:$api_port" INPUT_CLEANUP=true \
    "$@" node -e '
const [main, base] = process.argv.slice(1);
require(main).main(process.env, { releaseBaseUrl: base }).then((code) => process.exit(code));
' "$work/tagged/action/main.js" "http://127.0.0.1:$release_port/releases/download"
}

say "4. the action from the tagged tree: main, then post"
r="$work/runner"
runner "$r"
action "$r" > "$work/main.log" 2>&1 || { cat "$work/main.log" >&2; die "the action's main step failed"; }
grep -qx "api_key = $key" "$r/home/.trussrc" || die "main did not write the trussrc"
grep -q "ghadelimiter_" "$r/state" || die "main saved no state for post"
grep -qx "::add-mask::$key" "$work/main.log" || die "the key was not masked first"
if grep -v '^::add-mask::' "$work/main.log" | grep -qF "$key"; then
  die "the key reached the log"
fi
ls "$r"/cache/truss-ci/"$version"/"$target"/truss-ci >/dev/null || die "no binary in the tool cache"
# shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
state_env=$(node -e '
const text = require("fs").readFileSync(process.argv[1], "utf8");
const re = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2\n/gm;
let m; while ((m = re.exec(text))) console.log(`STATE_${m[1]}=${m[3]}`);
' "$r/state")
mapfile -t post_vars <<< "$state_env"
action "$r" "${post_vars[@]}" > "$work/post.log" 2>&1 || { cat "$work/post.log" >&2; die "the action's post step failed"; }
[ ! -e "$r/home/.trussrc" ] || die "post left the trussrc login created"

say "5. a binary changed in the tool cache is refused, by main and by post"
cached="$r/cache/truss-ci/$version/$target/truss-ci"
python3 -c '
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[1000] ^= 0xFF; open(p, "wb").write(b)
' "$cached"
if action "$r" > "$work/changed.log" 2>&1; then
  die "main ran a changed binary from the tool cache"
fi
grep -q "refusing to run $cached: its SHA-256 is" "$work/changed.log" \
  || { cat "$work/changed.log" >&2; die "no refusal of the changed binary"; }
[ ! -e "$r/home/.trussrc" ] || die "a changed binary logged in"
if action "$r" "${post_vars[@]}" > "$work/changed-post.log" 2>&1; then
  die "post ran a changed binary from the tool cache"
fi
grep -q "post: refusing to run $cached" "$work/changed-post.log" \
  || { cat "$work/changed-post.log" >&2; die "no refusal of the changed binary in post"; }

say "6. a tampered asset is refused"
t="$work/tampered"
runner "$t"
python3 -c '
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[1000] ^= 0xFF; open(p, "wb").write(b)
' "$assets/truss-ci-$target.br"
if action "$t" > "$work/tampered.log" 2>&1; then
  die "the action ran a tampered binary"
fi
grep -q "SHA-256 mismatch" "$work/tampered.log" || { cat "$work/tampered.log" >&2; die "no checksum refusal"; }
[ ! -e "$t/home/.trussrc" ] || die "a tampered download logged in"
[ -z "$(ls -A "$t/cache/truss-ci/$version/$target" 2>/dev/null)" ] || die "the tampered download was kept"
# The release's own asset again, for the wrappers below.
cp "dist/truss-ci-$target.br" "$assets/truss-ci-$target.br"

say "7. provenance and contents"
py=${TRUSS_CI_LINT_PYTHON:-target/interop/lint-venv/bin/python}
"$py" scripts/check-attestations.py || die "the release workflow leaves an asset unattested"
if [ -f "dist/truss-ci-$target.cdx.json" ]; then
  "$py" scripts/check-sbom.py "dist/truss-ci-$target" "dist/truss-ci-$target.cdx.json" Cargo.lock \
    || die "the SBOM does not describe the binary"
fi

say "8. the CircleCI orb, packed with v$version and the tagged manifest"
node "$work/tagged/scripts/pack-orb.js" --manifest="$work/tagged/action/manifest.json" --out="$work/orb.yml" "$version" \
  || die "the orb does not pack"
[ "$(grep -c "^ *default: \"$version\"$" "$work/orb.yml")" -eq 3 ] \
  || die "the packed orb's version parameters do not default to $version"
binary_sha256=$(sha256sum "dist/truss-ci-$target" | cut -d' ' -f1)
grep -qx " *$version $target $binary_sha256" "$work/orb.yml" \
  || die "the packed orb's install does not check truss-ci-$target against the release binary's SHA-256"

say "9. the Azure Pipelines task, packed with the tagged tree's manifest, downloads and verifies"
task="$work/tagged/azure/TrussCiLogin"
cp "$work/tagged/action/manifest.json" "$task/manifest.json"
mkdir -p "$work/agent-temp"
node -e '
const [task, v, t, asset, binary, base, temp] = process.argv.slice(1);
const fs = require("fs");
const sha = (f) => require("crypto").createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const j = require(task + "/task.json");
if ([j.version.Major, j.version.Minor, j.version.Patch].join(".") !== v) throw new Error("task.json is not " + v);
const lib = require(task + "/lib.js");
const r = lib.release(require(task + "/manifest.json"), v, t);
if (r.asset !== sha(asset) || r.binary !== sha(binary)) throw new Error("the task would verify other bytes");
// As its main step finds the binary: no trussCiPath, so the release download, verified.
const os = t.startsWith("aarch64") ? "ARM64" : "X64";
const tl = { getInput: () => "", getVariable: (n) => ({ "Agent.OS": "Linux", "Agent.OSArchitecture": os, "Agent.TempDirectory": temp })[n] };
lib.findBinary(tl, { releaseBaseUrl: base }).then((found) => {
  if (found.sha256 !== sha(binary) || sha(found.binary) !== sha(binary)) throw new Error("the task ran other bytes than the release binary");
}).catch((e) => { console.error(e.message); process.exit(1); });
' "$task" "$version" "$target" "dist/truss-ci-$target.br" "dist/truss-ci-$target" \
  "http://127.0.0.1:$release_port/releases/download" "$work/agent-temp" \
  || die "the packed task does not download and verify the release's own assets"

say "10. the GitLab component and the Buildkite plugin, as the tag serves them"
# shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
component_image=$(node -e '
const { imageDefault } = require(process.argv[1]);
const d = imageDefault(require("fs").readFileSync(process.argv[2], "utf8"));
console.log(`${d.name}:${d.tag}${d.digest ? `@sha256:${d.digest}` : ""}`);
' "$work/tagged/scripts/pin-image.js" "$work/tagged/templates/login.yml") || die "the tagged component has no image"
if [ -n "$image_sha256" ]; then
  recorded=$(node -p 'require(process.argv[1]).image_sha256?.[process.argv[2]] ?? ""' "$work/tagged/action/manifest.json" "$version")
  [ "$recorded" = "$image_sha256" ] || die "the tagged manifest does not record the image's digest"
  [ "$component_image" = "ghcr.io/baseten/truss-ci:$version@sha256:$recorded" ] \
    || die "the tagged component's image is $component_image, not the one the manifest records"
  # The image at that digest (its manifest and every layer checked against their digests) holds
  # the binary whose digest the manifest records.
  python3 - "$work/oci" "sha256:$recorded" "$(node -p 'require(process.argv[1]).binary_sha256[process.argv[2]][process.argv[3]]' \
    "$work/tagged/action/manifest.json" "$version" "$target")" <<'PY' || die "the image the component names does not hold the release binary"
import hashlib, io, json, sys, tarfile
layout, digest, want = sys.argv[1:4]
def blob(d):
    algo, hexd = d.split(":")
    data = open(f"{layout}/blobs/{algo}/{hexd}", "rb").read()
    assert algo == "sha256" and hashlib.sha256(data).hexdigest() == hexd, f"blob {d} is not its digest"
    return data
assert any(m["digest"] == digest for m in json.load(open(f"{layout}/index.json"))["manifests"]), digest
found = None
for layer in json.loads(blob(digest))["layers"]:
    with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"])), mode="r:*") as t:
        for m in t.getmembers():
            if m.name.lstrip("./") == "usr/local/bin/truss-ci" and m.isfile():
                found = hashlib.sha256(t.extractfile(m).read()).hexdigest()
assert found == want, f"/usr/local/bin/truss-ci in the image is {found}, the manifest says {want}"
PY
else
  [ "$component_image" = "ghcr.io/baseten/truss-ci:$version" ] \
    || die "the tagged component's image is $component_image, not truss-ci $version"
fi
grep -qx "truss_ci_plugin_release=$version" "$work/tagged/buildkite-plugin/lib/plugin.bash" \
  || die "the tagged Buildkite plugin does not name truss-ci $version"
grep -q "buildkite-plugin#v$version:" "$work/tagged/buildkite-plugin/README.md" \
  || die "the tagged Buildkite plugin's README does not pin v$version"

say "held: v$version and v$major resolve to a tree whose manifest verifies the release's own assets"
