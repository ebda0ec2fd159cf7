#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 20) from its committed
# corpus. cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
# Safe Rust needs no sanitizer, so none is used (the coverage instrumentation is what matters).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
cargo_fuzz=${TRUSS_CI_CARGO_FUZZ:-target/interop/cargo/bin/cargo-fuzz}
export RUSTC_BOOTSTRAP=1
for target in trussrc_splice escaping; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$target"/* "$work"/
  echo "--- fuzz $target for ${seconds}s"
  if ! "$cargo_fuzz" run --fuzz-dir fuzz --sanitizer none "$target" "$work" fuzz/corpus/"$target" -- \
      -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 > "$work.log" 2>&1; then
    tail -n 60 "$work.log"
    echo "fuzz target $target failed; the crashing input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E "^Done [0-9]+ runs|stat::number_of_executed_units" "$work.log" || tail -n 5 "$work.log"
  rm -f "$work.log"
  rm -rf "$work"
done
