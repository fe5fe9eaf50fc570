"""The demo's results files: estimates with n and spread, never NaN, per-seed tables combined."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from movierep import files
from movierep.demo import results
from movierep.demo.verdicts import Estimate

NAN = math.nan


def test_head_run_summaries_are_saved_with_n_and_spread_and_no_nan(tmp_path: Path) -> None:
    rows = {"ours": {"Acc@1": (41.25, 1.5), "rank": (2.0, NAN)}}
    path = results.save(tmp_path, "t", rows, runs=5, clips=12)
    text = path.read_text()
    assert "NaN" not in text
    payload = json.loads(text)
    spread = "head runs only (one pretraining, 5 runs)"
    assert payload["rows"]["ours"]["Acc@1"] == {"mean": 41.25, "se": 1.5, "n": 5, "spread": spread}
    assert payload["rows"]["ours"]["rank"] == {"mean": 2.0, "se": None, "n": 5, "spread": spread}
    assert (payload["runs"], payload["clips"]) == (5, 12)
    table, extra = results.load(tmp_path, "t")
    assert table["ours"]["Acc@1"] == Estimate(41.25, 1.5, 5, spread)
    assert table["ours"]["rank"].se is None and extra == {"runs": 5, "clips": 12}


def test_single_measurements_and_estimates(tmp_path: Path) -> None:
    per_query = Estimate.of([100.0, 0.0, 100.0, 100.0], "queries")  # 75 ± 25
    results.save(tmp_path, "t", {"a": {"F1": (NAN, NAN)}, "b": {"P@1": per_query}}, note=NAN)
    table, extra = results.load(tmp_path, "t")
    assert math.isnan(table["a"]["F1"].mean)
    assert (table["a"]["F1"].n, table["a"]["F1"].spread) == (1, "one measurement")
    assert table["b"]["P@1"] == Estimate(75.0, 25.0, 4, "queries (4)")
    assert extra == {"note": None}  # NaN in the extras is null too
    with pytest.raises(ValueError, match="needs runs="):
        results.save(tmp_path, "bad", {"a": {"m": (1.0, 0.5)}})


def test_per_seed_tables_are_combined_over_the_pretraining_seeds(tmp_path: Path) -> None:
    per_seed = {
        0: {"CVRL": {"Acc@1": (10.0, 1.0)}, "random": {"Acc@1": (5.0, 1.0)}},
        1: {"CVRL": {"Acc@1": (14.0, 3.0)}},
    }
    results.save_seeds(tmp_path, "t", per_seed, runs=2)
    raw = files.read_json(tmp_path / "results" / "t.json")
    # 10 and 14: mean 12, sd 2√2, se 2√2 / √2 = 2
    cvrl = raw["rows"]["CVRL"]["Acc@1"]
    assert cvrl["mean"] == 12.0 and cvrl["se"] == pytest.approx(2.0) and cvrl["n"] == 2
    assert cvrl["spread"] == "pretraining seeds (2) × head runs (2)"
    assert cvrl["seeds"] == {"0": 10.0, "1": 14.0}
    assert raw["rows"]["random"]["Acc@1"] == {
        "mean": 5.0, "se": 1.0, "n": 2, "spread": "head runs only (one pretraining, 2 runs)",
    }  # fmt: skip
    assert raw["pretraining_seeds"] == [0, 1]
    table, _ = results.load(tmp_path, "t")
    assert table["CVRL"]["Acc@1"].seeds == {0: 10.0, 1: 14.0}


def test_a_file_written_before_n_and_spread_reads_as_head_runs(tmp_path: Path) -> None:
    files.write_json(
        tmp_path / "results" / "old.json",
        {"rows": {"a": {"m": {"mean": 3.0, "se": 0.5}}}, "runs": 4},
    )
    table, extra = results.load(tmp_path, "old")
    assert table["a"]["m"] == Estimate(3.0, 0.5, 4, "head runs only (one pretraining, 4 runs)")
    assert extra == {"runs": 4} and results.exists(tmp_path, "old")
