"""No import cycles inside `assistant/`: the import graph, read from the source with `ast`, has no
strongly connected component of more than one module (nor a module importing itself).

Every import counts, the ones inside functions and under `if TYPE_CHECKING:` too: an import deferred into
a function hides a cycle from the interpreter, not from the reader who has to change one of the two
modules. Relative imports are resolved against the importing module's package; `from . import x` is an
edge to the submodule `x` when there is one. Importing a submodule is not counted as importing its
package's `__init__` (that would make every re-exporting package a cycle of its own).

Cycles that exist today and are owned by other work are allow-listed below, each with why; the test
fails on any other cycle, and on an allow-list entry that no longer exists (so the list only shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assistant"

# Known cycles (issue #14), to be removed here when the cycle is gone:
KNOWN_CYCLES: set[frozenset[str]] = set()


def modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__) for every .py file under `package`."""
    out = {}
    for f in sorted(package.rglob("*.py")):
        parts = list(f.relative_to(package.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (f, is_pkg)
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (anywhere in its source)."""
    mods = modules(package)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, (path, is_pkg) in mods.items():
        here = name if is_pkg else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in mods:
                        graph[name].add(sub)
                    elif target in mods:
                        graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components that are cycles (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.add(member)
                    if member == node:
                        break
                if len(comp) > 1 or node in graph[node]:
                    found.append(frozenset(comp))
    return found


def describe(comp: frozenset[str], graph: dict[str, set[str]]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & comp))}" for m in sorted(comp))


def test_no_new_import_cycles():
    graph = import_graph(PACKAGE)
    new = [c for c in cycles(graph) if c not in KNOWN_CYCLES]
    assert not new, "import cycles: " + " | ".join(describe(c, graph) for c in new)


def test_allow_list_has_no_fixed_cycles():
    found = set(cycles(import_graph(PACKAGE)))
    fixed = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not fixed, f"these cycles are gone: remove them from KNOWN_CYCLES: {fixed}"


def test_the_graph_sees_relative_deferred_and_submodule_imports():
    graph = import_graph(PACKAGE)
    assert "assistant.llm" in graph["assistant.answer"]  # `from .llm import make_backend` inside a method
    assert "assistant.llm.retry" in graph["assistant.llm.backend"]  # `from . import retry`
    assert "assistant.compose" in graph["assistant.llm.parse"]  # `from ..compose import ...`


def test_a_cycle_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from . import d\n")
    (pkg / "e.py").write_text("from .a import x\n")  # into the cycle, not part of it
    graph = import_graph(pkg)
    assert sorted(sorted(c) for c in cycles(graph)) == [["pkg.a", "pkg.c", "pkg.sub.b"], ["pkg.d"]]
