"""The one atomic-write helper: a crash leaves the old file (or folder), never a half one."""

from __future__ import annotations

from pathlib import Path

import pytest

from movierep import files
from movierep.errors import UserError


def test_write_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.json"
    files.write_json(path, {"x": 1})
    files.write_json(path, {"x": 2}, indent=None)
    assert path.read_text() == '{"x": 2}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]
    assert files.read_json(path) == {"x": 2}


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = files.write_text(tmp_path / "t.txt", "old")

    def crash_while_writing() -> None:
        with files.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        crash_while_writing()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_atomic_dir_swaps_folders(tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    with files.atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")

    def crash_while_writing() -> None:
        with files.atomic_dir(target) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        crash_while_writing()
    assert (target / "a").read_text() == "1"
    with files.atomic_dir(target) as tmp:
        (tmp / "b").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_read_json_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"missing\.json: file not found"):
        files.read_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{\n  oops")
    with pytest.raises(UserError, match=r"bad.json: line 2: invalid JSON"):
        files.read_json(tmp_path / "bad.json")


def test_every_writer_uses_the_helper() -> None:
    """No module writes a temporary file and renames it by hand any more."""
    import movierep

    src = Path(movierep.__file__).parent
    for path in src.rglob("*.py"):
        if path.name == "files.py":
            continue
        text = path.read_text()
        for pattern in ("os.replace(", "mkstemp(", "mkdtemp(", '.tmp"'):
            assert pattern not in text, f"{path.relative_to(src)} uses {pattern}"


def test_write_json_writes_strict_json_with_null_for_missing_values(tmp_path: Path) -> None:
    """JSON has no NaN: non-finite floats become null at any depth, counts stay beside them."""
    import json
    import math

    obj = {"se": math.nan, "n": 1, "rows": [1.5, math.inf, {"x": -math.inf}], "t": (2.0, math.nan)}
    path = files.write_json(tmp_path / "r.json", obj)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))
    assert parsed == {"se": None, "n": 1, "rows": [1.5, None, {"x": None}], "t": [2.0, None]}
