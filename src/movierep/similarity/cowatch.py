"""Co-watch similarity: movies most often watched right after a movie (Movies2Scenes §4.1).

"For each movie m₁, we keep records of movies that are watched after m₁, and then
aggregate and rank the records to build a set of movies that are most frequently watched
after m₁" (:func:`cowatch_pairs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movierep.errors import UserError
from movierep.similarity.pairs_table import check_k, pairs_table, ranks_within
from movierep.tables import require_columns

_WATCH_COLUMNS = ["user_id", "movie_id", "timestamp"]


def _as_string_column(column: pa.ChunkedArray, where: str) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise UserError(f"{where}: movie_id column has type {column.type}, not string") from None


def _first_null_row(column: pa.ChunkedArray) -> int:
    return int(pc.index(column.is_null(), True).as_py())


def cowatch_pairs(
    watch_log: pa.Table,
    movie_ids: Sequence[str],
    k: int = 3,
    *,
    window: int = 1,
    catalog_ids: Sequence[str] | None = None,
    source_path: str | Path | None = None,
) -> pa.Table:
    """Co-watch similarity: the k movies most often watched right after each movie.

    Our reading of "movies that are watched after m₁": each user's watches are sorted by
    timestamp (ties keep the log's row order) and the movie a user watched *next* after
    m₁ — or, with ``window`` = w, any of the next w movies — is a record for (m₁, m₂).
    A user adds at most one record per (m₁, m₂) however often they repeat it, so a count
    is the number of users who watched m₂ soon after m₁; re-watching m₁ itself is not a
    record. Pairs are ranked by count, ties by m₂'s id, and the top k kept per m₁, so a
    movie nobody watched anything after has no pairs.

    Only movies of ``movie_ids`` take part: watches of other catalog movies are dropped
    before sequencing, so "next" means the next movie of this set (the train split, or the
    ablation's subset of the catalog).

    Args:
        watch_log: table with ``user_id``, ``movie_id``, ``timestamp`` (any sortable types).
        movie_ids: the movies to pair (both ends of every pair are among them).
        k: similar movies kept per movie.
        window: how many of the following watches count as "watched after" (paper: the
            exact rule is not stated; 1 = the next movie).
        catalog_ids: every movie id the log may name (default: ``movie_ids``).
        source_path: the log's file, named in errors (default ``"watch log"``).

    Returns:
        A :data:`PAIRS` table with ``source = "cowatch"`` and ``score`` = the count.

    Raises:
        UserError: the log lacks a column, has an empty cell, or names a movie that is
            not in the catalog (one line naming the file, the first such row and how many).
    """
    check_k(k)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    where = str(source_path) if source_path is not None else "watch log"
    require_columns(watch_log, _WATCH_COLUMNS, where)
    movies = sorted({str(m) for m in movie_ids})  # index order = id order (tie-breaks)
    known = sorted(set(movies) | {str(m) for m in (catalog_ids or ())})

    movie_col = _as_string_column(watch_log.column("movie_id"), where)
    for name in ("user_id", "timestamp"):
        column = watch_log.column(name)
        if column.null_count:
            raise UserError(f"{where}: row {_first_null_row(column)} has no {name}")
    unknown = pc.index_in(movie_col, value_set=pa.array(known, pa.string())).is_null()
    n_bad = int(pc.sum(unknown).as_py() or 0)
    if n_bad:
        row = int(pc.index(unknown, True).as_py())
        value = movie_col[row].as_py()
        rows = f"{n_bad} such row{'s' if n_bad > 1 else ''}"
        if value is None:
            raise UserError(f"{where}: row {row} has no movie_id ({rows})")
        raise UserError(
            f"{where}: row {row} names movie {value!r} that is not in the catalog ({rows})"
        )

    position = pc.index_in(movie_col, value_set=pa.array(movies, pa.string()))
    log = pa.table(
        {
            "user": watch_log.column("user_id"),
            "time": watch_log.column("timestamp"),
            "movie": position,
        }
    ).filter(position.is_valid())
    log = log.take(pc.sort_indices(log, sort_keys=[("user", "ascending"), ("time", "ascending")]))
    user = np.asarray(
        pc.dictionary_encode(log.column("user")).combine_chunks().indices.to_numpy(),
        dtype=np.int64,
    )  # (N,) user codes, equal within a user's run
    movie = np.asarray(log.column("movie").to_numpy(), dtype=np.int64)  # (N,)

    records = []
    for d in range(1, window + 1):
        same = user[:-d] == user[d:]
        records.append(np.stack([user[:-d][same], movie[:-d][same], movie[d:][same]], axis=1))
    votes = np.concatenate(records) if records else np.zeros((0, 3), dtype=np.int64)
    votes = votes[votes[:, 1] != votes[:, 2]]
    votes = np.unique(votes, axis=0)  # one record per (user, m1, m2)
    pairs, counts = np.unique(votes[:, 1:], axis=0, return_counts=True)  # (P, 2), (P,)
    if len(pairs) == 0:
        return pairs_table([], [], "cowatch", [], [])
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs, counts = pairs[order], counts[order]
    rank = ranks_within(pairs[:, 0])
    keep = rank <= k
    return pairs_table(
        [movies[i] for i in pairs[keep, 0]],
        [movies[i] for i in pairs[keep, 1]],
        "cowatch",
        counts[keep],
        rank[keep],
    )
