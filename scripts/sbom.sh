#!/usr/bin/env bash
# The CycloneDX SBOM (JSON, spec 1.5) of one release target, made by cargo-cyclonedx from
# Cargo.lock and the crates' manifests: every crate compiled for that target's binary, with its
# version, license and the SHA-256 Cargo.lock records; build-script-only dependencies left out.
# Its timestamp is SOURCE_DATE_EPOCH's (the commit's) and the checkout's path in the root
# component's reference is /truss-ci, so the same commit gives the same bytes anywhere.
# Usage: scripts/sbom.sh TARGET OUT.cdx.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: scripts/sbom.sh TARGET OUT}
out=${2:?usage: scripts/sbom.sh TARGET OUT}
cyclonedx=${TRUSS_CI_CARGO_CYCLONEDX:-$(command -v cargo-cyclonedx || true)}
if [ -z "$cyclonedx" ]; then
  echo "sbom: cargo-cyclonedx is missing: run scripts/interop-setup.sh, or" >&2
  echo "  cargo install --locked cargo-cyclonedx --version 0.5.9" >&2
  exit 1
fi
: "${SOURCE_DATE_EPOCH:=$(git -C "$root" log -1 --format=%ct 2>/dev/null || true)}"
export SOURCE_DATE_EPOCH
made=$root/truss-ci_bin.cdx.json # where cargo-cyclonedx writes it, moved out at once
trap 'rm -f "$made"' EXIT
(cd "$root" && "$cyclonedx" cyclonedx --quiet --format json --spec-version 1.5 --target "$target" \
  --describe binaries --no-build-deps)
# The root's reference is the checkout's path (and cargo leaves the name out when the directory is
# named after the package): one spelling for every checkout.
sed -E 's%path\+file://[^#"]*#(truss-ci@)?%path+file:///truss-ci#truss-ci@%g' "$made" >"$out"
echo "$out"
