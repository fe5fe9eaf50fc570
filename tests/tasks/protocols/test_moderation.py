"""Moderation head on a hand-built corpus folder and synthetic event-feature tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.metrics import average_precision_score

from movierep.errors import UserError
from movierep.tables import embedding_array, read_table, write_table
from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.protocols.moderation import (
    HELD_OUT_SPLITS,
    ModerationConfig,
    clip_features,
    own_clip_features,
    run_moderation,
)

CLASSES = ["violence", "intimacy", "drug_use", "none"]
CFG = ModerationConfig(
    head=ClassifierConfig(hidden=(32, 32), dropout=0.0, steps=300, batch_size=32, lr=3e-3),
    eval_splits=HELD_OUT_SPLITS,
)
DIM = 8
CLIPS = 10  # per movie, 10 s each = 5 events of 2 s


def _corpus(root: Path, rng: np.random.Generator, shuffled: bool) -> pa.Table:
    """A corpus folder with 12 movies (8 train, 2 val, 2 test); returns its event features."""
    root.mkdir(parents=True)
    (root / "corpus.json").write_text(json.dumps({"classes": {"moderation": CLASSES}}))
    movies = [f"m{k:02d}" for k in range(12)]
    splits = ["train"] * 8 + ["val"] * 2 + ["test"] * 2
    write_table(
        root / "catalog.parquet",
        pa.table({"movie_id": movies, "path": [f"{m}.mp4" for m in movies], "split": splits}),
    )
    clip, movie, start, end, label = [], [], [], [], []
    for m in movies:
        for k in range(CLIPS):
            clip.append(f"{m}_{k:04d}")
            movie.append(m)
            start.append(10.0 * k)
            end.append(10.0 * k + 10.0)
            label.append(CLASSES[int(rng.integers(0, 4))])
    write_table(
        root / "moderation.parquet",
        pa.table(
            {
                "clip_id": clip,
                "movie_id": movie,
                "start_time": start,
                "end_time": end,
                "label": label,
            }
        ),
    )
    signal = list(rng.permutation(label)) if shuffled else label
    centres = {c: v for c, v in zip(CLASSES, rng.normal(size=(4, DIM)) * 2, strict=True)}
    ids, t0, feats = [], [], []
    for m, s, lab in zip(movie, start, signal, strict=True):
        for e in range(5):
            ids.append(m)
            t0.append(s + 2.0 * e)
            feats.append(centres[lab] + 0.5 * rng.normal(size=DIM))
    return pa.table(
        {
            "movie_id": ids,
            "start_time": t0,
            "end_time": np.array(t0) + 2.0,
            "feature": embedding_array(np.array(feats)),
        }
    )


def test_separable_and_ap_matches_sklearn(tmp_path: Path) -> None:
    table = _corpus(tmp_path / "c", np.random.default_rng(0), shuffled=False)
    out = run_moderation(tmp_path / "c", table, runs=2, seed=0, cfg=CFG)
    assert out["classes"] == CLASSES and out["n_train"] == 80 and out["n_eval"] == 40
    first = out["runs"][0]
    assert first["mean"] >= 0.9
    preds = out["predictions"]
    y = np.array([CLASSES.index(p["label"]) for p in preds])
    s = np.array([[p["scores"][c] for c in CLASSES] for p in preds])
    for c, name in enumerate(CLASSES):
        assert first[name] == pytest.approx(average_precision_score(y == c, s[:, c]))
    assert first["mean"] == pytest.approx(np.mean([first[c] for c in CLASSES[:3]]))
    assert set(out["summary"]) == {*CLASSES, "mean"} and len(out["runs"]) == 2


def test_shuffled_labels_fall_to_chance(tmp_path: Path) -> None:
    table = _corpus(tmp_path / "c", np.random.default_rng(1), shuffled=True)
    out = run_moderation(tmp_path / "c", table, runs=1, cfg=CFG)
    assert out["runs"][0]["mean"] < 0.5  # prevalence ~0.25 per class


def test_bad_feature_tables(tmp_path: Path) -> None:
    table = _corpus(tmp_path / "c", np.random.default_rng(2), shuffled=False)
    path = write_table(tmp_path / "no_times.parquet", table.drop_columns(["start_time"]))
    with pytest.raises(UserError, match=r"no_times\.parquet.*start_time"):
        run_moderation(tmp_path / "c", path, runs=1, cfg=CFG)
    gap = table.filter(pc.not_equal(table.column("movie_id"), "m09"))
    path = write_table(tmp_path / "gap.parquet", gap)
    with pytest.raises(UserError, match=r"gap\.parquet.*'m09'.*m09_0000"):
        run_moderation(tmp_path / "c", path, runs=1, cfg=CFG)


def test_clip_feature_is_mean_of_overlapping_rows() -> None:
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    table = pa.table(
        {
            "movie_id": ["a", "a", "a", "b"],
            "start_time": [0.0, 2.0, 4.0, 0.0],
            "end_time": [2.0, 4.0, 6.0, 2.0],
            "feature": embedding_array(x),
        }
    )
    got = clip_features(table, ["a", "b"], np.array([1.0, 0.0]), np.array([4.0, 1.0]))
    np.testing.assert_allclose(got, [x[:2].mean(0), x[3]])  # [1,4) meets [0,2),[2,4) only


def _clip_table(root: Path, rng: np.random.Generator) -> pa.Table:
    """A clip features table of the corpus at ``root``: one row per clip, shuffled, + extras."""
    clips = read_table(root / "moderation.parquet")
    labels = clips.column("label").to_pylist()
    centres = {c: v for c, v in zip(CLASSES, rng.normal(size=(4, DIM)) * 2, strict=True)}
    x = np.array([centres[lab] + 0.5 * rng.normal(size=DIM) for lab in labels])
    order = rng.permutation(len(labels))
    ids = clips.column("clip_id").to_pylist()
    return pa.table(
        {
            "clip_id": [ids[i] for i in order] + ["elsewhere_0000"],
            "feature": embedding_array(np.concatenate([x[order], rng.normal(size=(1, DIM))])),
        }
    )


def test_a_clip_table_gives_each_clip_its_own_row(tmp_path: Path) -> None:
    _corpus(tmp_path / "c", np.random.default_rng(3), shuffled=False)
    table = _clip_table(tmp_path / "c", np.random.default_rng(4))
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    small = pa.table({"clip_id": ["b", "a", "c"], "feature": embedding_array(x)})
    np.testing.assert_array_equal(own_clip_features(small, ["a", "c", "a"]), x[[1, 2, 1]])
    out = run_moderation(tmp_path / "c", table, runs=1, cfg=CFG)  # no times: read by clip_id
    assert out["n_eval"] == 40 and out["runs"][0]["mean"] >= 0.9


def test_a_clip_missing_from_a_clip_table_is_named(tmp_path: Path) -> None:
    _corpus(tmp_path / "c", np.random.default_rng(5), shuffled=False)
    table = _clip_table(tmp_path / "c", np.random.default_rng(6))
    gap = table.filter(pc.not_equal(table.column("clip_id"), "m10_0003"))
    path = write_table(tmp_path / "clips.parquet", gap)
    with pytest.raises(UserError, match=r"clips\.parquet.*'m10_0003'"):
        run_moderation(tmp_path / "c", path, runs=1, cfg=CFG)
    twice = pa.concat_tables([table, table.slice(0, 1)])
    with pytest.raises(UserError, match="two rows"):
        run_moderation(tmp_path / "c", twice, runs=1, cfg=CFG)


def test_the_default_scores_the_test_clips_only(tmp_path: Path) -> None:
    assert ModerationConfig().eval_splits == ("test",)
    table = _corpus(tmp_path / "c", np.random.default_rng(7), shuffled=False)
    cfg = ModerationConfig(head=CFG.head)
    out = run_moderation(tmp_path / "c", table, runs=1, cfg=cfg)
    assert out["eval_splits"] == ["test"] and out["n_train"] == 80 and out["n_eval"] == 20
    assert {p["clip_id"][:3] for p in out["predictions"]} == {"m10", "m11"}  # the test movies
    with pytest.raises(UserError, match="not train"):
        run_moderation(
            tmp_path / "c", table, runs=1, cfg=ModerationConfig(eval_splits=("val", "train"))
        )
