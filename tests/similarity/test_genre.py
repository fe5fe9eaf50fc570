import numpy as np
import pyarrow as pa
import pytest

from movierep.errors import UserError
from movierep.similarity.genre import genre_pairs


def as_lists(table: pa.Table) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, b in zip(table["movie_a"].to_pylist(), table["movie_b"].to_pylist(), strict=True):
        out.setdefault(a, []).append(b)
    return out


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
