"""Place retrieval (Movies2Scenes Table 2): validation scenes query the training scenes by L2.

The protocol of §4.3.1 a: every query scene of the validation set retrieves its 1, 5 and
10 nearest training scenes by L2 distance between their features; precision@k says how
many share its place (:func:`movierep.metrics.retrieval.precision_at_k`). Features are
used as they are (no normalisation), as the paper compares raw encoder outputs. The
``*_per_query`` functions keep every query's precision, the units of its standard error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
from sklearn.neighbors import NearestNeighbors

from movierep.data.benchmarks.lvu import load_lvu_task
from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.metrics.retrieval import precision_per_query
from movierep.tasks.protocols.lvu import video_features


def place_retrieval_per_query(
    query: np.ndarray,
    query_places: Sequence[str],
    gallery: np.ndarray,
    gallery_places: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, dict[int, np.ndarray]]:
    """Every query's precision@k, per place and over all queries.

    Args:
        query: (Q, D) features of the validation scenes.
        query_places: (Q,) their places.
        gallery: (G, D) features of the training scenes.
        gallery_places: (G,) their places.
        ks: retrieved-set sizes (1, 5, 10); those above G are left out.

    Returns:
        ``{place: {k: (Q_place,) precisions}}`` plus ``"all"`` (``(Q,)``, query order).
    """
    k = min(max(ks), len(gallery))
    index = NearestNeighbors(n_neighbors=k, metric="euclidean").fit(gallery)
    _, neighbours = index.kneighbors(query)
    return precision_per_query(query_places, gallery_places, neighbours, [x for x in ks if x <= k])


def _means(groups: dict[str, dict[int, np.ndarray]]) -> dict[str, dict[int, float]]:
    return {label: {k: float(v.mean()) for k, v in by_k.items()} for label, by_k in groups.items()}


def place_retrieval(
    query: np.ndarray,
    query_places: Sequence[str],
    gallery: np.ndarray,
    gallery_places: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, dict[int, float]]:
    """Precision@k per place and over all queries.

    Args:
        query: (Q, D) features of the validation scenes.
        query_places: (Q,) their places.
        gallery: (G, D) features of the training scenes.
        gallery_places: (G,) their places.
        ks: retrieved-set sizes (1, 5, 10).

    Returns:
        ``{place: {k: precision}}`` plus ``"all"``.
    """
    return _means(place_retrieval_per_query(query, query_places, gallery, gallery_places, ks))


def corpus_scene_places(corpus_root: str | Path) -> pa.Table:
    """The corpus' annotated scenes as retrieval items.

    Returns:
        ``movie_id, start_time, end_time, place, split, genre, director`` per ground-truth
        scene (a ranges table for :func:`movierep.features.scene_features.extract_scene_features`).
    """
    corpus = Corpus(corpus_root)
    scenes = corpus.truth("scenes").select(["movie_id", "start_time", "end_time", "place"])
    catalog = {
        row["movie_id"]: row
        for row in corpus.catalog.select(["movie_id", "split", "genre", "director"]).to_pylist()
    }
    movies = scenes.column("movie_id").to_pylist()
    for column in ("split", "genre", "director"):
        scenes = scenes.append_column(column, pa.array([catalog[m][column] for m in movies]))
    return scenes


def retrieval_by_split(
    features: np.ndarray,
    items: pa.Table,
    query_split: str | Sequence[str] = "val",
    gallery_split: str = "train",
    label: str = "place",
) -> dict[str, dict[int, float]]:
    """:func:`place_retrieval` with ``items``' ``split`` column choosing queries and gallery.

    Args:
        features: (N, D), one row per row of ``items``.
        items: ``split`` and ``label`` columns (e.g. :func:`corpus_scene_places`).
        query_split: the queries' split (validation), or several (``("val", "test")``
            doubles the queries of a small corpus; both are unseen in training).
        gallery_split: the gallery's split (training).
        label: the column retrieved by (``place``; ``genre`` or ``director`` ask whether
            a scene's neighbours come from movies of its kind).
    """
    splits = np.asarray(items.column("split").to_pylist())
    places = items.column(label).to_pylist()
    wanted = [query_split] if isinstance(query_split, str) else list(query_split)
    q, g = np.flatnonzero(np.isin(splits, wanted)), np.flatnonzero(splits == gallery_split)
    if len(q) == 0 or len(g) == 0:
        raise UserError(f"no {query_split} queries or no {gallery_split} gallery items")
    return place_retrieval(features[q], [places[i] for i in q], features[g], [places[i] for i in g])


def lvu_place_retrieval_per_query(
    root: str | Path,
    features: pa.Table,
    source: str = "feature table",
    query_splits: Sequence[str] = ("val",),
) -> dict[str, dict[int, np.ndarray]]:
    """:func:`lvu_place_retrieval` keeping every query's precision (per place and ``"all"``).

    ``query_splits``: the splits whose videos query the train gallery (the paper: val;
    ``("val", "test")`` doubles the queries of a small corpus, both unseen in training).
    """
    gallery = load_lvu_task(Path(root), "scene", "train")
    queries = [item for s in query_splits for item in load_lvu_task(Path(root), "scene", s)]
    return place_retrieval_per_query(
        video_features(features, [item.video_id for item in queries], source),
        [str(item.class_name) for item in queries],
        video_features(features, [item.video_id for item in gallery], source),
        [str(item.class_name) for item in gallery],
    )


def lvu_place_retrieval(
    root: str | Path, features: pa.Table, source: str = "feature table"
) -> dict[str, dict[int, float]]:
    """Movies2Scenes Table 2 on an LVU folder: val scene videos query the train ones by L2.

    Each video's feature is the mean of its rows in ``features`` (``movie_id`` = the LVU
    video id); its place is the LVU ``scene`` task's class name.

    Args:
        root: an LVU folder (the real ``lvu_1.0`` release or the corpus' ``lvu/`` export).
        features: any feature table whose ``movie_id`` holds LVU video ids.
        source: the table's name, for error messages.

    Returns:
        ``{place: {k: precision}}`` plus ``"all"``.
    """
    return _means(lvu_place_retrieval_per_query(root, features, source))
