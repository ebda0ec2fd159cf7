#!/usr/bin/env bash
# Reproducibility, kept: rebuilds what scripts/test.sh built (dist/: the static binary, its .br,
# their .sha256 and the SBOM; target/wheel: the wheel; the image, when TRUSS_CI_IMAGE names it)
# from a copy of the sources in another directory, with another CARGO_HOME and target dir, no
# network for the crates and no git (the commit and its date given as a tarball build would give
# them), then compares every asset byte for byte (the image by its ID, the digest of its config and
# layers). A mismatch fails, showing diffoscope's report of the difference.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh
target=$(release_target)
other=$(mktemp -d "${TMPDIR:-/var/tmp}/truss-ci-rebuild.XXXXXX")
trap 'rm -rf "$other"' EXIT
log() { printf 'reproducible: %s\n' "$*" >&2; }

git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null | {
  mkdir -p "$other/src/truss-ci"
  tar -xf - -C "$other/src/truss-ci"
}
home=${CARGO_HOME:-$HOME/.cargo}
mkdir -p "$other/cargo-home/registry"
cp -a "$home/registry/index" "$home/registry/cache" "$other/cargo-home/registry/"
TRUSS_CI_BUILD_COMMIT=$(git rev-parse HEAD)
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export TRUSS_CI_BUILD_COMMIT SOURCE_DATE_EPOCH

log "rebuilding $target in $other/src/truss-ci with CARGO_HOME=$other/cargo-home"
(cd "$other/src/truss-ci" && CARGO_HOME="$other/cargo-home" CARGO_NET_OFFLINE=true \
  CARGO_TARGET_DIR="$other/target" bash scripts/release-build.sh "$target" >/dev/null)

failed=0
differs() { # A B: report how they differ
  failed=1
  log "$1 and $2 differ"
  if command -v diffoscope >/dev/null; then
    diffoscope --no-progress --max-report-size 200000 "$1" "$2" 2>&1 | head -n 200 >&2 || true
  else
    cmp "$1" "$2" >&2 || true
  fi
}
assets=(dist/truss-ci-"$target" dist/truss-ci-"$target".br dist/truss-ci-"$target".cdx.json)
assets+=(dist/truss-ci-"$target".sha256 dist/truss-ci-"$target".br.sha256)
for asset in "${assets[@]}"; do
  if cmp -s "$asset" "$other/src/truss-ci/$asset"; then
    log "$asset: same bytes ($(sha256sum <"$asset" | cut -c1-16)…)"
  else
    differs "$asset" "$other/src/truss-ci/$asset"
  fi
done

if [ -n "${TRUSS_CI_WHEEL:-}" ]; then
  wheel=$(cd "$other/src/truss-ci" && CARGO_HOME="$other/cargo-home" CARGO_NET_OFFLINE=true \
    bash scripts/wheel.sh)
  if cmp -s "$TRUSS_CI_WHEEL" "$wheel"; then
    log "$(basename "$wheel"): same bytes"
  else
    differs "$TRUSS_CI_WHEEL" "$wheel"
  fi
fi

if [ -n "${TRUSS_CI_IMAGE:-}" ]; then
  engine=${TRUSS_CI_CONTAINER_ENGINE:-$(command -v podman || command -v docker)}
  again=localhost/truss-ci:rebuilt
  (cd "$other/src/truss-ci" && bash scripts/image.sh "$again" >/dev/null)
  first=$("$engine" image inspect --format '{{.Id}}' "$TRUSS_CI_IMAGE")
  second=$("$engine" image inspect --format '{{.Id}}' "$again")
  if [ "$first" = "$second" ]; then
    log "the image: same ID ($(printf %s "$first" | cut -c1-16)…)"
  else
    "$engine" save --format oci-archive -o "$other/first.tar" "$TRUSS_CI_IMAGE"
    "$engine" save --format oci-archive -o "$other/second.tar" "$again"
    differs "$other/first.tar" "$other/second.tar"
  fi
  "$engine" rmi "$again" >/dev/null
fi
exit "$failed"
