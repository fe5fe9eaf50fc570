from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from movierep.errors import UserError
from movierep.similarity.cowatch import cowatch_pairs
from movierep.similarity.pairs_table import PAIRS

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
