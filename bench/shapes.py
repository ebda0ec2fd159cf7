"""The trussrc at the size cap: login, status, `logout --post`, `logout --remote` and `logout --all`
over a 1 MiB trussrc of each adversarial shape, against the fake API on 127.0.0.1 (plain HTTP).
`logout --all` is held to the budget with `--quiet`; it is also shown printing its one line per
remote (115,917 lines for the empty sections), which happens after the lock is released.

    python3 bench/shapes.py BINARY OUT.json [RUNS [TIMEOUT_S]]   measure
    python3 bench/shapes.py --report AFTER.json [BEFORE.json]      the markdown table

Each command runs on a fresh copy of the file (the copy, and the login that `status` and
`--post` need before them, are not timed); the figure is the median wall time of RUNS runs
(default 5). A run longer than TIMEOUT_S (default 20) is killed and recorded as a timeout.
"""
import http.server
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_api  # noqa: E402

# The size cap, less room for the section login adds (a file over the cap is refused).
CAP = 1024 * 1024 - 512
KEY = "benchKEY01.Zx9qv7Lw3pTt"


def fill(head, unit):
    """`head`, then unit(0), unit(1), … while the text stays within the cap."""
    parts, size, i = [head], len(head), 0
    while True:
        nxt = unit(i)
        if size + len(nxt) > CAP:
            return "".join(parts)
        parts.append(nxt)
        size += len(nxt)
        i += 1


def shapes():
    big = CAP - 16
    truss = "[r{0}]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = K{0}\n\n"
    return {
        "empty sections": fill("", lambda i: f"[s{i}]\n"),
        "empty sections, CRLF": fill("", lambda i: f"[s{i}]\r\n"),
        "sections as truss writes them": fill("", truss.format),
        "one section, many keys": fill("[big]\n", lambda i: f"k{i} = v\n"),
        "long continuation value": fill("[s]\nk = v\n", lambda i: "  " + "x" * 62 + "\n"),
        "deeply indented continuations": fill("[s]\nk = v\n", lambda i: " " * 4000 + "x\n"),
        "comment lines": fill("[s]\nk = v\n", lambda i: f"# note {i}\n"),
        "blank lines inside a value": "[s]\nk = v\n" + "\n" * (big - 32) + "  tail\n[t]\n",
        "blank lines": "[s]\nk = v\n" + "\n" * (big - 32) + "[t]\n",
        "one long line": "[s]\nk = " + "x" * big + "\n",
    }


# The undo record at its own cap: the trussrc "sections as truss writes them", and beside it an
# undo record filled, up to the room one more login needs, with other jobs' logins to its remotes,
# each with a job key.
UNDO_SHAPE = "the undo record at its cap (4 MiB)"
UNDO_CAP = 4 * 1024 * 1024
STATE = ".trussrc.truss-ci-state.json"


def undo_record(template, text, names):
    """Other jobs' records, one per remote of `text`, cloned from `template` (a record the binary
    wrote), in the binary's own format (a JSON array, one record per line), while the file stays
    within the room a login needs under the cap."""
    room = UNDO_CAP - (2 * 512 + 4096)
    sections = {s[1:s.index("]")]: s + "\n" for s in text.split("\n\n") if s}
    lines, size = [], len("[\n\n]\n")
    for i, name in enumerate(names):
        r = dict(template)
        r.update(id=f"{i:016x}", job=f"buildkite:other-{i}", remote=name,
                 previous_section=sections[name],
                 job_keys=[{"name": f"truss-ci-buildkite-other-{i}-202612040000-{i:08x}",
                            "prefix": f"p{i:07d}", "api_url": "https://api.baseten.co"}])
        line = json.dumps(r, separators=(",", ":"), ensure_ascii=False)
        if size + len(line) + 2 > room:
            break
        lines.append(line)
        size += len(line) + 2
    out = "[\n" + ",\n".join(lines) + "\n]\n"
    assert len(out.encode()) <= room, len(out)
    return out


def section_names(text):
    """Header names in file order (these shapes have no continuation that looks like a header)."""
    return [line.strip()[1:-1] for line in text.splitlines() if line.startswith("[")]


COMMANDS = ["login", "status", "logout --post", "logout --remote", "--quiet logout --all"]
# The same, printing what it removed (five names and a sum).
LOUD = "logout --all"
BUDGET_S = 0.05
BUDGET_CPU_S = 0.03
SKIPPED = -1


def figure(seconds, timeout):
    """Milliseconds; `> N` for a run killed after N ms; `n/m` where the login it needs timed out."""
    if seconds == SKIPPED:
        return "n/m"
    return f"{seconds * 1000:.1f}" if seconds is not None else f"> {timeout * 1000:.0f}"


