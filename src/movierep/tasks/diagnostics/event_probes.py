"""Probe event features against the corpus' ground truth (verb and place of each 2 s event).

The measurement behind "does pretraining help": frozen event features (backbone ``feature``
or TxE ``context_feature``) are joined with ``truth/events.parquet`` on
``(movie_id, event_index)`` and scored with leave-one-movie-out kNN (a query never sees
events of its own movie, so a probe cannot win by recognising the movie) and with a
logistic-regression probe trained on the catalog's train split and tested on the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.tables import to_numpy_embeddings
from movierep.tasks.diagnostics.probe import knn_accuracy_leave_group_out, linear_probe_accuracy

LABELS = ("verb", "place")


@dataclass(frozen=True)
class EventProbe:
    """Accuracies of one feature column on one label (``chance`` = majority-class rate)."""

    label: str
    knn: float
    linear: float
    chance: float
    num_events: int


def labelled_features(
    features: pa.Table, corpus: str | Path, column: str = "feature"
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Join a features table with the corpus' event truth.

    Returns:
        ``x`` (E, D) features, ``labels`` {name: (E,) int class ids}, ``movies`` (E,) movie
        ids and ``train`` (E,) bool (the movie is in the catalog's train split).
    """
    c = Corpus(corpus)
    if column not in features.column_names:
        raise UserError(f"features table has no column {column!r}")
    truth = c.truth("events").select(["movie_id", "event_index", *LABELS]).to_pylist()
    by_key = {(r["movie_id"], r["event_index"]): r for r in truth}
    split = dict(
        zip(c.catalog["movie_id"].to_pylist(), c.catalog["split"].to_pylist(), strict=True)
    )
    keys = list(
        zip(features["movie_id"].to_pylist(), features["event_index"].to_pylist(), strict=True)
    )
    keep = np.array([k in by_key for k in keys])
    if not keep.any():
        raise UserError(f"{corpus}: no feature row matches an annotated event")
    x = to_numpy_embeddings(features[column])[keep]
    rows = [by_key[k] for k, ok in zip(keys, keep, strict=True) if ok]
    labels = {}
    for name in LABELS:
        values = [r[name] for r in rows]
        vocab = {v: i for i, v in enumerate(sorted(set(values)))}
        labels[name] = np.array([vocab[v] for v in values])
    movies = np.array([r["movie_id"] for r in rows])
    train = np.array([split[m] == "train" for m in movies])
    return x, labels, movies, train


def probe_event_features(
    features: pa.Table, corpus: str | Path, column: str = "feature", k: int = 10
) -> list[EventProbe]:
    """Leave-one-movie-out kNN and train/held-out linear-probe accuracy for verb and place."""
    x, labels, movies, train = labelled_features(features, corpus, column)
    out = []
    for name, y in labels.items():
        knn = knn_accuracy_leave_group_out(x, y, movies, k=k)
        if train.any() and (~train).any() and len(np.unique(y[train])) > 1:
            linear = linear_probe_accuracy(x[train], y[train], x[~train], y[~train])
        else:
            linear = float("nan")
        chance = float(np.bincount(y).max() / len(y))
        out.append(EventProbe(name, knn, linear, chance, len(y)))
    return out
