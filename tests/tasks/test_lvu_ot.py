"""LVU with the Object Transformer: spans, token batches, the heads' learning, rank summary."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from movierep.data.benchmarks.lvu import VIEW_COUNT_OFFSET
from movierep.errors import UserError
from movierep.tables import embedding_array, write_table
from movierep.tasks.lvu_ot import (
    OTConfig,
    TokenTables,
    VideoTokens,
    collate_spans,
    rank_summary,
    run_lvu_ot,
    run_ot_task,
)

from .test_lvu import _classification, _vid, _write

DIM = 8
CFG = OTConfig(hidden=32, layers=1, heads=2, dropout=0.0, lr=3e-3, epochs=6, eval_stride=10)


def _instances(signal: np.ndarray, rng: np.random.Generator, seconds: int = 20) -> pa.Table:
    """Two tracklets per video, one box each second; features carry the video's class."""
    centres = rng.normal(size=(int(signal.max()) + 1, DIM)) * 2
    cols: dict[str, list] = {k: [] for k in ("movie_id", "second", "shot", "link")}
    boxes, feats = [], []
    for k, y in enumerate(signal):
        for s in range(seconds):
            for link in range(2):
                cols["movie_id"].append(_vid(k))
                cols["second"].append(s)
                cols["shot"].append(s // 7)
                cols["link"].append(link + 2 * (s // 7))
                boxes.append([0.1 + 0.4 * link, 0.2, 0.4 + 0.4 * link, 0.9])
                feats.append(centres[y] + rng.normal(size=DIM))
    b = np.array(boxes, np.float32)
    return pa.table(
        {
            **{k: pa.array(v) for k, v in cols.items()},
            **{c: pa.array(b[:, i]) for i, c in enumerate(("x1", "y1", "x2", "y2"))},
            "feature": embedding_array(np.array(feats)),
        }
    )


def _events(signal: np.ndarray, rng: np.random.Generator, seconds: int = 20) -> pa.Table:
    centres = rng.normal(size=(int(signal.max()) + 1, DIM)) * 2
    ids, starts, feats = [], [], []
    for k, y in enumerate(signal):
        for s in range(0, seconds, 2):
            ids.append(_vid(k))
            starts.append(float(s))
            feats.append(centres[y] + rng.normal(size=DIM))
    return pa.table(
        {
            "movie_id": pa.array(ids),
            "start_time": pa.array(starts),
            "end_time": pa.array([s + 2.0 for s in starts]),
            "feature": embedding_array(np.array(feats)),
        }
    )


@pytest.mark.parametrize("pathway", ["instances", "scene", "both"])
def test_learns_a_separable_task_and_not_shuffled_labels(tmp_path, pathway):
    rng = np.random.default_rng(0)
    ys = rng.integers(0, 2, 60)
    _classification(tmp_path, "relationship", {"train": list(ys[:36]), "test": list(ys[36:])})
    scores = {}
    for shuffled in (False, True):
        signal = rng.permutation(ys) if shuffled else ys
        inst = _instances(signal, rng) if pathway != "scene" else None
        scene = _events(signal, rng) if pathway != "instances" else None
        data = TokenTables(inst, scene)
        res = run_ot_task(tmp_path, "relationship", data, CFG, seed=0)
        scores[shuffled] = res["value"]
        assert res["metric"] == "top1" and len(res["predictions"]) == 24
    assert scores[False] >= 0.9
    assert scores[True] <= 0.75  # chance is about 0.5 on 24 test videos


def test_regression_with_masked_instance_pretraining(tmp_path):
    rng = np.random.default_rng(1)
    t = rng.normal(0, 1.5, 60)
    views = np.maximum(1, np.round(np.exp(t + VIEW_COUNT_OFFSET))).astype(int)
    rows = [f"{v} {_vid(k)} tt{2000 + k}" for k, v in enumerate(views)]
    for split, part in (("train", rows[:40]), ("test", rows[40:])):
        _write(tmp_path, "view_count", split, "view_count youtube_id imdb_id", part)
    targets = np.log(views) - VIEW_COUNT_OFFSET
    classes = np.digitize(targets, np.quantile(targets, [0.25, 0.5, 0.75]))
    inst = _instances(classes, rng)
    cfg = OTConfig(**{**vars(CFG), "epochs": 10, "pretrain_steps": 20})
    out = run_lvu_ot(tmp_path, inst, None, tasks=("view_count",), runs=2, cfg=cfg)
    res = out["view_count"]
    assert res["metric"] == "mse" and len(res["runs"]) == 2
    mean, se = res["summary"]["mse"]
    assert np.isfinite(se) and mean < 0.5 * targets[40:].var()
    pred = np.array([p["prediction"] for p in res["predictions"]])
    truth = np.array([p["target"] for p in res["predictions"]])
    assert res["runs"][0]["mse"] == pytest.approx(np.mean((pred - truth) ** 2))


def _video(seconds: np.ndarray, links: np.ndarray, shots: np.ndarray) -> VideoTokens:
    n = len(seconds)
    return VideoTokens(
        inst_second=seconds,
        inst_box=np.tile(np.array([[0.0, 0.0, 0.5, 0.5]], np.float32), (n, 1)),
        inst_shot=shots,
        inst_link=links,
        inst_feat=np.arange(n, dtype=np.float32)[:, None].repeat(3, 1),
        scene_second=np.array([1, 51, 99]),
        scene_feat=np.ones((3, 2), np.float32),
    )


def test_spans_follow_lvu_enumeration():
    v = _video(np.arange(100), np.zeros(100, np.int64), np.zeros(100, np.int64))
    spans = v.spans(1)
    assert len(spans) == 41 and spans[0] == (0, 59) and spans[-1] == (40, 99)
    assert v.spans(10) == [(0, 59), (10, 69), (20, 79), (30, 89), (40, 99)]
    short = _video(np.arange(5, 30), np.zeros(25, np.int64), np.zeros(25, np.int64))
    short.scene_second = np.array([6])
    assert short.spans(1) == [(5, 29)]  # shorter than 60 s: one span, the whole video


def test_collate_renumbers_links_shots_and_seconds():
    v = _video(np.array([10, 10, 11, 12, 70]), np.array([7, 9, 7, 9, 4]), np.array([3, 3, 4, 4, 6]))
    b = collate_spans([v], [(10, 69)], max_instances=3)
    assert b.inst_valid.tolist() == [[True, True, True]]  # second 70 is outside; cap 3
    assert b.inst_second.tolist() == [[0, 0, 1]]
    assert b.inst_link.tolist() == [[0, 1, 0]]  # first appearance order
    assert b.inst_shot.tolist() == [[0, 0, 1]] and b.span_shots.tolist() == [2]
    assert b.scene_second[0][b.scene_valid[0]].tolist() == [41]  # event at 51 s
    assert b.span_seconds.tolist() == [60]


def test_rank_summary_counts_top1_and_mean_rank():
    means = {
        "OT": {"scene": 0.5, "year": 0.3, "view_count": 4.0},
        "Ours": {"scene": 0.6, "year": 0.3, "view_count": 3.5},
        "OT++": {"scene": 0.7, "year": 0.2, "view_count": 3.0},
    }
    ranks = rank_summary(means, {"view_count"})
    assert ranks["OT++"] == {"top1": 2.0, "mean_rank": pytest.approx((1 + 3 + 1) / 3)}
    assert ranks["OT"] == {"top1": 1.0, "mean_rank": pytest.approx((3 + 1 + 3) / 3)}  # tie on year
    assert ranks["Ours"] == {"top1": 1.0, "mean_rank": pytest.approx((2 + 1 + 2) / 3)}


def test_missing_video_names_the_table(tmp_path):
    rng = np.random.default_rng(2)
    ys = rng.integers(0, 2, 20)
    _classification(tmp_path, "relationship", {"train": list(ys[:10]), "test": list(ys[10:])})
    table = _instances(ys, rng, seconds=3)
    keep = [i for i, m in enumerate(table.column("movie_id").to_pylist()) if m != _vid(13)]
    path = write_table(tmp_path / "inst.parquet", table.take(pa.array(keep)))
    with pytest.raises(UserError, match=r"inst\.parquet.*-v000000013"):
        run_ot_task(tmp_path, "relationship", TokenTables(path, None), CFG)
    with pytest.raises(UserError, match="instance or scene"):
        TokenTables(None, None)


def test_features_are_standardized_per_dimension():
    rng = np.random.default_rng(3)
    inst = _instances(rng.integers(0, 2, 6), rng, seconds=4)
    raw = TokenTables(inst, None, standardize=False).inst_x
    z = TokenTables(inst, None).inst_x
    np.testing.assert_allclose(z, (raw - raw.mean(0)) / (raw.std(0) + 1e-6), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-3)
