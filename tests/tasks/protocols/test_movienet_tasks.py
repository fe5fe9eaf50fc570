"""MovieNet place tagging and scene-boundary detection on hand-made MovieNet folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import average_precision_score

from movierep import tables
from movierep.data.benchmarks.movienet import MovieNetMovie, MovieNetShot
from movierep.errors import UserError
from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.protocols.movienet import (
    ShotFeatures,
    fit_multilabel,
    multi_hot,
    multilabel_scores,
    place_segments,
    place_vocabulary,
    run_place_tagging,
    run_sbd,
    sbd_inputs,
    sbd_windows,
)

CFG = ClassifierConfig(hidden=(64, 64), dropout=0.0, steps=300, batch_size=256, lr=3e-3)
SBD_CFG = ClassifierConfig(hidden=(64, 64), dropout=0.0, steps=800, batch_size=256, lr=3e-3)
TAGS = ("bar", "beach", "office", "street")
DIM = 8


def _movienet(root: Path, shuffle_train: bool = False, seed: int = 0) -> pa.Table:
    """Write a MovieNet folder (train 8 / val 1 / test 5 movies); return its shot features.

    Shot features: dims 0-3 the scene's place tags (multi-hot, x2), dim 4 the scene's
    parity (±1), dim 5 marks a scene's last shot, the rest noise, so boundaries and tags are
    learnable. ``shuffle_train`` permutes the training movies' boundary labels and draws
    their tags at random, so that nothing is.
    """
    rng = np.random.default_rng(seed)
    split: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    rows: dict[str, list[object]] = {"movie_id": [], "shot_index": [], "feature": []}
    for m in range(14):
        imdb = f"tt{m:07d}"
        name = "train" if m < 8 else "val" if m == 8 else "test"
        split[name].append(imdb)
        scenes, shot = [], 0
        for s in range(int(rng.integers(6, 10))):
            n = int(rng.integers(2, 7))
            tags = sorted(rng.choice(TAGS, size=int(rng.integers(1, 3)), replace=False).tolist())
            scenes.append((s, shot, shot + n - 1, tags))
            shot += n
        labels: list[int] = []
        anno: list[dict[str, Any]] = []
        for s, a, b, tags in scenes:
            for i in range(a, b + 1):
                f = rng.normal(0, 0.1, DIM)
                f[[TAGS.index(t) for t in tags]] += 2.0
                f[4] += 1.0 if s % 2 else -1.0
                f[5] += 2.0 * (i == b)  # a linear cue of the scene's last shot
                rows["movie_id"].append(imdb)
                rows["shot_index"].append(i)
                rows["feature"].append(f)
                labels.append(int(i == b))
            anno.append(
                {
                    "id": f"{imdb}_{s:04d}",
                    "shot": [a, b],
                    "frame": [30 * a, 30 * b + 29],
                    "place_tag": tags,
                    "action_tag": None,
                }
            )
        labels = labels[:-1]
        if shuffle_train and name == "train":
            labels = rng.permutation(labels).tolist()
            anno = [  # tags drawn independently of the scene (and its features)
                dict(x, place_tag=sorted(rng.choice(TAGS, size=len(x["place_tag"]), replace=False)))
                for x in anno
            ]
        anno.append(
            {
                "id": f"{imdb}_untagged",
                "shot": [0, 0],
                "frame": [0, 29],
                "place_tag": None,
                "action_tag": None,
            }
        )
        for sub, text in (
            (
                "shot_movie318",
                "".join(
                    f"{30 * i} {30 * i + 29} {30 * i + 5} {30 * i + 15} {30 * i + 25}\n"
                    for i in range(shot)
                ),
            ),
            ("label318", "".join(f"{i:04d} {v}\n" for i, v in enumerate(labels))),
        ):
            (root / "scene318" / sub).mkdir(parents=True, exist_ok=True)
            (root / "scene318" / sub / f"{imdb}.txt").write_text(text)
        (root / "annotation").mkdir(exist_ok=True)
        (root / "annotation" / f"{imdb}.json").write_text(json.dumps({"scene": anno}))
    split_all = dict(split, all=[x for v in split.values() for x in v])
    (root / "scene318" / "meta").mkdir(parents=True, exist_ok=True)
    (root / "scene318" / "meta" / "split318.json").write_text(json.dumps(split_all))
    return pa.table(
        {
            "movie_id": rows["movie_id"],
            "shot_index": pa.array(rows["shot_index"], pa.int32()),
            "feature": tables.embedding_array(np.stack(rows["feature"])),  # type: ignore[arg-type]
        }
    )


def test_sbd_windows_on_a_six_shot_movie() -> None:
    assert sbd_windows(6).tolist() == [
        [0, 0, 1, 2],
        [0, 1, 2, 3],
        [1, 2, 3, 4],
        [2, 3, 4, 5],
        [3, 4, 5, 5],
    ]
    assert sbd_windows(1).shape == (0, 4)
    shots = tuple(MovieNetShot(i, 10 * i, 10 * i + 9, (10 * i,) * 3) for i in range(6))
    movie = MovieNetMovie("tt0000001", shots, (0, 1, -1, 0, 1), Path("unused"))
    feats = np.array([[s, 100 + s] for s in range(6)], np.float32)
    table = pa.table(
        {
            "movie_id": ["tt0000001"] * 6,
            "shot_index": list(range(6)),
            "feature": tables.embedding_array(feats),
        }
    )
    x, y = sbd_inputs(movie, ShotFeatures(table))
    assert y.tolist() == [0, 1, 1, 0, 1]
    assert x[0].tolist() == [0, 100, 0, 100, 1, 101, 2, 102]  # shots 0, 0, 1, 2 concatenated
    assert x[2].tolist() == [1, 101, 2, 102, 3, 103, 4, 104]
    assert x[4].tolist() == [3, 103, 4, 104, 5, 105, 5, 105]


def test_sbd_learns_separable_boundaries(tmp_path: Path) -> None:
    feats = _movienet(tmp_path)
    result = run_sbd(tmp_path, feats, SBD_CFG, runs=2, seed=0)
    assert result["summary"]["AP"][0] > 0.95
    assert result["summary"]["mIoU"][0] > 0.8
    assert result["summary"]["Recall@3s"][0] > 0.9
    assert result["fps"] == 24.0 and len(result["runs"]) == 2
    assert len(result["predictions"]) == result["num_test"]


def test_sbd_falls_to_chance_on_shuffled_labels(tmp_path: Path) -> None:
    feats = _movienet(tmp_path, shuffle_train=True, seed=1)
    result = run_sbd(tmp_path, feats, CFG, runs=1, seed=0)
    preds = result["predictions"]
    rate = np.mean([p["label"] for p in preds])
    assert abs(result["summary"]["AP"][0] - rate) < 0.15


def test_place_tagging_learns_tags_and_map_is_sklearn_mean(tmp_path: Path) -> None:
    feats = _movienet(tmp_path)
    result = run_place_tagging(tmp_path, feats, CFG, runs=1, seed=0)
    assert result["vocabulary"] == list(TAGS)
    assert result["summary"]["mAP"][0] > 0.95
    preds = result["predictions"]
    assert len(preds) == result["num_test"]  # untagged segments skipped
    assert not any(p["scene_id"].endswith("untagged") for p in preds)
    y = multi_hot([p["place_tag"] for p in preds], TAGS)
    s = np.array([p["scores"] for p in preds])
    expected = np.mean([average_precision_score(y[:, c], s[:, c]) for c in range(len(TAGS))])
    assert result["runs"][0]["mAP"] == pytest.approx(expected)


def test_place_tagging_falls_to_chance_on_shuffled_tags(tmp_path: Path) -> None:
    feats = _movienet(tmp_path, shuffle_train=True, seed=2)
    result = run_place_tagging(tmp_path, feats, CFG, runs=1, seed=0)
    preds = result["predictions"]
    y = multi_hot([p["place_tag"] for p in preds], TAGS)
    assert abs(result["summary"]["mAP"][0] - y.mean()) < 0.2


def test_multilabel_head_overfits_and_not_on_shuffled() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((300, 5)) < 0.3).astype(np.int64)
    x = np.concatenate([3 * y + rng.normal(0, 0.3, y.shape), rng.normal(0, 1, (300, 3))], 1)
    scores = multilabel_scores(fit_multilabel(x[:200], y[:200], CFG), x[200:])
    aps = [average_precision_score(y[200:, c], scores[:, c]) for c in range(5)]
    assert min(aps) > 0.95
    shuffled = y[:200][rng.permutation(200)]
    scores = multilabel_scores(fit_multilabel(x[:200], shuffled, CFG), x[200:])
    aps = [average_precision_score(y[200:, c], scores[:, c]) for c in range(5)]
    assert abs(np.mean(aps) - y[200:].mean()) < 0.15
    assert place_vocabulary([("a", "a"), ("b",), ("a",)], min_count=2) == ["a"]


def test_missing_shot_feature_names_table_and_shot(tmp_path: Path) -> None:
    feats = _movienet(tmp_path / "mn")
    rows = feats.to_pylist()
    test_movie = json.loads((tmp_path / "mn/scene318/meta/split318.json").read_text())["test"][0]
    drop = next(
        i for i, r in enumerate(rows) if r["movie_id"] == test_movie and r["shot_index"] == 3
    )
    path = tables.write_table(
        tmp_path / "feats.parquet", feats.take([i for i in range(len(rows)) if i != drop])
    )
    for run in (run_sbd, run_place_tagging):
        with pytest.raises(UserError, match=rf"feats\.parquet.*'{test_movie}', shot 3"):
            run(tmp_path / "mn", path, CFG, runs=1)
    gone = feats.filter(pa.compute.not_equal(feats.column("movie_id"), test_movie))
    with pytest.raises(UserError, match=rf"shot features table.*'{test_movie}'"):
        run_sbd(tmp_path / "mn", gone, CFG, runs=1)


def test_several_split_keys_are_scored_together() -> None:
    from movierep.errors import UserError
    from movierep.tasks.protocols.movienet import split_movies

    split = {"train": ["tt1"], "val": ["tt2", "tt3"], "test": ["tt4"]}
    assert split_movies(split, "test") == ["tt4"]
    assert split_movies(split, ("val", "test")) == ["tt2", "tt3", "tt4"]
    with pytest.raises(UserError, match="no split named 'dev'"):
        split_movies(split, ["dev"])


def test_place_tagging_reads_segment_embeddings_of_place_segments(tmp_path: Path) -> None:
    """A scene encoder's segment table: one row per tagged segment, looked up by its range."""
    feats = _movienet(tmp_path)
    segments = place_segments(tmp_path)
    shots = ShotFeatures(feats)
    anno = json.loads((tmp_path / "annotation" / "tt0000000.json").read_text())["scene"]
    first = segments.slice(0, 1).to_pylist()[0]
    assert first == {"movie_id": "tt0000000", "start_shot": 0, "end_shot": anno[0]["shot"][1] + 1}
    assert len(segments) == sum(len(json.loads(p.read_text())["scene"]) - 1
                                for p in (tmp_path / "annotation").iterdir())  # fmt: skip
    # the segments' mean shot features as "scene embeddings": the same items, the same mAP
    means = [
        shots.get(r["movie_id"], np.arange(r["start_shot"], r["end_shot"])).mean(0)
        for r in segments.to_pylist()
    ]
    table = segments.append_column("feature", tables.embedding_array(np.stack(means)))
    by_segment = run_place_tagging(tmp_path, table, CFG, runs=1, seed=0)
    by_shots = run_place_tagging(tmp_path, feats, CFG, runs=1, seed=0)
    assert by_segment["num_test"] == by_shots["num_test"] > 0
    assert by_segment["summary"]["mAP"][0] == pytest.approx(by_shots["summary"]["mAP"][0])
    # a segment embedding is used as it is, not re-pooled: constant rows learn nothing
    flat = segments.append_column("feature", tables.embedding_array(np.ones((len(segments), 4))))
    tags = run_place_tagging(tmp_path, flat, CFG, runs=1, seed=0)
    assert tags["summary"]["mAP"][0] < by_shots["summary"]["mAP"][0] - 0.3
    with pytest.raises(UserError, match=r"scene features table: no scene embedding of movie "):
        run_place_tagging(tmp_path, table.slice(1), CFG, runs=1)


