#!/usr/bin/env bash
# Builds the manylinux wheel exactly as a user's `pip wheel .` would, from a clean export of the
# repository (the files git tracks or would track, nothing else), into target/wheel/. Checks that
# it is one manylinux wheel of at most 4 MB. The cargo build is cached in target/wheel-target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/wheel
export CARGO_TARGET_DIR=$root/target/wheel-target
export MATURIN_PEP517_ARGS="--zig --compatibility manylinux2014"
# Reproducible, as scripts/release-build.sh: no machine's paths in the binary, the commit's date.
cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)
sysroot=$(rustc --print sysroot)
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$sysroot=/rust"
: "${SOURCE_DATE_EPOCH:=$(git -C "$root" log -1 --format=%ct 2>/dev/null || true)}"
: "${TRUSS_CI_BUILD_COMMIT:=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)}"
export SOURCE_DATE_EPOCH TRUSS_CI_BUILD_COMMIT

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$src"
else # a source tarball, unpacked
  (cd "$root" && tar --exclude=./target --exclude=./dist -cf - .) | tar -xf - -C "$src"
fi

rm -rf "$out"
mkdir -p "$out"
python3 -m pip wheel --no-deps --quiet --disable-pip-version-check --wheel-dir "$out" "$src" >&2

shopt -s nullglob
wheels=("$out"/*.whl)
if [ ${#wheels[@]} -ne 1 ]; then
  echo "wheel: expected one wheel, got ${#wheels[@]}: ${wheels[*]}" >&2
  exit 1
fi
wheel=${wheels[0]}
case "$(basename "$wheel")" in
  *manylinux_2_17*|*manylinux2014*) ;;
  *) echo "wheel: $(basename "$wheel") is not a manylinux wheel" >&2; exit 1 ;;
esac
size=$(stat -c %s "$wheel")
if [ "$size" -gt $((4 * 1024 * 1024)) ]; then
  echo "wheel: $(basename "$wheel") is $size bytes, over the 4 MB budget" >&2
  exit 1
fi
echo "wheel: $(basename "$wheel") ($size bytes)" >&2
echo "$wheel"
