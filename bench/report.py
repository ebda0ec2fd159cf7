"""Turns the benchmark's hyperfine and GNU time output into bench/results.md, with the budgets."""
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

work, binary = sys.argv[1], sys.argv[2]

times = {}
for f in sorted(glob.glob(os.path.join(work, "fast-*.json")) + glob.glob(os.path.join(work, "truss-*.json"))):
    for r in json.load(open(f))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
rss = {}
for line in open(os.path.join(work, "rss.txt")):
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        rss.setdefault(parts[0], []).append(int(parts[1]))
shim = {r["command"]: statistics.median(r["times"]) for r in json.load(open(os.path.join(work, "shim.json")))["results"]}

med = {k: statistics.median(v) for k, v in times.items()}
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402

shapes_after = json.load(open(os.path.join(work, "shapes.json")))
before_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes-before.json")
shapes_before = json.load(open(before_file)) if os.path.exists(before_file) else None
shapes_table, shapes_worst, shapes_worst_cpu = shapes.report(shapes_after, shapes_before)
size = os.path.getsize(binary)
br_size = os.path.getsize(binary + ".br")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem_kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
truss_version = subprocess.run([os.environ["TRUSS_CI_TRUSS"], "--version"], capture_output=True, text=True,
                               env={"TRUSS_NO_UPDATE_CHECK": "1", "PATH": "/usr/bin:/bin"}).stdout.strip()

labels = {
    "a": "(a) `truss-ci login --from-env`, GitHub mode: validate + look the key up + write the trussrc",
    "b": "(b) `curl`, the same single GET (the floor)",
    "c": "(c) `truss auth login --api-key` then `truss whoami`",
    "d": "(d) `truss-ci status`",
    "e-truss-ci": "(e) (a) over TLS, a private CA via `--ca-cert`",
    "e-curl": "(e) (b) over TLS, the same CA via `--cacert`",
    "f": "(f) `truss-ci keys prune --dry-run` over 10,000 keys (100 expired job keys)",
    "g": "(g) (a) with the key's lookup among 10,000 keys",
    "h": "(h) (a) with `--baseten-profile`: the baseten CLI's auth.json written too",
}
ratios = {
    "a/b": med["a"] / med["b"],
    "e-truss-ci/e-curl": med["e-truss-ci"] / med["e-curl"],
    "c/a": med["c"] / med["a"],
}
# MB are decimal (10^6 bytes), the stricter reading of the budgets; GNU time reports KiB.
mb = lambda kib: kib * 1024 / 1e6
rss_a_mb = mb(statistics.median(rss["a"]))
budgets = [
    # Two requests (the check, and the key's lookup after it on its connection) against curl's one.
    ("a/b ≤ 0.5 (login with the key lookup)", ratios["a/b"] <= 0.5, f"{ratios['a/b']:.2f}"),
    # Over TLS truss-ci does the handshake and nothing more: the system's CA store is not read
    # for an API the given CA vouches for (src/api/tls.rs).
    ("TLS e-truss-ci/e-curl ≤ 0.5", ratios["e-truss-ci/e-curl"] <= 0.5, f"{ratios['e-truss-ci/e-curl']:.2f}"),
    ("the action through a tool-cache hit ≤ `node -e 0` + 15 ms", shim["shim-cache-hit"] - shim["node"] <= 0.015,
     f"+{(shim['shim-cache-hit'] - shim['node']) * 1000:.1f} ms"),
    ("the action's cold path ≤ 120 ms", shim["shim-cold"] <= 0.12, f"{shim['shim-cold'] * 1000:.1f} ms"),
    ("c/a ≥ 300", ratios["c/a"] >= 300, f"{ratios['c/a']:.0f}"),
    ("`--baseten-profile` adds ≤ 1 ms to (a)", med["h"] - med["a"] <= 0.001,
     f"{(med['h'] - med['a']) * 1000:+.2f} ms"),
    ("peak RSS of (a) ≤ 12 MB", rss_a_mb <= 12, f"{rss_a_mb:.1f} MB"),
    ("stripped release binary ≤ 8 MB", size <= 8e6, f"{size / 1e6:.2f} MB"),
    ("linux x64 download (.br) ≤ 2.6 MB", br_size <= 2.6e6, f"{br_size / 1e6:.2f} MB"),
    ("`keys prune` over 10,000 keys ≤ 100 ms", med["f"] <= 0.1, f"{med['f'] * 1000:.1f} ms"),
    ("peak RSS of `keys prune` over 10,000 keys ≤ 16 MB", mb(statistics.median(rss["f"])) <= 16,
     f"{mb(statistics.median(rss['f'])):.1f} MB"),
    ("the lookup among 10,000 keys (g) ≤ 100 ms", med["g"] <= 0.1, f"{med['g'] * 1000:.1f} ms"),
    ("peak RSS of (g) ≤ 16 MB", mb(statistics.median(rss["g"])) <= 16, f"{mb(statistics.median(rss['g'])):.1f} MB"),
    ("every command over every 1 MiB trussrc shape ≤ 50 ms wall", shapes_worst <= shapes.BUDGET_S,
     f"{shapes_worst * 1000:.1f} ms"),
    ("every command over every 1 MiB trussrc shape ≤ 30 ms CPU", shapes_worst_cpu <= shapes.BUDGET_CPU_S,
     f"{shapes_worst_cpu * 1000:.1f} ms"),
]

