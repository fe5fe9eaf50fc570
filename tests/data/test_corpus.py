"""The corpus reader: tables, paths, class lists, splits, action clips and bad folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movierep.data.corpus import TRUTH_TABLES, Corpus
from movierep.errors import UserError


@pytest.fixture(scope="module")
def corpus(tiny_corpus: Path) -> Corpus:
    return Corpus(tiny_corpus)


def test_tables_and_paths(corpus: Corpus) -> None:
    for name in TRUTH_TABLES:
        assert corpus.truth(name).num_rows > 0
    movie = corpus.movie_ids[0]
    assert corpus.movie_path(movie) == corpus.root / "movies" / f"{movie}.mp4"
    splits = [corpus.split_ids(s) for s in ("train", "val", "test")]
    assert sorted(m for ids in splits for m in ids) == sorted(corpus.movie_ids)
    assert len(corpus.classes("places")) >= 12
    assert len(corpus.classes("verbs")) >= 16
    assert len(corpus.classes("genres")) >= 6
    assert corpus.info["seed"] == 0
    assert corpus.info["preset"] == "tiny"


def test_kinetics_clips(corpus: Corpus) -> None:
    clips = corpus.kinetics_clips("train")
    assert len(clips) == 3 * len(corpus.classes("kinetics"))
    assert all(path.is_file() and label in corpus.classes("kinetics") for path, label in clips)


def test_bad_inputs_are_user_errors(corpus: Corpus, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a corpus folder"):
        Corpus(tmp_path)
    with pytest.raises(UserError, match="no movie"):
        corpus.movie_path("nope")
    with pytest.raises(UserError, match="unknown table"):
        corpus.truth("nope")
    with pytest.raises(UserError, match="no class list"):
        corpus.classes("nope")
    with pytest.raises(UserError, match="missing"):
        corpus.kinetics_clips("test")
    (tmp_path / "catalog.parquet").write_bytes(b"not parquet")
    (tmp_path / "corpus.json").write_text(json.dumps({"classes": {}}))
    with pytest.raises(UserError, match="not a readable Parquet"):
        _ = Corpus(tmp_path).catalog
