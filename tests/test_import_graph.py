"""The import graph, read with ``ast``: no cycle between the top-level packages, nor between lsrl's sub-packages."""
from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lsrl", "automata", "models", "kernels", "proofs")
Graph = dict[str, dict[str, str]]  # unit -> imported unit -> "file:line" of one import that makes the edge


def _module(path: Path) -> tuple[str, str]:
    """The dotted name of the module at ``path`` and the package its relative imports start from."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every name ``path`` imports, as ``module.name`` (relative imports resolved), with its line; imports
    inside functions and under ``TYPE_CHECKING`` count too: they are dependencies all the same."""
    _, package = _module(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield from ((f"{module}.{alias.name}", node.lineno) for alias in node.names)


def top_level(module: str) -> str | None:
    head = module.split(".")[0]
    return head if head in PACKAGES else None


def lsrl_part(module: str) -> str | None:
    """``lsrl.lang.check`` -> ``lsrl.lang``; a module directly in lsrl/ (``lsrl.artifacts``) is its own unit."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "lsrl" and len(parts) > 1 else None


def graph(unit: Callable[[str], str | None]) -> Graph:
    """The edges between the units ``unit`` maps modules to, over every module of ``PACKAGES``."""
    edges: Graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = unit(_module(path)[0])
            for name, line in _imports(path):
                target = unit(name)
                if source and target and source != target:
                    edges.setdefault(source, {}).setdefault(target, f"{path.relative_to(ROOT)}:{line}")
    return edges


def find_cycle(edges: Graph) -> list[str] | None:
    """One cycle of ``edges`` as its units in order (the first repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for target in edges.get(node, {}):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    return next((c for c in (visit(n, []) for n in sorted(edges)) if c), None)


def _describe(edges: Graph, cycle: list[str]) -> str:
    return "; ".join(f"{a} -> {b} ({edges[a][b]})" for a, b in zip(cycle, cycle[1:]))


def test_find_cycle_finds_a_cycle_and_only_one_that_is_there():
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": "", "c": ""}, "b": {"c": ""}}) is None


def test_no_cycle_between_top_level_packages():
    edges = graph(top_level)
    cycle = find_cycle(edges)
    assert cycle is None, _describe(edges, cycle)


def test_no_cycle_between_lsrl_sub_packages():
    edges = graph(lsrl_part)
    assert {"lsrl.lang", "lsrl.compiler"} <= set(edges["lsrl.cli"])  # the graph is read, not empty
    cycle = find_cycle(edges)
    assert cycle is None, _describe(edges, cycle)
