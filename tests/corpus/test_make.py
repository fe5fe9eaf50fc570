"""The tiny corpus end to end: layout, ground-truth consistency, videos, determinism."""

from __future__ import annotations

import csv
import itertools
import re
from collections import defaultdict
from pathlib import Path

import av
import pyarrow.parquet as pq
import pytest

from movierep.corpus import make_corpus
from movierep.corpus.vocab import MODERATION, MODERATION_VERBS, RELATIONS, VERBS
from movierep.data.corpus import Corpus

CATALOG_COLUMNS = [
    "movie_id", "path", "title", "imdb_id", "genre", "director", "writer", "year", "synopsis",
    "like_count", "dislike_count", "like_ratio", "view_count", "relationship", "duration_s",
    "fps", "width", "height", "num_frames", "split",
]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tiny_corpus: Path) -> Corpus:
    return Corpus(tiny_corpus)


def _by_movie(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        out[row["movie_id"]].append(row)
    return out


def test_layout_and_catalog(corpus: Corpus) -> None:
    root = corpus.root
    for name in ("corpus.json", "catalog.parquet", "watch_log.parquet", "moderation.parquet"):
        assert (root / name).is_file()
    catalog = corpus.catalog
    assert catalog.column_names[: len(CATALOG_COLUMNS)] == CATALOG_COLUMNS
    assert catalog.num_rows == 4
    for row in catalog.to_pylist():
        assert corpus.movie_path(row["movie_id"]).is_file()
        assert row["num_frames"] == round(row["duration_s"] * row["fps"])
        assert 0.0 < row["like_ratio"] < 1.0
        assert row["like_ratio"] == pytest.approx(
            row["like_count"] / (row["like_count"] + row["dislike_count"])
        )
        assert re.fullmatch(r"tt\d{7}", row["imdb_id"])
        assert row["genre"] in corpus.classes("genres")
        assert row["relationship"] in corpus.classes("relationships")
        assert row["director"] in corpus.classes("directors")
        assert len(row["synopsis"].split()) > 15
    assert {"train", "val", "test"} == set(catalog.column("split").to_pylist())
    log = corpus.watch_log
    assert set(log.column("movie_id").to_pylist()) <= set(corpus.movie_ids)


def test_shots_tile_each_movie_and_scenes_group_them(corpus: Corpus) -> None:
    catalog = {r["movie_id"]: r for r in corpus.catalog.to_pylist()}
    shots = _by_movie(corpus.truth("shots").to_pylist())
    scenes = _by_movie(corpus.truth("scenes").to_pylist())
    for movie, rows in shots.items():
        rows.sort(key=lambda r: r["shot_index"])
        assert rows[0]["start_frame"] == 0
        assert rows[-1]["end_frame"] == catalog[movie]["num_frames"]
        for a, b in itertools.pairwise(rows):
            assert a["end_frame"] == b["start_frame"]
            assert a["end_frame"] > a["start_frame"]
        assert rows[0]["transition_in"] == "fade"
        assert {r["transition_in"] for r in rows} <= {"cut", "dissolve", "fade"}
        for scene in scenes[movie]:
            inside = rows[scene["start_shot"] : scene["end_shot"] + 1]
            assert {r["scene_index"] for r in inside} == {scene["scene_index"]}
            assert inside[0]["start_frame"] == scene["start_frame"]
            assert inside[-1]["end_frame"] == scene["end_frame"]
            assert scene["place"] in corpus.classes("places")


def test_events_are_consecutive_2s_windows_with_roles(corpus: Corpus) -> None:
    catalog = {r["movie_id"]: r for r in corpus.catalog.to_pylist()}
    characters = {
        (r["movie_id"], r["character_id"]): r for r in corpus.truth("characters").to_pylist()
    }
    scenes = {(r["movie_id"], r["scene_index"]): r for r in corpus.truth("scenes").to_pylist()}
    for movie, rows in _by_movie(corpus.truth("events").to_pylist()).items():
        assert [r["event_index"] for r in rows] == list(range(len(rows)))
        assert [r["start_time"] for r in rows] == [2.0 * i for i in range(len(rows))]
        assert all(r["end_time"] - r["start_time"] == 2.0 for r in rows)
        assert rows[-1]["end_time"] == catalog[movie]["duration_s"]
        for r in rows:
            assert r["verb"] in VERBS
            scene = scenes[(movie, r["scene_index"])]
            assert scene["start_time"] <= r["start_time"] < scene["end_time"]
            assert r["place"] == scene["place"]
            assert r["arg0"] == characters[(movie, r["arg0_id"])]["description"]
            assert r["arg0_id"] in scene["characters"]
            if r["arg1_id"] is not None:
                assert r["arg1_id"] != r["arg0_id"]
                assert r["arg1_id"] in scene["characters"]
                assert r["arg1"] == characters[(movie, r["arg1_id"])]["description"]


def test_event_links_stay_inside_a_scene_and_a_10s_window(corpus: Corpus) -> None:
    events = {(r["movie_id"], r["event_index"]): r for r in corpus.truth("events").to_pylist()}
    links = corpus.truth("event_links").to_pylist()
    assert links, "the tiny corpus should contain causal links"
    for link in links:
        src = events[(link["movie_id"], link["src_event"])]
        dst = events[(link["movie_id"], link["dst_event"])]
        assert 0 < link["dst_event"] - link["src_event"] <= 4
        assert src["scene_index"] == dst["scene_index"]
        assert link["relation"] in RELATIONS


def test_boxes_lie_inside_frames_of_the_scene(corpus: Corpus) -> None:
    catalog = {r["movie_id"]: r for r in corpus.catalog.to_pylist()}
    boxes = corpus.truth("boxes")
    assert boxes.num_rows > 1000
    cols = {name: boxes.column(name).to_numpy() for name in ("frame", "x1", "y1", "x2", "y2")}
    width, height = catalog["m0000"]["width"], catalog["m0000"]["height"]
    assert (cols["x1"] >= 0).all()
    assert (cols["x2"] <= width).all()
    assert (cols["y1"] >= 0).all()
    assert (cols["y2"] <= height).all()
    assert (cols["x2"] - cols["x1"] >= 2).all()
    assert (cols["y2"] - cols["y1"] >= 2).all()
    # Every box belongs to a character of the scene playing at that frame.
    scenes = corpus.truth("scenes").to_pylist()
    fps = catalog["m0000"]["fps"]
    for row in boxes.slice(0, 2000).to_pylist():
        scene = next(
            s
            for s in scenes
            if s["movie_id"] == row["movie_id"]
            and s["start_frame"] <= row["frame"] < s["end_frame"]
        )
        assert row["character_id"] in scene["characters"]
        assert row["frame"] < catalog[row["movie_id"]]["duration_s"] * fps


def test_moderation_labels_follow_the_verbs(corpus: Corpus) -> None:
    events = corpus.truth("events").to_pylist()
    for clip in corpus.moderation.to_pylist():
        assert clip["label"] in MODERATION
        verbs = {
            e["verb"]
            for e in events
            if e["movie_id"] == clip["movie_id"]
            and clip["start_time"] <= e["start_time"] < clip["end_time"]
        }
        if clip["label"] == "none":
            assert not verbs & set().union(*MODERATION_VERBS.values())
        else:
            assert verbs & MODERATION_VERBS[clip["label"]]


def test_videos_decode_with_the_catalog_format(corpus: Corpus) -> None:
    row = corpus.catalog.to_pylist()[0]
    with av.open(str(corpus.movie_path(row["movie_id"]))) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("h264", "mpeg4")
        frames = list(container.decode(video=0))
    assert len(frames) == row["num_frames"]
    image = frames[len(frames) // 2].to_ndarray(format="rgb24")
    assert image.shape == (row["height"], row["width"], 3)
    assert image.std() > 10  # a textured picture, not a flat colour


def test_kinetics_clips_are_listed_and_decodable(corpus: Corpus) -> None:
    train, val = corpus.kinetics_clips("train"), corpus.kinetics_clips("val")
    labels = {label for _, label in train}
    assert len(labels) >= 16
    assert {label for _, label in val} == labels
    path, label = train[0]
    assert path.parent.name == label
    assert path.is_file()
    with open(corpus.root / "kinetics" / "train.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:5] == ["label", "youtube_id", "time_start", "time_end", "split"]
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3 * 25


def _annotation_bytes(root: Path) -> dict[str, bytes]:
    files = [*root.glob("*.parquet"), *root.glob("truth/*.parquet"), root / "corpus.json"]
    files += list(root.glob("kinetics/*.csv"))
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(files)}


@pytest.mark.slow
def test_same_seed_gives_byte_identical_annotations(tmp_path: Path) -> None:
    small = {"movies": 2, "minutes": 0.15, "users": 10, "kinetics_train": 1, "kinetics_val": 0}
    a = _annotation_bytes(make_corpus(tmp_path / "a", seed=3, **small))
    b = _annotation_bytes(make_corpus(tmp_path / "b", seed=3, **small))
    c = _annotation_bytes(make_corpus(tmp_path / "c", seed=4, **small))
    assert a.keys() == b.keys()
    assert len(a) >= 10
    assert a == b
    assert a["truth/events.parquet"] != c["truth/events.parquet"]
    events = pq.read_table(tmp_path / "a" / "truth" / "events.parquet")
    assert events.num_rows == sum(
        round(r["duration_s"] / 2)
        for r in pq.read_table(tmp_path / "a" / "catalog.parquet").to_pylist()
    )
