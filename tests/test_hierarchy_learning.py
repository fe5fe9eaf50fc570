"""benchmarks/hierarchy_learning.py on the tiny corpus: units, resume and the seed summary."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "hierarchy_learning.py"


def test_random_init_units_over_two_seeds_and_their_mean_and_standard_error(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("hierarchy_learning", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = [
        "--corpus", str(tiny_corpus), "--work", str(tmp_path / "work"), "--methods", "random",
        "--seeds", "0", "1", "--out", str(tmp_path / "out.json"),
    ]  # fmt: skip
    report = module.main(argv)
    assert json.loads((tmp_path / "out.json").read_text())["summary"] == report["summary"]
    units = report["units"]
    assert [(u["method"], u["seed"]) for u in units] == [("random", 0), ("random", 1)]
    assert units[0]["numbers"]["verb_knn"] != units[1]["numbers"]["verb_knn"] or (
        units[0]["numbers"]["place_knn"] != units[1]["numbers"]["place_knn"]
    )  # two seeds, two different networks
    for key, summary in report["summary"]["random"].items():
        v = np.array([u["numbers"][key] for u in units])
        assert summary["n"] == 2
        assert summary["mean"] == pytest.approx(v.mean())
        assert summary["se"] == pytest.approx(abs(v[0] - v[1]) / 2)  # s.d. (ddof 1) / sqrt 2
        assert 0.0 <= summary["mean"] <= 1.0 or math.isnan(summary["mean"])
    assert {"backbone", "features"} <= set(units[0]["seconds"])
    # a rerun reads the finished units instead of training again
    (tmp_path / "work" / "random_s0" / "features.parquet").unlink()
    again = module.main(argv)
    assert again["units"] == units