def test_paper_profiles_are_the_supplements_heads() -> None:
    """M2S supplement §1.3 and Table 1, read into configs (SGD, epochs, batch, dropout)."""
    from movierep.tasks.protocols.lvu import PAPER_HEADS, PROFILES
    from movierep.tasks.protocols.movienet import PLACE_PROFILES, SBD_PROFILES

    place, sbd = PLACE_PROFILES["paper"], SBD_PROFILES["paper"]
    assert (place.optimizer, place.lr, place.dropout, place.epochs, place.batch_size) == (
        "sgd", 5.0, 0.25, 200, 512)  # fmt: skip
    assert (sbd.optimizer, sbd.lr, sbd.dropout, sbd.epochs, sbd.batch_size) == (
        "sgd", 0.03, 0.8, 800, 4096)  # fmt: skip
    assert place.hidden == sbd.hidden == (512, 512)
    table1 = {  # task: (lr, batch, epochs, dropout)
        "scene": (0.1, 64, 400, 0.25), "director": (0.1, 16, 400, 0.875),
        "relationship": (0.5, 16, 400, 0.25), "way_speaking": (0.01, 32, 400, 0.75),
        "writer": (0.1, 16, 400, 0.75), "year": (0.1, 64, 400, 0.75),
        "genre": (0.01, 128, 400, 0.25), "view_count": (0.01, 16, 500, 0.75),
        "like_ratio": (0.1, 16, 500, 0.5),
    }  # fmt: skip
    got = {t: (h.lr, h.batch_size, h.epochs, h.dropout) for t, h in PAPER_HEADS.items()}
    assert got == table1
    paper, cpu = PROFILES["paper"], PROFILES["cpu"]
    assert paper.head_for("genre") is PAPER_HEADS["genre"]
    assert cpu.head_for("genre") == cpu.head and cpu.head.optimizer == "adamw"
    assert PAPER_HEADS["director"].num_steps(160) == 400 * 10
