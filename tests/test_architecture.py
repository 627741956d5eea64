"""The layout is the architecture: every module's imports point only downward, with no circles.

Layers, bottom to top (a module may import its own layer's modules and those below, never above):

0. ``core``       — numerics, paths, configs, store, claims, provenance (imports nothing else of ours)
1. ``curvature``  — Hessian-vector products, spectra, traces (generic, shared by both papers)
2. ``bennett``, ``wen`` — the science of each paper; neither imports the other
3. ``engine``     — registry, study protocol, runner, executor, verify, compare (names study modules
   as strings, imports none)
4. ``studies``    — the experiments, grouped by paper (``studies.bennett``, ``studies.wen``)
5. ``views``      — the chapters' tables, figures and glue, from stored tables and claim files
6. ``publish``    — the book machinery (notebook execution, build, rerun box, site, offline assets)
7. ``cli``, ``api``, the package itself — entry points

Imports inside functions count: a lazy import is still an arrow. A second test checks that the
module-level graph (every module, lazy imports included) has no cycle, and a third that no module
is longer than 300 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "weakness_lib"

LAYERS: dict[str, int] = {
    "core": 0,
    "curvature": 1,
    "bennett": 2,
    "wen": 2,
    "engine": 3,
    "studies": 4,
    "views": 5,
    "publish": 6,
    "cli": 7,
    "api": 7,
    "": 7,  # weakness_lib/__init__.py (lazy access to the api)
}

#: pairs of one layer that must not import each other (the two papers' science is independent)
FORBIDDEN_SIDEWAYS: set[tuple[str, str]] = {("bennett", "wen"), ("wen", "bennett")}

MAX_LINES = 300
#: modules allowed over MAX_LINES, each with its reason (none today)
LONG_MODULES: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The weakness_lib modules that ``name`` imports, anywhere in its body (function level too).
    ``from package import module`` counts as importing the module."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:  # weakness_lib.core.store.Table -> weakness_lib.core.store
                t = t.rpartition(".")[0]
            if t.startswith("weakness_lib") and t != name:
                found.add(t)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_area_has_a_layer():
    assert {_area(m) for m in MODULES} <= set(LAYERS)


def test_imports_point_only_downward():
    bad = []
    for module, deps in GRAPH.items():
        a = _area(module)
        for dep in deps:
            b = _area(dep)
            if b == "" and dep == "weakness_lib" and a == "core":
                continue  # not used today; kept explicit: core never imports the package root
            if LAYERS[b] > LAYERS[a] or (a, b) in FORBIDDEN_SIDEWAYS:
                bad.append(f"{module} -> {dep}")
    assert not bad, "imports that point upward (or across the papers):\n" + "\n".join(sorted(bad))


def test_core_imports_only_core():
    bad = [f"{m} -> {d}" for m, deps in GRAPH.items() if _area(m) == "core"
           for d in deps if _area(d) != "core"]
    assert not bad, bad


def test_studies_never_import_views_or_publish():
    bad = [f"{m} -> {d}" for m, deps in GRAPH.items() if _area(m) == "studies"
           for d in deps if _area(d) in ("views", "publish", "cli", "api")]
    assert not bad, bad


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    # a package's __init__ re-exporting its submodules is not an arrow back to itself
    graph = {m: {d for d in deps if not m.startswith(d + ".") and not d.startswith(m + ".")}
             for m, deps in GRAPH.items()}
    cycles = _cycles(graph)
    assert not cycles, "modules that import each other: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_module_over_300_lines():
    long = {m: n for m, p in MODULES.items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    unexplained = {m: n for m, n in long.items() if m not in LONG_MODULES}
    assert not unexplained, f"modules over {MAX_LINES} lines: {unexplained}"
