#!/usr/bin/env bash
# The dependency policy (deny.toml), offline: licenses, bans, sources and RustSec advisories for
# every crate in Cargo.lock, dev-dependencies included. The advisory database is the snapshot in
# ../shared/supply-chain (its date is printed), cloned afresh into target/advisory-dbs on every
# run. A crate that pins a known-vulnerable tokio is checked first and must be flagged, so a
# database that matches nothing fails the run instead of passing it. Then the action's own
# JavaScript: it may require Node's built-ins and its own files only (there is no npm dependency
# to audit; `npm audit` has no offline mode).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
deny=${TRUSS_CI_CARGO_DENY:-$(command -v cargo-deny || true)}
bundle=${TRUSS_CI_ADVISORY_BUNDLE:-$root/../shared/supply-chain/advisory-db.bundle}
if [ -z "$deny" ] || [ ! -f "$bundle" ]; then
  echo "deny: cargo-deny (${deny:-missing}) or the advisory snapshot ($bundle) is missing" >&2
  exit 1
fi
db=target/advisory-dbs/advisory-db-3157b0e258782691 # the folder cargo-deny derives from the default URL
rm -rf "$db"
mkdir -p "$(dirname "$db")"
git clone -q --branch main "$bundle" "$db"
echo "deny: RustSec advisories as of $(git -C "$db" log -1 --format=%cs) (newer ones are not checked)" >&2

fixture=scripts/supply-chain/known-vulnerable
(cd "$fixture" && cargo fetch --locked -q)
found=$(cd "$fixture" && "$deny" --offline check advisories 2>&1 | grep -o 'RUSTSEC-2023-0001' | head -n 1 || true)
if [ "$found" != RUSTSEC-2023-0001 ]; then
  echo "deny: the advisory database flagged nothing in $fixture (tokio 1.18.0): it is not being read" >&2
  exit 1
fi

cargo fetch --locked -q
"$deny" --offline check

# The shipped binary's own dependency list, read back as a user's `cargo audit bin` reads it.
# shellcheck source=scripts/common.sh
. scripts/common.sh
host=$(release_target)
audit=${TRUSS_CI_CARGO_AUDIT:-$(command -v cargo-audit || true)}
if [ -n "$audit" ] && [ -f "dist/truss-ci-$host" ]; then
  report=$("$audit" audit --db "$db" --no-fetch bin "dist/truss-ci-$host" 2>&1) || {
    echo "$report" >&2
    exit 1
  }
  if ! grep -q "Found 'cargo auditable' data" <<<"$report"; then
    echo "$report" >&2
    echo "deny: cargo audit bin found no embedded dependency list in dist/truss-ci-$host" >&2
    exit 1
  fi
  echo "deny: cargo audit bin dist/truss-ci-$host: $(grep -o "([0-9]* dependencies)" <<<"$report"), no advisory" >&2
fi

# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
bad=$(node -e '
  const fs = require("node:fs"), { isBuiltin } = require("node:module");
  for (const f of fs.readdirSync("action").filter((n) => n.endsWith(".js"))) {
    for (const m of fs.readFileSync(`action/${f}`, "utf8").matchAll(/require\((["\x27])([^"\x27]+)\1\)/g)) {
      if (!isBuiltin(m[2]) && !m[2].startsWith("./")) console.log(`action/${f}: ${m[2]}`);
    }
  }')
if [ -n "$bad" ] || [ -e action/package.json ]; then
  echo "deny: the action must use Node's built-ins only: ${bad:-action/package.json}" >&2
  exit 1
fi
echo "deny: the action requires Node's built-ins and its own files only" >&2
