#!/usr/bin/env bash
# Installs what the orb's tests (node --test orb/) read, into target/interop/orb-npm (idempotent):
# CircleCI's config parser, @circleci/circleci-config-parser, from npm, with the packages it
# parses with pinned exactly. Prints `export TRUSS_CI_ORB_NPM=DIR` on stdout; logs on stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=${TRUSS_CI_TOOLS:-$root/target/interop}
dir=$tools/orb-npm
log() { printf 'setup-orb: %s\n' "$*" >&2; }

# The parser has one release; the SDK, ajv and yaml are its dependencies, pinned here.
pins=(@circleci/circleci-config-parser@0.10.0-alpha.3 @circleci/circleci-config-sdk@0.10.1 ajv@8.20.0 yaml@2.1.1)

installed() { # installed NAME VERSION: whether dir holds NAME at VERSION
  node -e '
    const [dir, name, want] = process.argv.slice(1);
    const got = require(dir + "/node_modules/" + name + "/package.json").version.replace(/^v/, "");
    process.exit(got === want ? 0 : 1);
  ' "$dir" "$1" "$2" 2>/dev/null
}

missing=0
for spec in "${pins[@]}"; do
  name=${spec%@*} version=${spec##*@}
  installed "$name" "$version" || missing=1
done
if [ "$missing" = 1 ]; then
  command -v npm >/dev/null || { log "npm is needed to install ${pins[*]}"; exit 1; }
  log "installing ${pins[*]} into $dir"
  mkdir -p "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund --save-exact --prefix . "${pins[@]}" >&2)
fi
echo "export TRUSS_CI_ORB_NPM=$dir"
