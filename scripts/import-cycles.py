#!/usr/bin/env python3
"""Lists import circles between the modules of a crate: `A` uses `B` (a `use` or a path
`crate::B::...`/`super::B::...` in A's files) and `B`, directly or through others, uses
`A`. Modules are files and directories under SRC (`foo.rs` and `foo/` are one module
`foo`); a module's own children are not a circle with it. Exits 1 when there is one.

    scripts/import-cycles.py host/src core/src
"""
import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super)((?:::\w+)+)")
GROUP = re.compile(r"\b(crate|super)::\{([^}]*)\}")


def module_of(src: Path, file: Path) -> list:
    """The module path of `file` (`a/b.rs` and `a/b/mod.rs` are `a::b`)."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return parts


def targets(module: list, kind: str, tail: list) -> list:
    """The module a path names, from the module whose file holds it, as a list."""
    base = [] if kind == "crate" else module[:-1]
    return base + tail


def edges(src: Path):
    graph = {}
    for file in src.rglob("*.rs"):
        module = module_of(src, file)
        text = re.sub(r"//[^\n]*", "", file.read_text())
        # A `#[cfg(test)] mod tests` may use anything of its parent: not an edge.
        text = text.split("#[cfg(test)]\nmod tests")[0]
        found = [(kind, rest.strip(":").split("::")) for kind, rest in PATH.findall(text)]
        for kind, group in GROUP.findall(text):
            for item in group.split(","):
                item = item.strip()
                if item:
                    found.append((kind, item.split("::")))
        for kind, tail in found:
            if kind == "super" and not module:
                continue
            target = targets(module, kind, tail)
            graph.setdefault(tuple(module), set()).add(tuple(target))
    return graph


def siblings(a: tuple, b: tuple):
    """The two distinct children of the deepest common parent of `a` and `b` on their paths."""
    i = 0
    while i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    if i == len(a) or i == len(b):
        return None  # one contains the other
    return a[: i + 1], b[: i + 1]


def cycles(graph):
    # Edges between siblings: the modules directly under one parent.
    sib = {}
    modules = set(graph)
    for a, targets_ in graph.items():
        for t in targets_:
            # A path may name an item inside a module: shorten it to a known module.
            while t and t not in modules and t[:-1] != t:
                if any(m[: len(t)] == t for m in modules):
                    break
                t = t[:-1]
            pair = siblings(a, t)
            if pair:
                sib.setdefault(pair[0], set()).add(pair[1])
    found = []
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(sib.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(sib):
        if node not in state:
            visit(node, [])
    return found


def main():
    bad = False
    for arg in sys.argv[1:] or ["host/src", "core/src"]:
        src = Path(arg)
        for cycle in cycles(edges(src)):
            bad = True
            print(f"{src}: " + " -> ".join("::".join(m) for m in cycle))
    if not bad:
        print("no import circles")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
