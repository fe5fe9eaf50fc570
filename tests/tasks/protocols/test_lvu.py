"""LVU heads on hand-written lvu_1.0 files (real header format) and synthetic feature tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import mean_squared_error

from movierep.data.benchmarks.lvu import VIEW_COUNT_OFFSET, load_lvu_task
from movierep.errors import UserError
from movierep.tables import embedding_array, write_table
from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.protocols.lvu import LVUConfig, run_lvu, run_lvu_task, video_features

HEAD = ClassifierConfig(hidden=(32, 32), dropout=0.0, steps=300, batch_size=32, lr=3e-3)
DIM = 8


def _vid(k: int) -> str:
    return f"-v{k:09d}"  # 11 chars, leading '-' as real ids can have


def _write(root: Path, task: str, split: str, header: str, rows: list[str]) -> None:
    folder = root / "lvu_1.0" / task
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.csv").write_text("\n".join([header, *rows]) + "\n")


def _classification(root: Path, task: str, labels: dict[str, list[int]]) -> None:
    k = 0
    for split, ys in labels.items():
        rows = []
        for y in ys:
            rows.append(f"{y} class{y} {_vid(k)} tt{1000 + k}")
            k += 1
        _write(root, task, split, "class_id class_name youtube_id imdb_id", rows)


def _table(vectors: list[np.ndarray], rows_per_video: int, rng: np.random.Generator) -> pa.Table:
    ids, feats = [], []
    for k, v in enumerate(vectors):
        for _ in range(rows_per_video):
            ids.append(_vid(k))
            feats.append(v + 0.3 * rng.normal(size=DIM))
    return pa.table({"movie_id": pa.array(ids), "feature": embedding_array(np.array(feats))})


def _relationship(root: Path, rng: np.random.Generator, shuffled: bool) -> pa.Table:
    ys = rng.integers(0, 2, 80)
    _classification(root, "relationship", {"train": list(ys[:40]), "test": list(ys[40:])})
    centres = rng.normal(size=(2, DIM)) * 2
    signal = rng.permutation(ys) if shuffled else ys
    return _table([centres[y] for y in signal], 3, rng)


@pytest.mark.parametrize("aggregate", ["predictions", "features"])
def test_classification_separable_and_chance(tmp_path: Path, aggregate: str) -> None:
    cfg = LVUConfig(head=HEAD, aggregate=aggregate)
    rng = np.random.default_rng(0)
    good = run_lvu_task(
        tmp_path / "a", "relationship", _relationship(tmp_path / "a", rng, False), cfg
    )
    assert good["metric"] == "top1" and good["eval_split"] == "test"
    assert good["value"] >= 0.9
    preds = good["predictions"]
    assert len(preds) == 40 and {"video_id", "prediction", "target"} <= preds[0].keys()
    assert good["value"] == pytest.approx(np.mean([p["prediction"] == p["target"] for p in preds]))
    bad = run_lvu_task(
        tmp_path / "b", "relationship", _relationship(tmp_path / "b", rng, True), cfg
    )
    test = load_lvu_task(tmp_path / "b", "relationship", "test")
    majority = max(np.bincount([i.label or 0 for i in test])) / len(test)
    assert bad["value"] <= majority + 0.2


def test_regression_mse_matches_sklearn(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    t = rng.normal(0, 1.5, 90)
    views = np.maximum(1, np.round(np.exp(t + VIEW_COUNT_OFFSET))).astype(int)
    rows = [f"{v} {_vid(k)} tt{2000 + k}" for k, v in enumerate(views)]
    for split, part in (("train", rows[:60]), ("test", rows[60:])):
        _write(tmp_path, "view_count", split, "view_count youtube_id imdb_id", part)
    targets = np.log(views) - VIEW_COUNT_OFFSET
    direction = rng.normal(size=DIM)
    table = _table([y * direction for y in targets], 2, rng)
    out = run_lvu_task(tmp_path, "view_count", table, LVUConfig(head=HEAD), seed=0)
    assert out["metric"] == "mse"
    pred = np.array([p["prediction"] for p in out["predictions"]])
    truth = np.array([p["target"] for p in out["predictions"]])
    np.testing.assert_allclose(truth, targets[60:])
    assert out["value"] == pytest.approx(mean_squared_error(truth, pred))
    assert out["value"] < 0.2 * targets[60:].var()
    assert math.isfinite(out["value"])


def test_falls_back_to_val_and_repeats_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    ys = rng.integers(0, 3, 30)
    _classification(tmp_path, "scene", {"train": list(ys[:20]), "val": list(ys[20:])})
    table = _table([np.eye(DIM)[y] * 3 for y in ys], 2, rng)
    path = write_table(tmp_path / "features.parquet", table)
    cfg = LVUConfig(head=ClassifierConfig(hidden=(16, 16), dropout=0.0, steps=50))
    result = run_lvu(tmp_path, path, tasks=("scene",), runs=2, seed=0, cfg=cfg)
    scene = result["scene"]
    assert scene["eval_split"] == "val" and scene["metric"] == "top1"
    assert len(scene["runs"]) == 2 and set(scene["summary"]) == {"top1"}
    assert len(scene["predictions"]) == 10


def test_missing_video_names_table_and_video(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    table = _relationship(tmp_path, rng, False)
    keep = [i for i, m in enumerate(table.column("movie_id").to_pylist()) if m != _vid(41)]
    path = write_table(tmp_path / "feats.parquet", table.take(pa.array(keep)))
    with pytest.raises(UserError, match=r"feats\.parquet.*-v000000041"):
        run_lvu_task(tmp_path, "relationship", path, LVUConfig(head=HEAD))
    with pytest.raises(UserError, match="-v000000041"):
        video_features(table.take(pa.array(keep)), [_vid(0), _vid(41)])


def test_video_features_are_row_means() -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    table = pa.table({"movie_id": ["b", "a", "b", "a"], "feature": embedding_array(x)})
    np.testing.assert_allclose(
        video_features(table, ["a", "b"]), [x[[1, 3]].mean(0), x[[0, 2]].mean(0)]
    )
