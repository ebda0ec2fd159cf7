#!/usr/bin/env bash
# truss-ci/install: installs truss-ci VERSION, from PyPI with pip (pip checks the wheel's hash) or
# as the release binary for this machine, checked against the .sha256 published beside it. Skips
# the work when that version is already on PATH. The parameters arrive as ORB_PARAM_*
# environment variables, never spliced into this text.
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

if command -v truss-ci >/dev/null 2>&1; then
  installed=$(truss-ci --version 2>/dev/null | head -n 1 || true)
  if [ "$installed" = "truss-ci $version" ]; then
    say "truss-ci $version is already installed: $(command -v truss-ci)"
    exit 0
  fi
fi

case "$method" in
  pip)
    if command -v pip >/dev/null 2>&1; then pip=(pip); else pip=(python3 -m pip); fi
    "${pip[@]}" install --disable-pip-version-check "truss-ci==$version"
    ;;
  binary)
    case "$(uname -s)/$(uname -m)" in
      Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-gnu ;;
      Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-gnu ;;
      Darwin/x86_64) target=x86_64-apple-darwin ;;
      Darwin/arm64) target=aarch64-apple-darwin ;;
      *) usage "no truss-ci release binary for $(uname -s)/$(uname -m): use method pip" ;;
    esac
    base="https://github.com/baseten/auth-action/releases/download/v$version/truss-ci-$target"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$work/truss-ci" "$base"
    curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$work/truss-ci.sha256" "$base.sha256"
    want=$(sed -n '1s/[[:space:]].*//p' "$work/truss-ci.sha256")
    if command -v sha256sum >/dev/null 2>&1; then
      got=$(sha256sum "$work/truss-ci" | sed 's/[[:space:]].*//')
    else
      got=$(shasum -a 256 "$work/truss-ci" | sed 's/[[:space:]].*//')
    fi
    if ! [[ "$want" =~ ^[0-9a-f]{64}$ ]] || [ "$got" != "$want" ]; then
      say "refusing truss-ci-$target $version: its SHA-256 is $got, the release's .sha256 says '$want'"
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
    ;;
  *) usage "the method parameter must be pip or binary, not '$method'" ;;
esac
if [ "$method" = binary ]; then PATH="$install_dir:$PATH"; fi
truss-ci --version >&2
