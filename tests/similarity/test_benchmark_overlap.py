from pathlib import Path

import pyarrow as pa

from movierep.data.corpus import Corpus
from movierep.similarity.benchmark_overlap import benchmark_imdb_ids, exclude_benchmark_movies


def test_movies_in_a_benchmarks_val_or_test_set_are_excluded() -> None:
    catalog = pa.table({"movie_id": ["a", "b", "c", "d"], "imdb_id": ["tt1", "tt2", "tt3", None]})
    overlap = exclude_benchmark_movies(
        catalog, ["a", "b", "c", "d"], {"lvu": {"tt2", "tt9"}, "movienet": {"tt2", "tt3"}}
    )
    assert overlap.kept == ["a", "d"]
    assert overlap.removed == {"lvu": ["b"], "movienet": ["b", "c"]}
    assert overlap.summary() == (
        "benchmark overlap: 2 of 4 catalog movies excluded (1 in lvu, 2 in movienet)"
    )


def test_a_catalog_without_imdb_ids_is_said_to_be_unchecked() -> None:
    overlap = exclude_benchmark_movies(pa.table({"movie_id": ["a"]}), ["a"], {"lvu": {"tt1"}})
    assert overlap.kept == ["a"] and not overlap.checked
    assert "no imdb_id column" in overlap.summary()


def test_the_corpus_benchmarks_hold_exactly_its_val_and_test_movies(tiny_corpus: Path) -> None:
    corpus = Corpus(tiny_corpus)
    found = benchmark_imdb_ids(tiny_corpus / "lvu", tiny_corpus / "movienet")
    assert set(found) == {"lvu", "movienet"}
    catalog = corpus.catalog
    movies, tts = catalog.column("movie_id").to_pylist(), catalog.column("imdb_id").to_pylist()
    imdb = dict(zip(movies, tts, strict=True))
    held = {imdb[m] for m in corpus.split_ids("val") + corpus.split_ids("test")}
    assert found["movienet"] == held and found["lvu"] <= held and found["lvu"]
    overlap = exclude_benchmark_movies(catalog, corpus.movie_ids, found)
    assert sorted(overlap.kept) == sorted(corpus.split_ids("train"))
