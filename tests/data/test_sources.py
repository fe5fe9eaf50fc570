from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from movierep.data.sources import (
    NO_LABEL,
    catalog_source,
    concat_sources,
    event_label_source,
    folder_source,
    kinetics_source,
    open_source,
    segment_bounds,
)
from movierep.errors import UserError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_kinetics_csv_with_kinetics_columns(tmp_path):
    touch(tmp_path / "run" / "abc_000010_000020.mp4")
    touch(tmp_path / "jump" / "xyz_000000_000010.mp4")
    (tmp_path / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\nrun,abc,10,20,train\njump,xyz,0,10,train\n"
    )
    source = kinetics_source(tmp_path, "train")
    assert source.classes == ("jump", "run")
    assert [(s.video_id, s.label) for s in source.spans] == [
        ("abc_000010_000020", 1),
        ("xyz_000000_000010", 0),
    ]
    assert all(s.end is None for s in source.spans)


def test_kinetics_csv_with_path_column_and_missing_file(tmp_path):
    touch(tmp_path / "a" / "1.mp4")
    (tmp_path / "val.csv").write_text("path,label\na/1.mp4,a\na/2.mp4,a\n")
    with pytest.raises(UserError, match=r"val\.csv: 1 listed clip"):
        kinetics_source(tmp_path, "val")
    (tmp_path / "val.csv").write_text("path,lbl\na/1.mp4,a\n")
    with pytest.raises(UserError, match="missing column 'label'"):
        kinetics_source(tmp_path, "val")


def test_kinetics_without_csv_lists_class_folders(tmp_path):
    touch(tmp_path / "wave" / "c1.mp4")
    touch(tmp_path / "clap" / "c2.mp4")
    source = open_source(tmp_path)  # no train.csv, no catalog: a folder of videos
    assert source.name.startswith("folder:")
    source = kinetics_source(tmp_path)
    assert source.classes == ("clap", "wave")


def test_segment_bounds():
    assert segment_bounds(25.0, 10.0) == [(0.0, 10.0), (10.0, 20.0), (20.0, 25.0)]
    assert segment_bounds(24.0, 10.0) == [(0.0, 10.0), (10.0, 20.0)]
    assert segment_bounds(6.0, 10.0) == [(0.0, 6.0)]


def write_corpus(root: Path) -> None:
    touch(root / "movies" / "m1.mp4")
    touch(root / "movies" / "m2.mp4")
    pq.write_table(
        pa.table(
            {
                "movie_id": ["m1", "m2"],
                "path": ["movies/m1.mp4", "movies/m2.mp4"],
                "duration_s": [30.0, 12.0],
                "genre": ["drama", "comedy"],
                "split": ["train", "val"],
            }
        ),
        root / "catalog.parquet",
    )
    (root / "truth").mkdir()
    pq.write_table(
        pa.table(
            {
                "movie_id": ["m1", "m1", "m2"],
                "event_index": [0, 1, 0],
                "start_time": [0.0, 2.0, 0.0],
                "end_time": [2.0, 4.0, 2.0],
                "verb": ["walk", "talk", "walk"],
                "place": ["park", "park", "office"],
            }
        ),
        root / "truth" / "events.parquet",
    )


def test_catalog_source_segments_movies(tmp_path):
    write_corpus(tmp_path)
    source = catalog_source(tmp_path, "train", segment_s=10.0, label="genre")
    assert [(s.video_id, s.start, s.end) for s in source.spans] == [
        ("m1#0", 0.0, 10.0),
        ("m1#1", 10.0, 20.0),
        ("m1#2", 20.0, 30.0),
    ]
    assert {s.group for s in source.spans} == {"m1"}
    assert source.classes == ("drama",)
    everything = open_source(tmp_path, "val", segment_s=5.0)
    assert [s.video_id for s in everything.spans] == ["m2#0", "m2#1"]
    assert everything.spans[0].label == NO_LABEL


def test_event_label_source_and_concat(tmp_path):
    write_corpus(tmp_path)
    verbs = event_label_source(tmp_path, None, column="verb")
    assert verbs.classes == ("talk", "walk")
    assert [(s.video_id, s.start, s.end, s.label) for s in verbs.spans] == [
        ("m1#e0", 0.0, 2.0, 1),
        ("m1#e1", 2.0, 4.0, 0),
        ("m2#e0", 0.0, 2.0, 1),
    ]
    places = event_label_source(tmp_path, "train", column="place")
    joined = concat_sources([places, verbs])
    assert joined.classes == ("park", "talk", "walk")
    assert [s.label for s in joined.spans] == [0, 0, 2, 1, 2]


def test_folder_source_and_errors(tmp_path):
    touch(tmp_path / "a" / "x.mkv")
    touch(tmp_path / "notes.txt")
    assert [s.video_id for s in folder_source(tmp_path).spans] == ["a/x"]
    with pytest.raises(UserError, match="no video files"):
        folder_source(tmp_path / "a" / "missing")
    with pytest.raises(UserError, match="not a folder"):
        open_source(tmp_path / "nope")


def test_vidsitu_source_labels_every_event_with_its_verb(tiny_corpus):
    from collections import Counter

    from movierep.data.benchmarks.vidsitu import load_vidsitu
    from movierep.data.sources import vidsitu_source

    root = tiny_corpus / "vidsitu"
    source = vidsitu_source(root)
    clips = load_vidsitu(root, "train")
    assert len(source.spans) == 5 * len(clips)
    for span in source.spans[:10]:
        clip = next(c for c in clips if c.vid_seg_int == span.group)
        k = int(span.video_id.rsplit("#Ev", 1)[1]) - 1
        assert (span.start, span.end) == (2.0 * k, 2.0 * k + 2.0)
        top = Counter(a[k].verb_id for a in clip.annotations).most_common(1)[0][0]
        assert source.classes[span.label] == top
        assert span.path == clip.video
