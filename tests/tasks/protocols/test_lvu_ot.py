"""LVU with the Object Transformer: the heads' learning, pretraining through fit, rank summary."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from movierep.data.benchmarks.lvu import VIEW_COUNT_OFFSET
from movierep.errors import UserError
from movierep.pretrain.masked_instances import MaskedInstancePrediction
from movierep.tables import embedding_array, write_table
from movierep.tasks.protocols.lvu_ot import (
    OTConfig,
    build_model,
    pretrain_instances,
    rank_summary,
    run_lvu_ot,
    run_ot_task,
)
from movierep.tasks.protocols.lvu_spans import TokenTables, span_batches

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


def test_masked_instance_pretraining_through_fit_is_the_hand_written_loop(tmp_path):
    """fit (AdamW on every parameter, LVU's linear schedule) gives the old loop's weights."""
    rng = np.random.default_rng(4)
    data = TokenTables(_instances(rng.integers(0, 2, 6), rng, seconds=70), None)
    ids = [_vid(k) for k in range(6)]
    cfg = OTConfig(**{**vars(CFG), "dropout": 0.1, "batch_size": 4, "pretrain_steps": 9})
    got = pretrain_instances(data, ids, cfg, seed=5, out_dir=tmp_path / "pre")
    assert (tmp_path / "pre" / "last" / "model.safetensors").is_file()
    assert (tmp_path / "pre" / "metrics.jsonl").is_file()

    torch.manual_seed(5)  # the loop pretrain_instances had before it trained through fit
    gen = torch.Generator().manual_seed(5)
    model = build_model(data, 1, cfg)
    objective = MaskedInstancePrediction(model, cfg.masking, 5)
    opt = torch.optim.AdamW(objective.parameters(), lr=cfg.pretrain_lr, weight_decay=0.01)
    w = max(1, round(cfg.warmup * 9))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: (i + 1) / w if i < w else max(0.0, (9 - i) / max(1, 9 - w))
    )
    videos = [data.video(v) for v in ids]
    batches = span_batches(videos, 4, cfg.max_instances, np.random.default_rng(5), gen)
    objective.train()
    for _ in range(9):
        loss = objective(next(batches)[1])["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    want = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, msg=k)
