from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from movierep.errors import UserError
from movierep.similarity.genre import genre_pairs
from movierep.similarity.movie_pairs import (
    SOURCES,
    combine,
    movie_pairs,
    negative_pairs,
    pairs_agreement,
)
from movierep.similarity.pairs_table import PAIRS


def pairs(rows: list[tuple[str, str]], source: str, score: float = 1.0) -> pa.Table:
    return pa.table(
        {
            "movie_a": [a for a, _ in rows],
            "movie_b": [b for _, b in rows],
            "source": [source] * len(rows),
            "score": pa.array([score] * len(rows), pa.float32()),
            "rank": pa.array(range(1, len(rows) + 1), pa.int16()),
        },
        schema=PAIRS,
    )


def test_combine_dedups_and_joins_sources() -> None:
    genre = pairs([("a", "b"), ("a", "c")], "genre", 1.0)
    synopsis = pairs([("a", "b"), ("b", "a")], "synopsis", 0.5)
    both = combine([synopsis, genre])
    rows = {(r["movie_a"], r["movie_b"]): r for r in both.to_pylist()}
    assert set(rows) == {("a", "b"), ("a", "c"), ("b", "a")}
    assert rows[("a", "b")]["source"] == "genre+synopsis"
    assert rows[("a", "b")]["score"] == 1.0 and rows[("a", "b")]["rank"] == 1
    assert rows[("b", "a")]["source"] == "synopsis"
    assert combine([both, genre]).equals(both)


def test_negatives_avoid_similar_pairs_and_self() -> None:
    ids = [f"m{i}" for i in range(8)]
    similar = pairs([("m0", "m1"), ("m2", "m3"), ("m4", "m5"), ("m0", "m6")], "cowatch")
    neg = negative_pairs(similar, ids, 30, seed=3)
    assert len(neg) == 30 == len(set(neg))
    banned = {("m0", "m1"), ("m2", "m3"), ("m4", "m5"), ("m0", "m6")}
    for a, b in neg:
        assert a != b and (a, b) not in banned and (b, a) not in banned
    assert negative_pairs(similar, ids[::-1], 30, seed=3) == neg
    # dense case: every dissimilar ordered pair
    every = negative_pairs(similar, ids, 8 * 7 - 8, seed=0)
    assert len(set(every)) == 48
    with pytest.raises(ValueError, match="only 48"):
        negative_pairs(similar, ids, 49)


def test_pairs_agreement() -> None:
    x = pairs([("a", "b"), ("a", "c"), ("c", "a")], "x")
    y = pairs([("b", "a")], "y")
    assert pairs_agreement(x, y) == pytest.approx(0.5)
    assert pairs_agreement(y, x) == 1.0
    assert np.isnan(pairs_agreement(pairs([], "z"), x))


# ------------------------------------------------------------------ on the tiny corpus


def test_movie_pairs_on_tiny_corpus(tiny_corpus: Path) -> None:
    from movierep.data.corpus import Corpus

    corpus = Corpus(tiny_corpus)
    ids = corpus.movie_ids
    genre_of = dict(zip(ids, corpus.catalog["genre"].to_pylist(), strict=True))
    got = movie_pairs(corpus, ["cowatch", "genre"], k=2)
    assert got.schema == PAIRS
    assert set(got["source"].to_pylist()) <= {"cowatch", "genre", "cowatch+genre"}
    genre_rows = [r for r in got.to_pylist() if "genre" in r["source"]]
    assert all(genre_of[r["movie_a"]] == genre_of[r["movie_b"]] for r in genre_rows)
    subset = ids[: max(2, len(ids) // 2)]
    sub = movie_pairs(tiny_corpus, "cowatch", movie_ids=subset)
    assert set(sub["movie_a"].to_pylist()) | set(sub["movie_b"].to_pylist()) <= set(subset)
    with pytest.raises(UserError, match=r"unknown source 'plot'.*cowatch, synopsis, genre"):
        movie_pairs(corpus, ["genre", "plot"])
    with pytest.raises(UserError, match=r"catalog\.parquet: no movie 'nope'"):
        movie_pairs(corpus, "genre", movie_ids=["nope"])


def test_the_dispatch_table_reads_each_source_from_the_corpus(tiny_corpus: Path) -> None:
    from movierep.data.corpus import Corpus

    assert list(SOURCES) == ["cowatch", "synopsis", "genre"]
    corpus = Corpus(tiny_corpus)
    ids = corpus.movie_ids[::-1]
    options = {"seed": 3, "synopsis_encoder": None, "window": 1}
    got = SOURCES["genre"](corpus, ids, 2, **options)
    assert got.equals(genre_pairs(ids, corpus.catalog["genre"].to_pylist()[::-1], 2, seed=3))
    assert got.equals(movie_pairs(corpus, "genre", k=2, seed=3))
