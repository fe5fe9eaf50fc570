"""Movie similarity S: the pseudo-labels of Movies2Scenes (Chen et al. 2023, §3.1 and §4.1).

"We use commonly available movie information (e.g., genre, synopsis or co-watch
information) to define a measure of movie-level similarity S" and train on it: two movies
are a positive pair when S calls them similar, "0 otherwise". §4.1 names three sources,
one module each, and :data:`SOURCES` is the one table from a source's name to its reader:

- **co-watch**: movies most frequently watched after m₁
  (:func:`movierep.similarity.cowatch.cowatch_pairs`);
- **synopsis**: the closest movies by the inner product of synopsis embeddings
  (:func:`movierep.similarity.synopsis.synopsis_pairs`);
- **genre**: movies drawn at random among those of the same genre
  (:func:`movierep.similarity.genre.genre_pairs`);

and "we select three most similar movies on average for each movie" (``k = 3``).
:func:`movie_pairs` reads the chosen sources from a corpus and unites them
(:func:`combine`); :func:`negative_pairs` draws the "0 otherwise" pairs;
:func:`pairs_agreement` compares two sources. Every table is a
:data:`~movierep.similarity.pairs_table.PAIRS` table.

>>> pairs = movie_pairs("corpus/", ["genre", "synopsis"], k=3)  # doctest: +SKIP
>>> negatives = negative_pairs(pairs, Corpus("corpus/").movie_ids, 1000)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.similarity.cowatch import cowatch_pairs
from movierep.similarity.genre import genre_pairs
from movierep.similarity.pairs_table import PAIRS, check_pairs, pairs_table
from movierep.similarity.synopsis import synopsis_pairs
from movierep.tables import require_columns

# ----------------------------------------------------------------------------- sources


class Source(Protocol):
    """One similarity source read from a corpus (an entry of :data:`SOURCES`)."""

    def __call__(
        self,
        corpus: Corpus,
        movie_ids: list[str],
        k: int,
        *,
        seed: int,
        synopsis_encoder: str | Path | None,
        window: int,
    ) -> pa.Table:
        """The source's k similar movies of each of ``movie_ids``, among them (PAIRS).

        ``seed`` (genre draws), ``synopsis_encoder`` and ``window`` (co-watch) are the
        options of :func:`movie_pairs`; a source ignores those that are not its own.
        """
        ...


def _catalog_values(corpus: Corpus, movie_ids: list[str], column: str) -> list[Any]:
    """The catalog's ``column`` for each of ``movie_ids``, in their order."""
    catalog = corpus.catalog
    require_columns(catalog, ["movie_id", column], corpus.root / "catalog.parquet")
    value = dict(zip(corpus.movie_ids, catalog.column(column).to_pylist(), strict=True))
    return [value[m] for m in movie_ids]


def _cowatch(
    corpus: Corpus,
    movie_ids: list[str],
    k: int,
    *,
    seed: int,
    synopsis_encoder: str | Path | None,
    window: int,
) -> pa.Table:
    return cowatch_pairs(
        corpus.watch_log,
        movie_ids,
        k,
        window=window,
        catalog_ids=corpus.movie_ids,
        source_path=corpus.root / "watch_log.parquet",
    )


def _synopsis(
    corpus: Corpus,
    movie_ids: list[str],
    k: int,
    *,
    seed: int,
    synopsis_encoder: str | Path | None,
    window: int,
) -> pa.Table:
    synopses = _catalog_values(corpus, movie_ids, "synopsis")
    catalog_path = corpus.root / "catalog.parquet"
    return synopsis_pairs(
        (movie_ids, synopses), k, encoder=synopsis_encoder, source_path=catalog_path
    )


def _genre(
    corpus: Corpus,
    movie_ids: list[str],
    k: int,
    *,
    seed: int,
    synopsis_encoder: str | Path | None,
    window: int,
) -> pa.Table:
    genres = _catalog_values(corpus, movie_ids, "genre")
    catalog_path = corpus.root / "catalog.parquet"
    return genre_pairs(movie_ids, genres, k, seed=seed, source_path=catalog_path)


#: The similarity sources :func:`movie_pairs` knows: name -> reader of a corpus.
SOURCES: dict[str, Source] = {"cowatch": _cowatch, "synopsis": _synopsis, "genre": _genre}


# ----------------------------------------------------------------------------- combining


def combine(tables: Sequence[pa.Table]) -> pa.Table:
    """Union of several sources' pairs (the paper's "genre+synopsis").

    A directed pair (a, b) named by several tables is kept once: its ``source`` joins the
    sources' names with ``+`` in alphabetical order (``"genre+synopsis"``), its ``score``
    is the largest and its ``rank`` the smallest (scores of different sources are on
    different scales: counts, cosines, 1).

    Args:
        tables: :data:`PAIRS` tables.

    Returns:
        A :data:`PAIRS` table.
    """
    merged: dict[tuple[str, str], tuple[set[str], float, int]] = {}
    for table in tables:
        check_pairs(table)
        columns = [table.column(c).to_pylist() for c in PAIRS.names]
        for a, b, source, score, rank in zip(*columns, strict=True):
            names = set(str(source).split("+"))
            if (a, b) in merged:
                old_names, old_score, old_rank = merged[(a, b)]
                merged[(a, b)] = (old_names | names, max(old_score, score), min(old_rank, rank))
            else:
                merged[(a, b)] = (names, score, rank)
    keys = list(merged)
    return pairs_table(
        [a for a, _ in keys],
        [b for _, b in keys],
        ["+".join(sorted(merged[key][0])) for key in keys],
        [merged[key][1] for key in keys],
        [merged[key][2] for key in keys],
    )


