"""The package graph of `oms` has no cycles: capabilities depend downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "service" / "oms"


def package_graph() -> dict[str, set[str]]:
    """Top-level package (or module) of `oms` -> the others it imports, at any depth."""
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        here = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "oms" and len(parts) > 1 and parts[1] != here:
                    edges.setdefault(here, set()).add(parts[1])
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(edges) + 1:
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    return found


def test_the_package_graph_has_no_cycles() -> None:
    assert cycles(package_graph()) == []


def test_the_check_finds_a_cycle() -> None:
    assert cycles({"intake": {"ops"}, "ops": {"intake"}})


def test_the_process_core_depends_on_no_flow() -> None:
    assert package_graph().get("process", set()) <= {"records"}
