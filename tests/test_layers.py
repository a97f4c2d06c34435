"""The layer contract (pyproject.toml, [tool.importlinter]) holds, and the domains import no circle.

The layers, the lifecycle order and the exceptions left are explained in docs/architecture.md
("Layers"). Both tests read the source only: no database, so they run the same in every CI run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def _layers_contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")


def test_the_layer_contract_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--config", "pyproject.toml", "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _pattern(expression: str) -> re.Pattern:
    """An import-linter module expression (``*`` one name, ``**`` any depth) as a regex."""
    parts = []
    for part in expression.strip().split("."):
        parts.append({"*": r"[^.]+", "**": r"[^.]+(?:\.[^.]+)*"}.get(part, re.escape(part)))
    return re.compile(r"\.".join(parts) + r"\Z")


def _package_graph() -> dict[str, set[str]]:
    """Which of marketplace's sub-packages import which, without the listed exceptions."""
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("marketplace", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    ignored = [tuple(_pattern(side) for side in line.split("->"))
               for line in _layers_contract().get("ignore_imports", [])]

    # The members of a layer written with ":" may import each other: one node here.
    group = {}
    for layer in _layers_contract()["layers"]:
        if ":" in layer:
            members = [m.strip().strip("()") for m in layer.split(":")]
            group.update({m: " : ".join(members) for m in members})

    def top(module: str) -> str:
        package = ".".join(module.split(".")[:2])
        return group.get(package, package)

    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if "." not in importer or "." not in imported or top(importer) == top(imported):
                continue
            if any(a.match(importer) and b.match(imported) for a, b in ignored):
                continue
            edges.setdefault(top(importer), set()).add(top(imported))
    return edges


def _a_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_packages_import_no_circle():
    edges = _package_graph()
    assert "marketplace.jobs" in edges  # the graph was built
    assert "marketplace.contracts" not in edges["marketplace.jobs"]
    cycle = _a_cycle(edges)
    assert cycle is None, " -> ".join(cycle or [])
