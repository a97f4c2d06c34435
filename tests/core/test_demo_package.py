"""The demo market lives in one package that no domain imports (``flask seed demo``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "marketplace"

# The stages of marketplace/demo in lifecycle order: each may use only the ones before it.
STAGES = ["accounts", "catalog", "agencies", "procurement", "contracts", "credit"]


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_domain_imports_the_demo():
    offending = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "demo" or str(relative) == "setup.py":  # setup.py registers the CLI
            continue
        if any(name == "marketplace.demo" or name.startswith("marketplace.demo.") for name in _imported(path)):
            offending.append(str(relative))
    assert offending == []


def test_no_domain_keeps_a_demo_module():
    assert sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/demo.py")) == []
    assert not (ROOT / "seed.py").exists()


def test_each_stage_uses_only_the_earlier_ones():
    modules = {p.stem for p in (ROOT / "demo").glob("*.py")} - {"__init__", "cli"}
    assert modules == set(STAGES)
    for n, stage in enumerate(STAGES):
        used = {name.split(".")[2] for name in _imported(ROOT / "demo" / f"{stage}.py")
                if name.startswith("marketplace.demo.")}
        assert used <= set(STAGES[:n]), stage
