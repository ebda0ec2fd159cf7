#!/usr/bin/env bash
# Builds one release artifact exactly as the release workflow does, for TARGET (default: this
# machine's release target, scripts/common.sh): the binary, static on Linux (musl), with its
# dependency list embedded by cargo-auditable (`cargo audit bin` reads it), packaged by
# scripts/package.js into dist/ (the binary and its brotli form, each with a .sha256), and its
# CycloneDX SBOM (scripts/sbom.sh). Fails if a test switch is compiled in, or if the Linux x86_64
# download (the .br) is over 2.6 MB. Prints the path of the binary in dist/.
#
# Reproducible: the same commit and toolchain give the same bytes in any directory, with any
# CARGO_HOME. The paths that would differ (the cargo registry's sources, the checkout, rustup's
# toolchain) are remapped; the build date is the commit's (build.rs), never the clock's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/common.sh
. scripts/common.sh
target=${1:-$(release_target)}
cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)
sysroot=$(rustc --print sysroot)
flags="--remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$root=/truss-ci"
flags="$flags --remap-path-prefix=$sysroot=/rust"
# httparse without its run-time CPU feature detection: a dozen CPUID instructions at the first
# parse, each a trap to the hypervisor on many CI VMs, for answers of a few hundred bytes.
flags="$flags --cfg=httparse_disable_simd=\"1\""
ext=""
case "$target" in
  *-linux-musl)
    # musl's own start-up is a few system calls; glibc's, static or not, also asks the CPU for
    # its caches with some fifty CPUID instructions, each a trap to the hypervisor on a CI VM
    # (about half a millisecond of every run: bench/README.md). ring's C needs musl's compiler.
    flags="$flags -C target-feature=+crt-static"
    missing=$(musl_missing "$target")
    if [ -n "$missing" ]; then
      echo "release-build: $missing" >&2
      exit 1
    fi ;;
  # A static glibc build, for a machine without musl's toolchain (scripts/test.sh says so).
  *-linux-gnu) flags="$flags -C target-feature=+crt-static" ;;
  *windows*) ext=".exe" ;;
esac
export RUSTFLAGS="${RUSTFLAGS:-} $flags"
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || true)}"
export SOURCE_DATE_EPOCH
auditable=${TRUSS_CI_CARGO_AUDITABLE:-$(command -v cargo-auditable || true)}
if [ -n "$auditable" ]; then
  "$auditable" auditable build --locked --release --target "$target" >&2
elif [ "${TRUSS_CI_UNAUDITED:-}" = 1 ]; then
  # scripts/test.sh without the supply-chain tools: the same build, no dependency list, no SBOM.
  echo "release-build: without cargo-auditable (TRUSS_CI_UNAUDITED=1): not a release build" >&2
  cargo build --locked --release --target "$target" >&2
else
  echo "release-build: cargo-auditable is missing: run scripts/interop-setup.sh, or" >&2
  echo "  cargo install --locked cargo-auditable --version 0.7.7" >&2
  exit 1
fi
bin="${CARGO_TARGET_DIR:-target}/$target/release/truss-ci$ext"

if grep -a -o 'TRUSS_CI_TEST[A-Z_]*' "$bin" >&2; then
  echo "release-build: a test switch is compiled into $bin" >&2
  exit 1
fi
case "$target" in
  *-linux-*)
    if command -v ldd >/dev/null && ldd "$bin" 2>&1 | grep -q '=>'; then
      echo "release-build: $bin is not static" >&2
      exit 1
    fi ;;
esac

node scripts/package.js "$target" "$bin" dist
if [ -n "$auditable" ]; then
  bash scripts/sbom.sh "$target" "dist/truss-ci-$target.cdx.json" >/dev/null
fi
asset="truss-ci-$target.br"
size=$(wc -c < "dist/$asset")
if [ "$target" = x86_64-unknown-linux-musl ] && [ "$size" -gt 2600000 ]; then
  echo "release-build: dist/$asset is $size bytes, over the 2.6 MB download budget" >&2
  exit 1
fi
echo "$root/dist/truss-ci-$target$ext"
