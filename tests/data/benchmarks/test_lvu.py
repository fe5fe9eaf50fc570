"""LVU reader on hand-written files in the real lvu_1.0 format (lvu_movienet.md A.2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from movierep.data.benchmarks.lvu import (
    LIKE_RATIO_OFFSET,
    VIEW_COUNT_OFFSET,
    class_names,
    load_durations,
    load_instance_meta,
    load_lvu_task,
)
from movierep.errors import UserError


def _write(root: Path, task: str, split: str, text: str) -> None:
    (root / "lvu_1.0" / task).mkdir(parents=True, exist_ok=True)
    (root / "lvu_1.0" / task / f"{split}.csv").write_text(text)


def test_reads_the_three_header_variants(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "relationship",
        "train",
        "class_id class_name youtube_id imdb_id\n0 friend -e6lEsIUf3U tt0161100\n"
        "2 husband_wife abcdefghijk tt0000001\n",
    )
    _write(
        tmp_path,
        "writer",
        "test",
        "class_id class_name youtube_id imdb_id\n0 \\N --UgPWRVt8A tt3399112\n",
    )
    _write(
        tmp_path,
        "like_ratio",
        "val",
        "like_count dislike_count youtube_id imdb_id\n100061 3801 29VjYkPPY2s tt0451279\n",
    )
    _write(
        tmp_path,
        "view_count",
        "val",
        "view_count youtube_id imdb_id\n100124 gFKba_Esjt0 tt0138524\n",
    )
    rel = load_lvu_task(tmp_path, "relationship", "train")
    assert [(i.label, i.class_name, i.video_id) for i in rel] == [
        (0, "friend", "-e6lEsIUf3U"),
        (2, "husband_wife", "abcdefghijk"),
    ]
    assert class_names(rel) == {0: "friend", 2: "husband_wife"}
    (writer,) = load_lvu_task(tmp_path / "lvu_1.0", "writer", "test")  # lvu_1.0 itself as root
    assert (writer.label, writer.class_name, writer.video_id) == (0, "\\N", "--UgPWRVt8A")
    (like,) = load_lvu_task(tmp_path, "like_ratio", "val")
    assert like.video_id == "29VjYkPPY2s"
    assert like.counts == (100061, 3801)
    assert like.target == pytest.approx(10 * 100061 / (100061 + 3801) - 9.138220535629456)
    (view,) = load_lvu_task(tmp_path, "view_count", "val")
    assert view.video_id == "gFKba_Esjt0"
    assert view.imdb_id == "tt0138524"
    assert view.target == pytest.approx(math.log(100124) - 11.76425435683139)
    assert LIKE_RATIO_OFFSET > 0
    assert VIEW_COUNT_OFFSET > 0


@pytest.mark.parametrize(
    ("task", "text", "message"),
    [
        ("scene", "class_id,class_name,youtube_id,imdb_id\n", r"line 1: header must be"),
        (
            "scene",
            "class_id class_name youtube_id imdb_id\n0 office abc tt1\n",
            r"line 2: video id 'abc' is not 11 chars",
        ),
        (
            "scene",
            "class_id class_name youtube_id imdb_id\n0 office abcdefghijk 123\n",
            r"line 2: imdb id '123'",
        ),
        (
            "scene",
            "class_id class_name youtube_id imdb_id\n0 home office abcdefghijk tt1\n",
            r"line 2: expected 4 space-separated columns, got 5",
        ),
        (
            "scene",
            "class_id class_name youtube_id imdb_id\n0 office abcdefghijk tt1\n"
            "0 airport abcdefghijl tt1\n",
            r"line 3: class id 0 is 'airport' here",
        ),
        (
            "view_count",
            "view_count youtube_id imdb_id\nmany abcdefghijk tt1\n",
            r"line 2: expected integers",
        ),
        (
            "like_ratio",
            "like_count dislike_count youtube_id imdb_id\n0 0 abcdefghijk tt1\n",
            r"line 2: counts must be positive",
        ),
    ],
)
def test_malformed_rows_name_file_and_line(
    tmp_path: Path, task: str, text: str, message: str
) -> None:
    _write(tmp_path, task, "train", text)
    with pytest.raises(UserError, match=rf"{task}/train.csv: {message}"):
        load_lvu_task(tmp_path, task, "train")


def test_unknown_task_split_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown LVU task"):
        load_lvu_task(tmp_path, "mood", "train")
    with pytest.raises(UserError, match="unknown LVU split"):
        load_lvu_task(tmp_path, "scene", "dev")
    with pytest.raises(UserError, match=r"scene/train\.csv: file not found"):
        load_lvu_task(tmp_path, "scene", "train")


def test_durations_and_instance_meta(tmp_path: Path) -> None:
    (tmp_path / "lvu_1.0").mkdir()
    (tmp_path / "lvu_1.0" / "lvu_durations.csv").write_text("videoid,duration\n-e6lEsIUf3U,131\n")
    assert load_durations(tmp_path) == {"-e6lEsIUf3U": 131}
    meta = {
        "-e6lEsIUf3U": {
            "0": {"0.100,0.200,0.300,0.400": [0, 0]},
            "2": {"0.1,0.2,0.3,0.4": [1, 1], "0.5,0.5,0.9,0.9": [1, 2]},
        }
    }
    path = tmp_path / "instance_meta.json"
    path.write_text(json.dumps(meta))
    loaded = load_instance_meta(path)["-e6lEsIUf3U"]
    assert sorted(loaded) == [0, 2]
    assert loaded[0][0].box == (0.1, 0.2, 0.3, 0.4)
    assert [(i.shot, i.link) for i in loaded[2]] == [(1, 1), (1, 2)]
    path.write_text(json.dumps({"v": {"0": {"0.1,0.2": [0, 0]}}}))
    with pytest.raises(UserError, match="video v second 0: malformed instance"):
        load_instance_meta(path)
