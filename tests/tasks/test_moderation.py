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
from movierep.tables import embedding_array, write_table
from movierep.tasks.feature_classifier import ClassifierConfig
from movierep.tasks.moderation import ModerationConfig, clip_features, run_moderation

CLASSES = ["violence", "intimacy", "drug_use", "none"]
CFG = ModerationConfig(
    head=ClassifierConfig(hidden=(32, 32), dropout=0.0, steps=300, batch_size=32, lr=3e-3)
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
