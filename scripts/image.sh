#!/usr/bin/env bash
# Builds the image from the repository's Dockerfile — the one the release builds — around the
# release binary in dist/ (scripts/release-build.sh makes it), with podman (docker where an engine
# runs). Here the base is Debian's packages made by scripts/container-setup.sh; the release uses
# debian:bookworm-slim. Usage: scripts/image.sh TAG
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: scripts/image.sh TAG}
engine=${TRUSS_CI_CONTAINER_ENGINE:-$(command -v podman || command -v docker)}
base=${TRUSS_CI_IMAGE_BASE:-localhost/debian:bookworm-minbase}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
case "$(uname -m)" in
  x86_64) arch=amd64; target=x86_64-unknown-linux-musl ;;
  aarch64) arch=arm64; target=aarch64-unknown-linux-musl ;;
  *) echo "image: no build for $(uname -m)" >&2; exit 1 ;;
esac
if [ ! -x "dist/truss-ci-$target" ]; then
  echo "image: dist/truss-ci-$target is missing: run scripts/release-build.sh first" >&2
  exit 1
fi
# The commit's time for every file and for the image's creation date, so the same commit and base
# give the same image ID (scripts/reproducible.sh checks it). No cache: a cached layer keeps the
# time of the build that made it.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
"$engine" build --quiet --no-cache --timestamp "$epoch" --file Dockerfile --build-arg "BASE=$base" \
  --build-arg "TARGETARCH=$arch" --build-arg "VERSION=$version" --tag "$tag" . >&2
size=$("$engine" image inspect --format '{{.Size}}' "$tag")
echo "image: $tag is $size bytes" >&2
if [ "$size" -gt 15000000 ]; then
  echo "image: $tag is over the 15 MB budget" >&2
  exit 1
fi
echo "$tag"
