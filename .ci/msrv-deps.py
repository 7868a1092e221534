"""Fails if a dependency of guardian-core (under any feature) declares a newer
`rust-version` than guardian-core's own: it would not build with ours.

Reads `cargo metadata --all-features` on stdin. Only normal and build dependencies
count (what a user builds); dev-dependencies and the unpublished packages do not.
Language and cargo features cannot be checked this way: see the root Cargo.toml.
"""

import json
import sys


def version(text):
    """`1.89` and `1.89.0` compare equal; no rust-version counts as the oldest."""
    parts = [int(part) for part in (text or "0").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.load(sys.stdin)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    core = next(i for i, p in packages.items() if p["name"] == "guardian-core")
    ours = packages[core]["rust_version"]
    seen, todo = set(), [core]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for dep in nodes[node]["deps"]:
            if any(kind["kind"] in (None, "build") for kind in dep["dep_kinds"]):
                todo.append(dep["pkg"])

    def describe(i):
        p = packages[i]
        return f"{p['name']} {p['version']} (rust-version {p['rust_version'] or 'not declared'})"

    deps = seen - {core}
    newest = max(deps, key=lambda i: version(packages[i]["rust_version"]))
    print(f"guardian-core: rust-version {ours}; {len(deps)} dependencies, the newest: {describe(newest)}")
    too_new = sorted(describe(i) for i in deps if version(packages[i]["rust_version"]) > version(ours))
    if too_new:
        sys.exit(f"these need a newer Rust than rust-version {ours}: " + ", ".join(too_new))


main()
