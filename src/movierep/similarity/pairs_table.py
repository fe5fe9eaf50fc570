"""The similar-movie pairs table every similarity source returns (:data:`PAIRS`).

A pairs table is directed: ``movie_b`` is one of ``movie_a``'s similar movies, ``rank`` 1
the most similar. Every source sorts its rows by (``movie_a``, ``rank``, ``movie_b``) and
breaks ties by movie id, so results never depend on the catalog's row order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from movierep.tables import require_columns

#: Directed similar-movie pairs. ``score``: co-watch count, synopsis cosine, or 1 (genre).
PAIRS = pa.schema(
    [
        ("movie_a", pa.string()),
        ("movie_b", pa.string()),
        ("source", pa.string()),
        ("score", pa.float32()),
        ("rank", pa.int16()),
    ]
)


def check_k(k: int) -> None:
    """Raise ``ValueError`` unless ``k`` (similar movies per movie) is at least 1."""
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def check_pairs(table: pa.Table, what: str = "pairs table") -> None:
    """Raise ``UserError`` when ``table`` lacks a column of :data:`PAIRS`."""
    require_columns(table, list(PAIRS.names), what)


def pairs_table(
    movie_a: Sequence[str],
    movie_b: Sequence[str],
    source: str | Sequence[str],
    score: np.ndarray | Sequence[float],
    rank: np.ndarray | Sequence[int],
) -> pa.Table:
    """Build a :data:`PAIRS` table sorted by (movie_a, rank, movie_b)."""
    n = len(movie_a)
    sources = [source] * n if isinstance(source, str) else list(source)
    table = pa.table(
        {
            "movie_a": pa.array(list(movie_a), pa.string()),
            "movie_b": pa.array(list(movie_b), pa.string()),
            "source": pa.array(sources, pa.string()),
            "score": pa.array(np.asarray(score, dtype=np.float32), pa.float32()),
            "rank": pa.array(np.asarray(rank, dtype=np.int16), pa.int16()),
        },
        schema=PAIRS,
    )
    keys = [("movie_a", "ascending"), ("rank", "ascending"), ("movie_b", "ascending")]
    return table.sort_by(keys)


def ranks_within(groups: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal values (``groups`` sorted)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run + 1
