"""Frozen-feature evaluation: cosine k-nearest-neighbour accuracy and a linear probe.

Used by the learning tests ("pretrained features beat the same network randomly
initialised") and by reports. The kNN classifier is the usual self-supervised monitor
(Wu et al. 2018, DINO): L2-normalise features, find the k training items of highest
cosine similarity, predict their majority label (ties: the smallest label, as
scikit-learn's ``KNeighborsClassifier``). Queries are scored either against a separate
training set, or leave-one-group-out: each query's neighbours exclude every item of its
own group (e.g. its movie), so a feature cannot win by recognising the movie it comes from.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike


def knn_predict(
    train_x: ArrayLike,
    train_y: ArrayLike,
    query_x: ArrayLike,
    *,
    k: int = 5,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Majority label of the k most cosine-similar training items of each query.

    Args:
        train_x: (N, D) training features.
        train_y: (N,) integer labels.
        query_x: (Q, D) query features.
        k: neighbours (capped at the number of eligible training items).
        exclude: optional (Q, N) boolean mask of training items a query may not use.

    Returns:
        (Q,) predicted labels.
    """
    xs = _normalize(np.asarray(train_x, dtype=np.float64))
    xq = _normalize(np.asarray(query_x, dtype=np.float64))
    ys = np.asarray(train_y, dtype=np.int64)
    sim = xq @ xs.T  # (Q, N) cosine similarity
    if exclude is not None:
        sim = np.where(exclude, -np.inf, sim)
    k = min(k, xs.shape[0])
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # (Q, k)
    n_classes = int(ys.max()) + 1
    preds = np.empty(xq.shape[0], dtype=np.int64)
    for q, idx in enumerate(order):
        idx = idx[np.isfinite(sim[q, idx])]
        votes = np.bincount(ys[idx], minlength=n_classes)
        preds[q] = int(np.argmax(votes))
    return preds


def knn_accuracy(
    train_x: ArrayLike,
    train_y: ArrayLike,
    query_x: ArrayLike,
    query_y: ArrayLike,
    *,
    k: int = 5,
) -> float:
    """Top-1 accuracy of :func:`knn_predict` on a held-out query set."""
    preds = knn_predict(train_x, train_y, query_x, k=k)
    return float(np.mean(preds == np.asarray(query_y)))


def knn_accuracy_leave_group_out(
    x: ArrayLike, y: ArrayLike, groups: ArrayLike, *, k: int = 5
) -> float:
    """Leave-one-group-out kNN accuracy: every item is a query; its own group is excluded.

    A query never counts items of its own group (e.g. its movie) among its neighbours.

    Args:
        x: (N, D) features.
        y: (N,) integer labels.
        groups: (N,) group of each item (e.g. movie id); a query never sees its group.
        k: neighbours.

    Returns:
        Mean top-1 accuracy over the items that have at least one eligible neighbour.
    """
    g = np.asarray(groups)
    exclude = g[:, None] == g[None, :]  # (N, N)
    usable = ~exclude.all(axis=1)
    if not usable.any():
        raise ValueError("leave-group-out kNN needs at least two groups")
    x = np.asarray(x)
    y = np.asarray(y)
    preds = knn_predict(x, y, x[usable], k=k, exclude=exclude[usable])
    return float(np.mean(preds == y[usable]))


def linear_probe_predict(
    train_x: ArrayLike,
    train_y: ArrayLike,
    test_x: ArrayLike,
    *,
    c: float = 1.0,
    max_iter: int = 1000,
) -> np.ndarray:
    """Predictions of a logistic-regression probe on standardised frozen features.

    Args:
        train_x: (N, D) training features.
        train_y: (N,) labels.
        test_x: (Q, D) test features.
        c: inverse L2 regularisation strength of scikit-learn's ``LogisticRegression``.
        max_iter: solver iterations.

    Returns:
        (Q,) predicted labels.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    probe.fit(np.asarray(train_x), np.asarray(train_y))
    out: np.ndarray = probe.predict(np.asarray(test_x))
    return out


def linear_probe_accuracy(
    train_x: ArrayLike,
    train_y: ArrayLike,
    test_x: ArrayLike,
    test_y: ArrayLike,
    *,
    c: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Accuracy of :func:`linear_probe_predict` on ``(test_x, test_y)``."""
    preds = linear_probe_predict(train_x, train_y, test_x, c=c, max_iter=max_iter)
    return float(np.mean(preds == np.asarray(test_y)))


def mean_class_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean over the classes present in ``y_true`` of their recall (macro accuracy)."""
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(np.asarray(y_true), np.asarray(y_pred)))


def _normalize(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return out


def event_knn_accuracy(features: pa.Table, truth: pa.Table, column: str, *, k: int = 5) -> float:
    """Leave-one-movie-out kNN accuracy of event features on a label of annotated events.

    Args:
        features: an ``event_features`` table (``movie_id, event_index, feature``).
        truth: annotated events (``movie_id, event_index`` and ``column``), e.g. a corpus's
            ``truth/events.parquet``; features without an annotation are ignored.
        column: the label column (``"verb"``, ``"place"``).
        k: neighbours.

    Returns:
        Top-1 accuracy; a query's neighbours never come from its own movie.
    """
    from movierep.tables import to_numpy_embeddings

    label = {
        (m, i): y
        for m, i, y in zip(
            truth.column("movie_id").to_pylist(),
            truth.column("event_index").to_pylist(),
            truth.column(column).to_pylist(),
            strict=True,
        )
        if y is not None
    }
    keys = list(
        zip(
            features.column("movie_id").to_pylist(),
            features.column("event_index").to_pylist(),
            strict=True,
        )
    )
    keep = np.array([key in label for key in keys])
    names = sorted({str(label[key]) for key in keys if key in label})
    y = np.array([names.index(str(label[key])) for key in keys if key in label])
    groups = np.array([key[0] for key in keys if key in label])
    x = to_numpy_embeddings(features.column("feature"))[keep]
    return knn_accuracy_leave_group_out(x, y, groups, k=k)
