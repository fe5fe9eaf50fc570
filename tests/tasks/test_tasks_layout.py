"""tasks/ in three parts, imports pointing one way: protocols -> heads; diagnostics alone.

``heads/`` (the heads, their one training loop, the N-run protocol) imports nothing else of
tasks/; ``protocols/`` (the benchmarks) build on the heads; ``diagnostics/`` (probes of
the synthetic corpus) use neither. Every import counts, inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import movierep

TASKS = Path(movierep.__file__).parent / "tasks"
#: part -> the parts of tasks/ it may import (besides itself)
ALLOWED = {"heads": set(), "protocols": {"heads"}, "diagnostics": set()}


def _imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            bits = name.split(".")
            if bits[:2] == ["movierep", "tasks"] and len(bits) > 2:
                parts.add(bits[2])
    return parts


def test_every_module_is_in_a_part() -> None:
    assert sorted(p.name for p in TASKS.iterdir() if p.suffix == ".py") == []
    assert {p.name for p in TASKS.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        ALLOWED
    )


@pytest.mark.parametrize("path", sorted(TASKS.rglob("*.py")), ids=lambda p: p.stem)
def test_imports_point_from_protocols_to_heads(path: Path) -> None:
    mine = path.relative_to(TASKS).parts[0]
    for part in _imported_parts(path) - {mine}:
        assert part in ALLOWED[mine], f"{path.name} ({mine}/) imports tasks.{part}"
