#!/usr/bin/env bash
# Builds one release artifact exactly as the release workflow does, for TARGET (default: this
# machine's target): the binary, statically linked on Linux (glibc with crt-static), packaged by
# scripts/package.js into dist/ (the binary and its brotli form, each with a .sha256). Fails if a
# test switch is compiled in, or if the Linux x86_64 download (the .br) is over 2.6 MB.
# Prints the path of the binary in dist/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${1:-$(rustc -vV | sed -n 's/^host: //p')}
ext=""
case "$target" in
  *-linux-gnu) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
  *windows*) ext=".exe" ;;
esac
cargo build --locked --release --target "$target" >&2
bin="target/$target/release/truss-ci$ext"

if grep -a -o 'TRUSS_CI_TEST[A-Z_]*' "$bin" >&2; then
  echo "release-build: a test switch is compiled into $bin" >&2
  exit 1
fi
case "$target" in
  *-linux-gnu)
    if command -v ldd >/dev/null && ldd "$bin" 2>&1 | grep -q '=>'; then
      echo "release-build: $bin is not static" >&2
      exit 1
    fi ;;
esac

node scripts/package.js "$target" "$bin" dist
asset="truss-ci-$target.br"
size=$(wc -c < "dist/$asset")
if [ "$target" = x86_64-unknown-linux-gnu ] && [ "$size" -gt 2600000 ]; then
  echo "release-build: dist/$asset is $size bytes, over the 2.6 MB download budget" >&2
  exit 1
fi
echo "$root/dist/truss-ci-$target$ext"