def report(after, before=None):
    """Markdown: one row per shape, each command's median wall time in ms, its CPU time (user +
    system) in parentheses, before → after when given; and the slowest wall time held to the
    budget, wall and CPU."""
    lines = [
        f"| shape (≤ 1 MiB) | sections | {' | '.join(f'`{c}`' for c in COMMANDS + [LOUD])} |",
        "|---|---:|" + "---:|" * (len(COMMANDS) + 1),
    ]
    worst = worst_cpu = 0.0
    for shape, r in after["shapes"].items():
        cells = []
        for c in COMMANDS + [LOUD]:
            now = figure(r[c], after["timeout"])
            if r.get(c + " cpu") is not None:
                now += f" ({r[c + ' cpu'] * 1000:.0f})"
            worst = max(worst, float("inf") if r[c] in (None, SKIPPED) else r[c])
            worst_cpu = max(worst_cpu, r.get(c + " cpu") or 0.0)
            if before is not None:
                b = before["shapes"][shape]
                was = figure(b[c], before["timeout"]) if c in b else "—"
                now = f"{was} → {now}"
            cells.append(now)
        lines.append(f"| {shape} ({r['bytes']:,} B) | {r['sections']:,} | {' | '.join(cells)} |")
    return "\n".join(lines), worst, worst_cpu


def clear(home):
    for f in os.listdir(home):
        os.remove(os.path.join(home, f))


def main():
    if sys.argv[1] == "--report":
        after = json.load(open(sys.argv[2]))
        before = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else None
        table, worst, worst_cpu = report(after, before)
        print(table)
        print(f"\nSlowest: {worst * 1000:.1f} ms wall (budget {BUDGET_S * 1000:.0f} ms), "
              f"{worst_cpu * 1000:.1f} ms CPU (budget {BUDGET_CPU_S * 1000:.0f} ms).")
        return
    binary, out = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), fake_api.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}"
    work = tempfile.mkdtemp()
    home = os.path.join(work, "home")
    os.makedirs(home, mode=0o700)
    rc = os.path.join(home, ".trussrc")
    # Buildkite mode: a job identity, so login records its undo and `--post` finds it; no CI files.
    env = {"HOME": home, "PATH": "/usr/bin:/bin", "BUILDKITE": "true", "BUILDKITE_JOB_ID": "bench",
           "BASETEN_API_KEY": KEY, "BASETEN_REMOTE_URL": api, "BASETEN_TRUSS_AUTH_KEYRING_DISABLED": "1"}

    cpu = []

    def run(args):
        """Wall seconds (None on a timeout); the child's user + system seconds go to `cpu`."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            p = subprocess.run([binary, *args], env=env, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if p.returncode != 0:
            sys.exit(f"{' '.join(args)} exited {p.returncode}: {p.stderr.decode()[-500:]}")
        return took

    results = {}
    table = shapes()
    table[UNDO_SHAPE] = table["sections as truss writes them"]
    for shape, text in table.items():
        assert len(text.encode()) <= CAP, shape
        src = os.path.join(work, "shape")
        with open(src, "w", newline="") as f:
            f.write(text)
        names = section_names(text)
        middle = names[len(names) // 2]
        login = ["login", "--from-env", "--remote", middle]
        state = None
        if shape == UNDO_SHAPE:
            clear(home)
            shutil.copyfile(src, rc)
            os.chmod(rc, 0o600)
            run(["login", "--from-env", "--remote", middle])
            with open(os.path.join(home, STATE)) as f:
                template = json.load(f)[0]
            state = undo_record(template, text, [n for n in names if n != middle])
        commands = {  # the order of COMMANDS
            "login": ([], login),
            "status": ([login], ["status", "--remote", middle]),
            "logout --post": ([login], ["logout", "--post"]),
            "logout --remote": ([], ["logout", "--remote", middle]),
            "--quiet logout --all": ([], ["--quiet", "logout", "--all"]),
            LOUD: ([], ["logout", "--all"]),
        }
        results[shape] = {"bytes": len((state or text).encode()), "sections": len(names)}
        for name, (prep, args) in commands.items():
            times, cpus = [], []
            for _ in range(runs):
                clear(home)
                shutil.copyfile(src, rc)
                os.chmod(rc, 0o600)
                if state is not None:
                    with open(os.path.join(home, STATE), "w") as f:
                        f.write(state)
                    os.chmod(os.path.join(home, STATE), 0o600)
                if any(run(p) is None for p in prep):
                    times = SKIPPED
                    break
                took = run(args)
                if took is None:
                    times = None
                    break
                times.append(took)
                cpus.append(cpu[-1])
            results[shape][name] = statistics.median(times) if isinstance(times, list) else times
            results[shape][name + " cpu"] = statistics.median(cpus) if cpus else None
            ms = figure(results[shape][name], timeout)
            print(f"{shape:32} {name:20} {ms} ms", file=sys.stderr, flush=True)
    with open(out, "w") as f:
        json.dump({"runs": runs, "timeout": timeout, "shapes": results}, f, indent=1)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
