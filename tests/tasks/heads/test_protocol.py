"""The N-run protocol: one run at a time or all runs as one ensemble, the same summary."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.heads.protocol import ensemble_runs, mean_and_se, repeat_runs
from movierep.tasks.protocols.lvu import LVUConfig, lvu_task_runs, run_lvu, run_lvu_task

from ..protocols.test_lvu import _relationship

HEAD = ClassifierConfig(hidden=(16, 16), dropout=0.25, steps=40, batch_size=16, lr=3e-3)


def _run(seed: int) -> tuple[dict[str, float], list[dict[str, Any]]]:
    return {"acc": 0.5 + 0.1 * seed, "other": 1.0}, [{"seed": seed}]


def test_summary_is_mean_and_standard_error() -> None:
    res = repeat_runs(_run, 3, 2, ["acc"])
    assert [r["acc"] for r in res["runs"]] == pytest.approx([0.7, 0.8, 0.9])
    mean, se = res["summary"]["acc"]
    assert mean == pytest.approx(0.8)
    assert se == pytest.approx(0.1 / math.sqrt(3))  # s.d. (ddof 1) = 0.1
    assert res["predictions"] == [{"seed": 2}]
    assert math.isnan(mean_and_se([0.3])[1])


def test_ensemble_runs_trains_once_with_every_seed_and_matches_repeat_runs() -> None:
    calls: list[list[int]] = []

    def train_all(seeds: list[int]) -> list[int]:
        calls.append(seeds)
        return seeds

    res = ensemble_runs(train_all, _run, 3, 2, ["acc"])
    assert calls == [[2, 3, 4]]
    assert res == repeat_runs(_run, 3, 2, ["acc"])
    with pytest.raises(ValueError, match="3 seeds gave 2"):
        ensemble_runs(lambda seeds: seeds[:2], _run, 3, 0, ["acc"])


def test_lvu_members_are_the_single_runs_and_the_result_keeps_its_shape(tmp_path: Path) -> None:
    table = _relationship(tmp_path, np.random.default_rng(5), shuffled=False)
    cfg = LVUConfig(head=HEAD)
    together = lvu_task_runs(tmp_path, "relationship", table, cfg, [3, 4, 5])
    for res, seed in zip(together, [3, 4, 5], strict=True):
        alone = run_lvu_task(tmp_path, "relationship", table, cfg, seed)
        assert res["value"] == pytest.approx(alone["value"])
        assert res["predictions"] == alone["predictions"]
    out = run_lvu(tmp_path, table, tasks=("relationship",), runs=3, seed=3, cfg=cfg)["relationship"]
    assert list(out) == ["metric", "eval_split", "runs", "summary", "predictions"]
    assert [r["top1"] for r in out["runs"]] == pytest.approx([r["value"] for r in together])
    assert out["predictions"] == together[0]["predictions"]
