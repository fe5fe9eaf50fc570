"""Genre similarity: movies drawn at random among those of the same genre (Movies2Scenes §4.1).

"randomly select movies with the same genre as the input movie" (:func:`genre_pairs`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from movierep.errors import UserError
from movierep.similarity.pairs_table import check_k, pairs_table


def genre_pairs(
    movie_ids: Sequence[str],
    genres: Sequence[str | None],
    k: int = 3,
    *,
    seed: int = 0,
    source_path: str | Path | None = None,
) -> pa.Table:
    """Genre similarity: k movies drawn at random among the other movies of the same genre.

    The k movies (fewer when the genre has fewer others) are drawn uniformly without
    replacement from the genre's other movies sorted by id, with a generator seeded by
    ``(seed, crc32(movie_id))``: a movie's draw depends only on its id, its genre's
    members and ``seed``, never on the catalog's row order. ``rank`` is the draw order.

    Args:
        movie_ids: M distinct movie ids.
        genres: M genre names.
        k: similar movies per movie.
        seed: non-negative random seed.
        source_path: the catalog, named in errors (default ``"catalog"``).

    Returns:
        A :data:`PAIRS` table with ``source = "genre"`` and ``score`` = 1.

    Raises:
        UserError: a movie has no genre or a movie id repeats.
    """
    check_k(k)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    where = str(source_path) if source_path is not None else "catalog"
    ids = [str(m) for m in movie_ids]
    if len(ids) != len(genres):
        raise ValueError(f"{len(ids)} movie ids but {len(genres)} genres")
    members: dict[str, list[str]] = {}
    genre_of: dict[str, str] = {}
    for movie, genre in zip(ids, genres, strict=True):
        if genre is None or not str(genre).strip():
            raise UserError(f"{where}: movie {movie!r} has no genre")
        if movie in genre_of:
            raise UserError(f"{where}: movie {movie!r} appears more than once")
        genre_of[movie] = str(genre)
        members.setdefault(str(genre), []).append(movie)
    for group in members.values():
        group.sort()
    a: list[str] = []
    b: list[str] = []
    ranks: list[int] = []
    for movie in sorted(ids):
        others = [m for m in members[genre_of[movie]] if m != movie]
        rng = np.random.default_rng([seed, zlib.crc32(movie.encode("utf-8"))])
        drawn = rng.choice(len(others), size=min(int(k), len(others)), replace=False)
        a.extend([movie] * len(drawn))
        b.extend(others[int(i)] for i in drawn)
        ranks.extend(range(1, len(drawn) + 1))
    return pairs_table(a, b, "genre", np.ones(len(a)), ranks)