def _parse_sources(sources: str | Sequence[str]) -> list[str]:
    if isinstance(sources, str):
        sources = [s for part in sources.split(",") for s in part.split("+")]
    names = [s.strip().lower().replace("-", "") for s in sources if s.strip()]
    unknown = [s for s in names if s not in SOURCES]
    if unknown or not names:
        raise UserError(
            f"movie similarity: unknown source {unknown[0] if unknown else '(none)'!r} "
            f"(known: {', '.join(SOURCES)})"
        )
    return list(dict.fromkeys(names))


def movie_pairs(
    corpus: str | Path | Corpus,
    sources: str | Sequence[str] = ("cowatch",),
    k: int = 3,
    *,
    seed: int = 0,
    synopsis_encoder: str | Path | None = None,
    movie_ids: Sequence[str] | None = None,
    window: int = 1,
) -> pa.Table:
    """Movie similarity S of a corpus from one or more sources, combined (:func:`combine`).

    Args:
        corpus: a corpus folder or :class:`~movierep.data.corpus.Corpus`.
        sources: names among :data:`SOURCES` (``"genre+synopsis"`` also works).
        k: similar movies per movie and source (paper: 3).
        seed: seed of the genre draws.
        synopsis_encoder: a local sentence-transformers folder (default: the shipped MiniLM).
        movie_ids: restrict to these movies, e.g. the train split or the ablation-scale
            subset (default: the whole catalog).
        window: co-watch window (see :func:`~movierep.similarity.cowatch.cowatch_pairs`).

    Returns:
        A :data:`~movierep.similarity.pairs_table.PAIRS` table.

    Raises:
        UserError: an unknown source, an unknown movie id, or bad corpus data.
    """
    names = _parse_sources(sources)
    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    all_ids = corpus.movie_ids
    if movie_ids is None:
        ids = list(all_ids)
    else:
        wanted = {str(m) for m in movie_ids}
        missing = sorted(wanted - set(all_ids))
        if missing:
            raise UserError(
                f"{corpus.root / 'catalog.parquet'}: no movie {missing[0]!r} "
                f"({len(missing)} requested movie(s) not in the catalog)"
            )
        ids = [m for m in all_ids if m in wanted]
    tables = [
        SOURCES[name](corpus, ids, k, seed=seed, synopsis_encoder=synopsis_encoder, window=window)
        for name in names
    ]
    return combine(tables)


# ----------------------------------------------------------------------------- negatives


def _undirected(pairs: pa.Table) -> set[tuple[str, str]]:
    check_pairs(pairs)
    a = pairs.column("movie_a").to_pylist()
    b = pairs.column("movie_b").to_pylist()
    return {(x, y) if x <= y else (y, x) for x, y in zip(a, b, strict=True) if x != y}


def negative_pairs(
    pairs: pa.Table, movie_ids: Sequence[str], n: int, *, seed: int = 0
) -> list[tuple[str, str]]:
    """Random ordered movie pairs that no source calls similar (the paper's "0 otherwise").

    Draws ``n`` distinct ordered pairs (a, b) of ``movie_ids`` with a ≠ b and neither
    (a, b) nor (b, a) in ``pairs``. The result depends only on the set of movies, the
    pairs and ``seed``.

    Args:
        pairs: a :data:`PAIRS` table (pairs naming other movies are ignored).
        movie_ids: the movies to draw from.
        n: number of pairs.
        seed: random seed.

    Returns:
        ``n`` (movie_a, movie_b) tuples in draw order.

    Raises:
        ValueError: fewer than ``n`` dissimilar ordered pairs exist.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    ids = sorted({str(m) for m in movie_ids})
    index = {m: i for i, m in enumerate(ids)}
    M = len(ids)
    similar: set[tuple[int, int]] = set()
    for x, y in _undirected(pairs):
        if x in index and y in index:
            similar.add((index[x], index[y]))
            similar.add((index[y], index[x]))
    available = M * (M - 1) - len(similar)
    if n > available:
        raise ValueError(f"only {available} dissimilar ordered pairs among {M} movies, {n} asked")
    rng = np.random.default_rng(seed)
    chosen: dict[tuple[int, int], None] = {}
    if 2 * n > available:  # dense: enumerate every candidate and shuffle
        candidates = [
            (i, j) for i in range(M) for j in range(M) if i != j and (i, j) not in similar
        ]
        for c in rng.permutation(len(candidates))[:n]:
            chosen[candidates[int(c)]] = None
    else:  # sparse: rejection sampling
        while len(chosen) < n:
            draws = rng.integers(0, M, size=(2 * (n - len(chosen)) + 16, 2))
            for i, j in draws.tolist():
                if i != j and (i, j) not in similar and (i, j) not in chosen:
                    chosen[(i, j)] = None
                    if len(chosen) == n:
                        break
    return [(ids[i], ids[j]) for i, j in chosen]


def pairs_agreement(a: pa.Table, b: pa.Table) -> float:
    """Fraction of ``a``'s undirected pairs that ``b`` also names (in either direction).

    Returns:
        A value in [0, 1]; NaN when ``a`` has no pairs.
    """
    pairs_a, pairs_b = _undirected(a), _undirected(b)
    if not pairs_a:
        return float("nan")
    return len(pairs_a & pairs_b) / len(pairs_a)
