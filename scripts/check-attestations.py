"""Checks that .github/workflows/release.yml attests every asset it uploads before the release is
published: the attest job downloads the whole draft and attests all of it with GitHub's own
attestation action, pinned by commit SHA; every job that uploads an asset runs before it; the job
that publishes runs after it; the image's digest is attested; and only the attest job may write
attestations (id-token: write there, and in the PyPI job for trusted publishing only).
Usage: python check-attestations.py [WORKFLOW]
"""
import re
import sys

from ruamel.yaml import YAML

ACTION = re.compile(r"^actions/attest-build-provenance@[0-9a-f]{40}$")


def ancestors(jobs, name):
    needs = jobs[name].get("needs", [])
    needs = [needs] if isinstance(needs, str) else list(needs)
    seen = set(needs)
    for parent in needs:
        seen |= ancestors(jobs, parent)
    return seen


def runs(job):
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def main(path=".github/workflows/release.yml"):
    jobs = YAML(typ="safe").load(open(path, encoding="utf-8"))["jobs"]
    problems = []
    attesting = [n for n, j in jobs.items()
                 if any(ACTION.match(s.get("uses", "")) for s in j.get("steps", []))]
    for name, job in jobs.items():
        for step in job.get("steps", []):
            uses = step.get("uses", "")
            if uses.startswith("actions/attest") and not ACTION.match(uses):
                problems.append(f"{name}: {uses} is not pinned by commit SHA")
        perms = job.get("permissions", {}) or {}
        if perms.get("attestations") == "write" and name not in attesting:
            problems.append(f"{name}: attestations: write but attests nothing")
        if perms.get("id-token") == "write" and name not in attesting and "pypi" not in name:
            problems.append(f"{name}: id-token: write outside the attest job")
    if len(attesting) != 1:
        return report([f"expected one attest job, found {attesting}"] + problems)
    attest = attesting[0]
    job = jobs[attest]
    perms = job.get("permissions", {})
    if perms.get("id-token") != "write" or perms.get("attestations") != "write":
        problems.append(f"{attest}: needs id-token: write and attestations: write")
    if any(v == "write" for k, v in perms.items() if k not in ("id-token", "attestations")):
        problems.append(f"{attest}: writes more than attestations ({perms})")
    download = re.search(r"gh release download (.*)", runs(job))
    if not download or "--pattern" in download.group(1) or "--dir assets" not in download.group(1):
        problems.append(f"{attest}: must download every asset of the release into assets/")
    subjects = [s.get("with", {}) for s in job["steps"] if ACTION.match(s.get("uses", ""))]
    if not any(w.get("subject-path") == "assets/*" for w in subjects):
        problems.append(f"{attest}: must attest assets/*")
    if not any("image-manifest.outputs.digest" in str(w.get("subject-digest", "")) for w in subjects):
        problems.append(f"{attest}: must attest the image's digest")
    before = ancestors(jobs, attest)
    for name, other in jobs.items():
        if "gh release upload" in runs(other) and name not in before:
            problems.append(f"{name} uploads assets but does not run before {attest}")
        if "--draft=false" in runs(other) and attest not in ancestors(jobs, name):
            problems.append(f"{name} publishes the release before {attest} has run")
    if not any("--draft=false" in runs(j) for j in jobs.values()):
        problems.append("no job publishes the release")
    return report(problems)


def report(problems):
    for p in problems:
        print(f"check-attestations: {p}", file=sys.stderr)
    if not problems:
        print("check-attestations: every uploaded asset and the image are attested before publishing",
              file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
