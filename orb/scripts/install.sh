#!/usr/bin/env bash
# truss-ci/install: installs truss-ci VERSION, from PyPI with pip (pip checks the wheel's hash) or
# as the release binary for this machine, whose SHA-256 must be the one the release manifest
# records (written into this script when the orb is packed): a version or machine it records no
# digest for is refused before anything is downloaded, and a download with another digest before
# it is installed or run. Skips the work when that version (with method binary: that very binary)
# is already on PATH. The parameters arrive as ORB_PARAM_* environment variables, never spliced
# into this text.
# Plain bash 3.2 (macOS) and later: CircleCI runs this text with the step's shell, not as a file.
set -euo pipefail

version=${ORB_PARAM_VERSION:-}
method=${ORB_PARAM_METHOD:-pip}
install_dir=${ORB_PARAM_INSTALL_DIR:-/usr/local/bin}
unset ORB_PARAM_VERSION ORB_PARAM_METHOD ORB_PARAM_INSTALL_DIR
say() { printf 'truss-ci/install: %s\n' "$*" >&2; }
usage() { say "$1"; exit 2; }
# An absolute path only: a value starting with `-` must not reach mkdir, mv or install as an option.
case $install_dir in /*) ;; *) usage "install-dir must be an absolute path" ;; esac

if [ -z "$version" ]; then
  command -v truss-ci >/dev/null 2>&1 \
    || usage "no version to install and no truss-ci on PATH: set the version parameter"
  say "using $(command -v truss-ci) ($(truss-ci --version 2>/dev/null | head -n 1))"
  exit 0
fi
version=${version#v}
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([.+-][0-9A-Za-z.+-]+)?$ ]] \
  || usage "the version parameter must be a truss-ci release such as 0.1.0, not '$version'"

# The SHA-256 of each release binary this orb may install, one `VERSION TARGET SHA256` a line:
# scripts/pack-orb.js writes them from the release manifest (action/manifest.json) when it packs
# the orb for a release. Packed without a manifest, there are none, and method binary refuses.
release_sha256=''

sha256() { # sha256 FILE: the file's SHA-256, in hex
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | sed 's/[[:space:]].*//'
  else
    shasum -a 256 "$1" | sed 's/[[:space:]].*//'
  fi
}

case "$method" in
  pip)
    if command -v truss-ci >/dev/null 2>&1; then
      installed=$(truss-ci --version 2>/dev/null | head -n 1 || true)
      if [ "$installed" = "truss-ci $version" ]; then
        say "truss-ci $version is already installed: $(command -v truss-ci)"
        exit 0
      fi
    fi
    if command -v pip >/dev/null 2>&1; then pip=(pip); else pip=(python3 -m pip); fi
    "${pip[@]}" install --disable-pip-version-check "truss-ci==$version"
    ;;
  binary)
    case "$(uname -s)/$(uname -m)" in
      Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
      Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
      Darwin/x86_64) target=x86_64-apple-darwin ;;
      Darwin/arm64) target=aarch64-apple-darwin ;;
      *) usage "no truss-ci release binary for $(uname -s)/$(uname -m): use method pip" ;;
    esac
    want=$(printf '%s\n' "$release_sha256" | awk -v v="$version" -v t="$target" '$1 == v && $2 == t { print $3; exit }')
    [[ "$want" =~ ^[0-9a-f]{64}$ ]] \
      || usage "this orb's release manifest records no SHA-256 for truss-ci $version ($target), so it installs no such binary: use method pip, or the orb released with truss-ci $version"
    # The very binary already on PATH: nothing to do (and nothing run to find out).
    if found=$(command -v truss-ci 2>/dev/null) && [ -f "$found" ] && [ "$(sha256 "$found")" = "$want" ]; then
      say "truss-ci $version is already installed: $found"
      exit 0
    fi
    url="https://github.com/baseten/auth-action/releases/download/v$version/truss-ci-$target"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$work/truss-ci" "$url"
    got=$(sha256 "$work/truss-ci")
    if [ "$got" != "$want" ]; then
      say "refusing truss-ci-$target $version: its SHA-256 is $got, the release manifest's is $want; nothing was installed"
      exit 1
    fi
    chmod 0755 "$work/truss-ci"
    if [ -w "$install_dir" ] || { [ ! -e "$install_dir" ] && mkdir -p "$install_dir" 2>/dev/null; }; then
      mv "$work/truss-ci" "$install_dir/truss-ci"
    else
      sudo install -m 0755 "$work/truss-ci" "$install_dir/truss-ci"
    fi
    case ":$PATH:" in
      *":$install_dir:"*) ;;
      *)
        # shellcheck disable=SC2016 # $PATH is for the later steps' shell to expand
        printf 'export PATH=%q:"$PATH"\n' "$install_dir" >>"${BASH_ENV:?BASH_ENV is not set}"
        ;;
    esac
    PATH="$install_dir:$PATH"
    ;;
  *) usage "the method parameter must be pip or binary, not '$method'" ;;
esac
truss-ci --version >&2