out = []
out.append("# truss-ci benchmark results\n")
out.append(f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
# results.md itself is being written: it is not a change to what was measured.
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results.md"],
                       capture_output=True, text=True).stdout.strip()
out.append(f"- Commit: {commit or 'unknown'}{' with local changes' if dirty else ''}")
out.append(f"- Machine: {os.cpu_count()} × {cpu}, {mem_kib / 1024 / 1024:.0f} GiB, {platform.system()} {platform.release()}")
ours = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0].split(" (")[0]
out.append(f"- Contenders: {ours} (the static release build users download), {truss_version}, {curl}; a fake Baseten API on 127.0.0.1 (Python http.server)")
out.append(f"- Method: `bash bench/run.sh`: hyperfine, contenders interleaved by round ({len(times['a'])} runs of each fast contender, {len(times['c'])} of truss), medians; GNU time for peak RSS (median of 5)\n")
out.append("| contender | median wall | peak RSS |")
out.append("|---|---:|---:|")
for k, label in labels.items():
    out.append(f"| {label} | {med[k] * 1000:.1f} ms | {mb(statistics.median(rss[k])):.1f} MB |")
out.append("")
out.append("| ratio | value |")
out.append("|---|---:|")
for k, v in ratios.items():
    out.append(f"| {k} | {v:.2f} |")
out.append("")
out.append("| budget | measured | result |")
out.append("|---|---:|---|")
for name, ok, value in budgets:
    out.append(f"| {name} | {value} | {'pass' if ok else 'FAIL'} |")
out.append("")
out.append("The action shim (median): Node start-up `node -e 0` "
           f"{shim['node'] * 1000:.1f} ms; the shim through a tool-cache hit, running a no-op binary, "
           f"{shim['shim-cache-hit'] * 1000:.1f} ms; the cold path of a hosted runner (download the "
           f"{br_size / 1e6:.2f} MB .br from 127.0.0.1, verify its SHA-256, decompress, run `truss-ci login`) "
           f"{shim['shim-cold'] * 1000:.1f} ms.\n")
out.append("The trussrc at the size cap (`bench/shapes.py`): each command on a fresh copy of a trussrc of "
           "one adversarial shape, against the fake API: the median wall time of "
           f"{shapes_after['runs']} runs in ms, the process's CPU time (user + system) in parentheses. "
           "Every command is held to the budget, `logout --all` with its output (five names and a sum)"
           + (". Before → after: the figures before are `bench/shapes-before.json`, one run of the release "
              "build of the commit before the fix; `> N` is a run killed after N ms, `n/m` a command not "
              "measured because the login it follows was killed" if shapes_before else "")
           + ".\n")
out.append(shapes_table + "\n")
out.append("**All budgets met.**" if all(ok for _, ok, _ in budgets) else "**Some budgets FAILED.**")
print("\n".join(out))
