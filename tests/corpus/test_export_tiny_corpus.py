"""Benchmark exports of the generator's ``tiny`` corpus read back with the benchmark loaders."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from movierep.corpus.export.ids import imdb_ids
from movierep.data.benchmarks import lvu as lvu_reader
from movierep.data.benchmarks import movienet as movienet_reader
from movierep.data.benchmarks import vidsitu as vidsitu_reader


def _truth(root: Path, name: str) -> list[dict]:
    return pq.read_table(root / "truth" / f"{name}.parquet").to_pylist()


@pytest.mark.slow
def test_tiny_corpus_exports_read_back(tiny_corpus: Path) -> None:
    """The generator's tiny corpus: every exported file reads back and agrees with the truth."""
    corpus = tiny_corpus
    assert (corpus / "vidsitu").is_dir()  # make_corpus runs the export
    catalog = pq.read_table(corpus / "catalog.parquet").to_pylist()
    events = Counter(e["movie_id"] for e in _truth(corpus, "events"))
    shots = Counter(s["movie_id"] for s in _truth(corpus, "shots"))
    imdb = imdb_ids(m["movie_id"] for m in catalog)

    expected = {
        s: sum(events[m["movie_id"]] // 5 for m in catalog if m["split"] == s)
        for s in ("train", "val")
    }
    for split, count in expected.items():
        clips = vidsitu_reader.load_vidsitu(corpus / "vidsitu", split)
        assert len(clips) == count
        assert all(c.video is not None for c in clips)
    for task in lvu_reader.LVU_TASKS:
        items = [
            i
            for split in ("train", "val", "test")
            for i in lvu_reader.load_lvu_task(corpus / "lvu", task, split)
        ]
        assert all((corpus / "lvu" / "videos" / f"{i.video_id}.mp4").is_file() for i in items)
        if task not in ("way_speaking",):  # clips without talk have no way of speaking
            assert len(items) == len(json.loads((corpus / "lvu" / "clip_sources.json").read_text()))
    split318 = movienet_reader.load_split318(corpus / "movienet")
    assert sorted(split318["all"]) == sorted(imdb.values())
    for movie in catalog:
        loaded = movienet_reader.load_movienet_movie(corpus / "movienet", imdb[movie["movie_id"]])
        assert len(loaded.shots) == shots[movie["movie_id"]]
        assert len(loaded.labels) == len(loaded.shots) - 1
        assert movienet_reader.load_place_annotation(corpus / "movienet", loaded.imdb_id)
