#!/usr/bin/env python3
"""Import cycles between the crate's source files: prints each, exits 1 when there is one.

    python3 .ci/cycles.py src [--graph] [--why]

A file depends on another when its code names an item of that file's module: a `use` of it,
or a path through `crate::`, `super::`, `self::`, a child module, or a module a `use` brought
in. Declaring a child (`mod x;`) is not a use of it. `#[cfg(test)]` modules are left out (a
test may use what sits above the code it tests), as are comments, strings and characters.
"""

import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip(text):
    """The code without comments, string and char literals (kept as spaces/empty strings)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == "b" and text.startswith('b"', i) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            i += 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'", text[i:])
            if m:
                i += len(m.group(0))
                out.append("' '")
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def without_tests(code):
    """The code without its `#[cfg(test)]` modules: a test may use what sits above the code
    it tests; the build of the crate never does."""
    out, at = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+" + IDENT + r"\s*\{", code):
        if m.start() < at:
            continue
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        out.append(code[at:m.start()])
        at = i
    out.append(code[at:])
    return "".join(out)


def modules(root):
    """module path (tuple) -> file, for src/lib.rs and every module file under root."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)[:-3].split(os.sep)
            if rel == ["lib"]:
                found[()] = path
            elif rel == ["main"]:
                continue
            elif rel[-1] == "mod":
                found[tuple(rel[:-1])] = path
            else:
                found[tuple(rel)] = path
    return found


def use_trees(code):
    """Each `use` declaration's paths, expanded: (position, segments, alias or None)."""
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        tree = re.sub(r"\s+as\s+", "@as@", m.group(1))
        for segments, alias in expand(re.sub(r"\s+", "", tree), []):
            yield m.start(), segments, alias


def inline_modules(code):
    """(start, end, name) of each inline `mod name { … }`: inside it, `self` and `super`
    are relative to it."""
    spans = []
    for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        spans.append((m.start(), i, m.group(1)))
    return spans


def expand(tree, prefix):
    if tree.startswith("::"):
        tree = tree[2:]
    brace = tree.find("{")
    if brace < 0:
        alias = None
        if "@as@" in tree:
            tree, alias = tree.split("@as@")
        yield prefix + [s for s in tree.split("::") if s], alias
        return
    head = [s for s in tree[:brace].split("::") if s]
    inner = tree[brace + 1:tree.rfind("}")]
    depth, start, parts = 0, 0, []
    for i, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    for part in parts:
        if part:
            yield from expand(part, prefix + head)


def main():
    root = sys.argv[1]
    mods = modules(root)
    file_mod = {f: m for m, f in mods.items()}
    deps = {f: set() for f in file_mod}
    why = {}
    for path, here in file_mod.items():
        code = without_tests(strip(open(path, encoding="utf-8").read()))
        # Where `super::` and child paths start from: a file `a/b.rs` is module a::b; its
        # children are a::b::x (in a/b/x.rs), its parent a.
        children = set(re.findall(r"\bmod\s+(" + IDENT + r")\s*;", code))
        aliases = {}

        spans = inline_modules(code)

        def resolve(segments, at=None):
            if not segments:
                return None
            here_at = here + tuple(name for start, end, name in spans
                                   if at is not None and start <= at < end)
            first, rest = segments[0], segments[1:]
            if first in ("crate", "dozen"):
                base = ()
            elif first == "self":
                base = here_at
            elif first == "super":
                base = here_at[:-1]
                while rest and rest[0] == "super":
                    base, rest = base[:-1], rest[1:]
            elif first in children:
                base, rest = here + (first,), rest
            elif first in aliases:
                base = aliases[first]
            else:
                return None
            full = base + tuple(s for s in rest if s != "self")
            for k in range(len(full), -1, -1):
                if full[:k] in mods:
                    return full[:k]
            return None

        for at, segments, alias in use_trees(code):
            target = resolve(segments, at)
            if target is None:
                continue
            if mods[target] != path:
                deps[path].add(mods[target])
                why.setdefault((path, mods[target]), set()).add("::".join(segments))
            # `use crate::app;`, `use super::{self, manifest}`: the name is that module.
            leaf = segments[-1]
            name = alias or (segments[-2] if leaf == "self" and len(segments) > 1 else leaf)
            named = tuple(s for s in segments if s != "self")
            if name not in ("*", "crate", "super", "self") and target[-1:] == (named[-1],):
                aliases[name] = target
        starts = ["crate", "super", "self", "dozen"] + sorted(children) + sorted(aliases)
        pattern = r"(?<![A-Za-z0-9_:])(" + "|".join(map(re.escape, starts)) + r")((?:::" + IDENT + r")+)"
        for m in re.finditer(pattern, code):
            segments = [m.group(1)] + m.group(2).split("::")[1:]
            target = resolve(segments, m.start())
            if target is not None and mods[target] != path:
                deps[path].add(mods[target])
                why.setdefault((path, mods[target]), set()).add("::".join(segments))

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                sccs.append(sorted(component))

    for v in sorted(deps):
        if v not in index:
            visit(v)
    if "--graph" in sys.argv:
        for f in sorted(deps):
            print(f, "->", " ".join(sorted(deps[f])))
    for component in sccs:
        members = set(component)
        print(f"cycle of {len(component)} files:")
        for f in component:
            inside = sorted(d for d in deps[f] if d in members)
            print(f"  {f} -> {', '.join(inside)}")
            if "--why" in sys.argv:
                for d in inside:
                    print(f"      {d}: {', '.join(sorted(why[(f, d)])[:8])}")
    if sccs:
        print(f"{len(sccs)} import cycles between files")
        sys.exit(1)
    print(f"0 import cycles between {len(deps)} files")


if __name__ == "__main__":
    main()
