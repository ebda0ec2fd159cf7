#!/usr/bin/env bash
# The platforms this machine cannot run natively, built with Debian's second Rust (rustc-web, whose
# standard library source lets -Zbuild-std build std for any target):
#   cross.sh windows  the x86_64-pc-windows-gnu exe (MinGW-w64 links it), with no warnings, and
#                     bcryptprimitives.dll beside it: wine 8 lacks the ProcessPrng Rust's std imports
#                     (a gap in wine, not in Windows); prints the exe's path
#   cross.sh wineprefix  a wine prefix for the Windows tests; prints its path
#   cross.sh macos    cargo check (tests included) of aarch64- and x86_64-apple-darwin, no warnings;
#                     zig compiles ring's C for macOS
#   cross.sh arm64    the aarch64-unknown-linux-gnu binary (zig links it against glibc 2.17), for
#                     qemu-aarch64; prints its path
# Needs what scripts/interop-setup.sh installs (rustc-web, rust-web-src, cargo-web, MinGW-w64, and
# ziglang in target/interop/plat-venv). Target dirs are kept under $TRUSS_CI_CROSS_CACHE (default
# /var/tmp/truss-ci-cross), outside the checkout, so a fresh clone on the same machine builds only
# this crate again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${TRUSS_CI_CROSS_CACHE:-/var/tmp/truss-ci-cross}
tools=${TRUSS_CI_TOOLS:-$root/target/interop}
mkdir -p "$cache"
cd "$root"

debian_cargo() { # TARGET_DIR CARGO-ARGS...: Debian's compiler, rustup's stays first on PATH
  local dir=$1
  shift
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$cache/$dir" \
    RUSTFLAGS="-D warnings" /usr/bin/cargo "$@" --locked -Zbuild-std=std,panic_abort
}

zig_cc() { # NAME ZIG-TARGET: a cc wrapper that drops cc-rs's --target= (zig spells targets its own way)
  local wrapper=$cache/zigcc-$1
  cat >"$wrapper" <<SH
#!/bin/sh
for a in "\$@"; do shift; case "\$a" in --target=*) ;; *) set -- "\$@" "\$a" ;; esac; done
exec "$tools/plat-venv/bin/python" -m ziglang cc -target $2 "\$@"
SH
  chmod +x "$wrapper"
  echo "$wrapper"
}

case "${1:-}" in
windows)
  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  debian_cargo windows build --target x86_64-pc-windows-gnu --features test-hooks >&2
  # The tests too, as ci.yml's clippy on windows-latest would see them.
  debian_cargo windows check --target x86_64-pc-windows-gnu --all-targets --features test-hooks >&2
  out=$cache/windows/x86_64-pc-windows-gnu/debug
  if [ ! -f "$out/bcryptprimitives.dll" ]; then
    cat >"$cache/processprng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID, ULONG);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
C
    printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n' >"$cache/processprng.def"
    x86_64-w64-mingw32-gcc -shared -O2 -o "$out/bcryptprimitives.dll" "$cache/processprng.c" \
      "$cache/processprng.def" -ladvapi32
  fi
  echo "$out/truss-ci.exe"
  ;;
wineprefix)
  # A wine prefix for the Windows tests, made once (wineboot takes ~15 s) and kept with the cache.
  prefix=$cache/wineprefix
  if [ ! -f "$prefix/system.reg" ]; then
    WINEPREFIX=$prefix WINEDEBUG=-all wineboot -i >/dev/null 2>&1
    WINEPREFIX=$prefix wineserver -w
  fi
  echo "$prefix"
  ;;
macos)
  for t in aarch64 x86_64; do
    cc=$(zig_cc "$t-macos" "$t-macos")
    env "CC_${t}_apple_darwin=$cc" bash -c "$(declare -f debian_cargo); cache=$cache; \
      debian_cargo macos check --target $t-apple-darwin --all-targets --features test-hooks" >&2
  done
  ;;
arm64)
  cc=$(zig_cc aarch64-linux aarch64-linux-gnu.2.17)
  CC_aarch64_unknown_linux_gnu=$cc CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$cc \
    debian_cargo arm64 build --target aarch64-unknown-linux-gnu >&2
  echo "$cache/arm64/aarch64-unknown-linux-gnu/debug/truss-ci"
  ;;
*)
  echo "usage: cross.sh windows|wineprefix|macos|arm64" >&2
  exit 2
  ;;
esac
