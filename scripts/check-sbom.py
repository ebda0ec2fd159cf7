"""Checks a release binary's SBOM against the CycloneDX 1.5 JSON schema (the copy that
cyclonedx-python-lib ships, so no network) and against the binary itself: its components are
exactly the crates the build compiled for it, as the dependency list cargo-auditable embedded in
the binary (section .dep-v0) records them, less the ones only build scripts use (cargo-cyclonedx
--no-build-deps leaves those out; proc macros stay), each with a license and the SHA-256 that
Cargo.lock holds for it. Usage: python check-sbom.py BINARY SBOM CARGO_LOCK
"""
import json
import re
import subprocess
import sys
import tempfile
import zlib

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def embedded(binary):
    """The dependency list cargo-auditable embedded: [{name, version, kind?, root?}]."""
    with tempfile.NamedTemporaryFile() as dump:
        subprocess.run(["objcopy", "--dump-section", f".dep-v0={dump.name}", binary, "/dev/null"],
                       check=True)
        return json.loads(zlib.decompress(dump.read()))["packages"]


def normal_closure(target):
    """The crates the root reaches through normal dependencies on `target` (cargo metadata's
    resolve): what is compiled for the binary's code, proc macros and their dependencies included;
    build scripts' dependencies and dev-dependencies are not."""
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", target],
        check=True, capture_output=True, text=True).stdout)
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    ids = {p["id"]: (p["name"], p["version"]) for p in meta["packages"]}
    seen, stack = set(), [meta["resolve"]["root"]]
    while stack:
        for dep in nodes[stack.pop()]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    return {ids[i] for i in seen}


def lock_checksums(path):
    text = open(path, encoding="utf-8").read()
    sums = {}
    for block in text.split("[[package]]")[1:]:
        fields = dict(re.findall(r'^(\w+) = "([^"]*)"', block, re.M))
        if "checksum" in fields:
            sums[(fields["name"], fields["version"])] = fields["checksum"]
    return sums


def main(binary, sbom_path, lock):
    text = open(sbom_path, encoding="utf-8").read()
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    problems = [f"not valid CycloneDX 1.5: {error.data.message}"] if error else []
    sbom = json.loads(text)
    listed = {(c["name"], c["version"]): c for c in sbom.get("components", [])}
    target = {p["name"]: p["value"] for p in sbom["metadata"].get("properties", [])}.get(
        "cdx:rustc:sbom:target:triple", "")
    built = {(p["name"], p["version"]) for p in embedded(binary) if not p.get("root")}
    compiled = built & normal_closure(target)
    for name, version in sorted(compiled - listed.keys()):
        problems.append(f"{name} {version} is compiled in, but not in the SBOM")
    for name, version in sorted(listed.keys() - compiled):
        problems.append(f"{name} {version} is in the SBOM, but not compiled in")
    sums = lock_checksums(lock)
    for key, component in sorted(listed.items()):
        hashes = {h["alg"]: h["content"] for h in component.get("hashes", [])}
        if hashes.get("SHA-256") != sums.get(key):
            problems.append(f"{key[0]} {key[1]}: SHA-256 {hashes.get('SHA-256')} is not Cargo.lock's")
        if not component.get("licenses"):
            problems.append(f"{key[0]} {key[1]}: no license")
    for p in problems:
        print(f"check-sbom: {sbom_path}: {p}", file=sys.stderr)
    if not problems:
        print(f"check-sbom: {sbom_path}: valid CycloneDX 1.5; {len(listed)} crates, exactly the "
              f"ones compiled into {binary}, each with its license and Cargo.lock's SHA-256",
              file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
