#!/usr/bin/env python3
"""Fail if the modules of a crate import each other in a circle.

usage: layers.py SRC_DIR [--files] [-v]

Reads every `.rs` file under SRC_DIR, collects what each module names through `crate::...`
paths (re-exports of `lib.rs` resolved to the module that defines the item) and `super::`
paths, and looks for strongly connected components. By default a module counts with its
submodules (`task/cell.rs` is part of `task`): lower modules must never name higher ones.
`--files` checks each file on its own (submodules of one module may still lean on each
other). Unit-test modules (`#[cfg(test)] mod ...`) are left out: tests may use anything.
`-v` prints the graph. Exit status 1 names each circle.
"""

import collections
import os
import re
import sys


def modules(root):
    """Module path (`task::cell`, '' for lib.rs) -> file."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib"):
                    parts = parts[:-1]
                found["::".join(parts)] = path
    return found


def reexports(lib_source):
    """Names `lib.rs` re-exports -> the module path they come from."""
    names = {}
    for m in re.finditer(r"pub use ([a-z_:]+)::\{([^}]*)\}", lib_source, re.S):
        for name in re.split(r"[,\s]+", m.group(2)):
            if name:
                names[name] = m.group(1)
    for m in re.finditer(r"pub use ([a-z_:]+)::([A-Za-z_]+);", lib_source):
        names[m.group(2)] = m.group(1)
    return names


def main():
    args = sys.argv[1:]
    root = next(a for a in args if not a.startswith("-"))
    per_file, verbose = "--files" in args, "-v" in args
    files = modules(root)
    known = set(files)
    exported = reexports(open(files[""]).read())

    def resolve(segments):
        for i in range(len(segments), 0, -1):
            candidate = "::".join(segments[:i])
            if candidate in known:
                return candidate
        if segments and segments[0] in exported:
            return exported[segments[0]]
        return None

    def unit(module):
        return module if per_file else module.split("::")[0]

    edges = collections.defaultdict(set)

    def add(source, target):
        if target is not None and unit(target) not in ("", unit(source)):
            edges[unit(source)].add(unit(target))

    for module, path in files.items():
        if module == "":
            continue
        text = open(path).read()
        tests = re.search(r"#\[cfg\((all\()?test[^\]]*\]\s*mod ", text)
        if tests:
            text = text[: tests.start()]
        text = re.sub(r"//[^\n]*", "", text)
        ident = r"[A-Za-z_][A-Za-z0-9_]*"
        for m in re.finditer(r"crate::((?:%s::)*)\{([^}]*)\}" % ident, text):
            prefix = [s for s in m.group(1).split("::") if s]
            for item in m.group(2).split(","):
                item = item.strip().split(" as ")[0]
                if item:
                    add(module, resolve(prefix + [s for s in item.split("::") if s]))
        for m in re.finditer(r"crate::(%s(?:::%s)*)" % (ident, ident), text):
            add(module, resolve(m.group(1).split("::")))
        parent = module.split("::")[:-1]
        for m in re.finditer(r"\bsuper::(%s(?:::%s)*|\{[^}]*\})" % (ident, ident), text):
            group = m.group(1)
            items = [group] if not group.startswith("{") else group[1:-1].split(",")
            for item in items:
                segments = [s for s in item.strip().split("::") if s]
                add(module, resolve(parent + segments) if parent else resolve(segments))

    # Strongly connected components (Tarjan).
    index, low, stack, on_stack, circles = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted({unit(m) for m in known} - {""}):
        if v not in index:
            visit(v)
    if verbose:
        for k in sorted(edges):
            print(k, "->", ", ".join(sorted(edges[k])))
    for circle in circles:
        print("circle:", " <-> ".join(circle))
    if not circles:
        print("no circle between the modules of", root)
    sys.exit(1 if circles else 0)


main()
