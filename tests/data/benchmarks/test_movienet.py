"""MovieNet reader on hand-written files in the real scene318 layout (lvu_movienet.md B.1, B.6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movierep.data.benchmarks.movienet import (
    keyframe_name,
    load_movienet_movie,
    load_place_annotation,
    load_split318,
)
from movierep.errors import UserError

SHOTS = "0 48 12 24 36\n49 99 49 74 99\n100 130 101 115 129\n"


def _write(root: Path, shots: str = SHOTS, labels: str = "0000 1\n0001 -1\n") -> Path:
    for sub, text in (("shot_movie318", shots), ("label318", labels)):
        (root / "scene318" / sub).mkdir(parents=True, exist_ok=True)
        (root / "scene318" / sub / "tt0047396.txt").write_text(text)
    return root


def test_reads_shots_labels_and_keyframe_columns(tmp_path: Path) -> None:
    movie = load_movienet_movie(_write(tmp_path), "tt0047396")
    assert [(s.start_frame, s.end_frame) for s in movie.shots] == [(0, 48), (49, 99), (100, 130)]
    assert movie.shots[1].keyframes == (49, 74, 99)  # the columns, not first/middle/last
    assert movie.labels == (1, -1)
    assert movie.boundaries == (1, 1)
    assert (
        movie.keyframe_path(2, 1) == tmp_path / "240P_frames" / "tt0047396" / "shot_0002_img_1.jpg"
    )
    assert keyframe_name(12, 0) == "shot_0012_img_0.jpg"
    # N labels (one per shot) are accepted too; the last one is not a boundary
    movie = load_movienet_movie(_write(tmp_path, labels="0000 0\n0001 1\n0002 0\n"), "tt0047396")
    assert movie.boundaries == (0, 1)


@pytest.mark.parametrize(
    ("shots", "labels", "message"),
    [
        (SHOTS, "0000 1\n", r"label318/tt0047396.txt: 1 labels for 3 shots \(expected 2\)"),
        (SHOTS, "0000 1\n0002 0\n", r"label318/tt0047396.txt: line 2: expected '0001 v'"),
        (SHOTS, "0000 2\n0001 0\n", r"label318/tt0047396.txt: line 1: expected '0000 v'"),
        ("0 48 12 24 60\n", "", r"shot_movie318/tt0047396.txt: line 1: keyframes \(12, 24, 60\)"),
        ("0 48 12 24\n", "", r"shot_movie318/tt0047396.txt: line 1: expected 5 columns, got 4"),
        ("0 48 a b c\n", "", r"shot_movie318/tt0047396.txt: line 1: expected integers"),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, shots: str, labels: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        load_movienet_movie(_write(tmp_path, shots, labels), "tt0047396")


def test_split_and_place_annotation(tmp_path: Path) -> None:
    (tmp_path / "scene318" / "meta").mkdir(parents=True)
    split = {"train": ["tt1"], "val": ["tt2"], "test": ["tt3"], "all": ["tt1", "tt2", "tt3"]}
    (tmp_path / "scene318" / "meta" / "split318.json").write_text(json.dumps(split))
    assert load_split318(tmp_path) == split
    (tmp_path / "annotation").mkdir()
    scenes = [
        {
            "id": "tt1_0000",
            "shot": [0, 3],
            "frame": [0, 120],
            "place_tag": ["office", "street"],
            "action_tag": None,
        },
        {"id": "tt1_0001", "shot": [4, 4], "frame": [121, 130], "place_tag": None},
    ]
    path = tmp_path / "annotation" / "tt1.json"
    path.write_text(json.dumps({"imdb_id": "tt1", "scene": scenes}))
    loaded = load_place_annotation(tmp_path, "tt1")
    assert [(s.shots, s.frames, s.place_tags) for s in loaded] == [
        ((0, 3), (0, 120), ("office", "street")),
        ((4, 4), (121, 130), ()),
    ]
    scenes[0]["place_tag"] = "office"
    path.write_text(json.dumps({"scene": scenes}))
    with pytest.raises(UserError, match=r"tt1.json: scene 0: .*place_tag as a list"):
        load_place_annotation(tmp_path, "tt1")
