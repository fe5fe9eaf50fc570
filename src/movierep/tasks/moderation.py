"""Video moderation from frozen features (Movies2Scenes §4.4, Table 6).

The corpus' ``moderation.parquet`` lists clips (``clip_id, movie_id, start_time, end_time,
label``) with one label each among the corpus' moderation classes (content classes plus
``"none"``; ``corpus.json`` ``classes.moderation``). A clip's feature is the mean of the
feature-table rows of its movie that overlap ``[start_time, end_time)`` (a row ``[s, e)``
overlaps when ``s < end_time`` and ``e > start_time``), so event, shot or scene tables all
work. A 4-way MLP with 2 hidden layers (the Movies2Scenes head; widths and steps are a small
CPU profile of our choosing) is trained on the clips of the catalog's ``train`` movies and
scored on the held-out clips (``val`` + ``test`` movies): AP of each class one-vs-rest and
the mean over the content classes, leaving ``"none"`` out
(:func:`movierep.metrics.multilabel.per_class_average_precision`). The head is trained
N times with seeds ``seed`` .. ``seed + N − 1`` (together, as one ensemble) and reported as
mean ± standard error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.metrics.multilabel import MEAN_KEY, per_class_average_precision
from movierep.tables import read_table, require_columns, row_groups, to_numpy_embeddings
from movierep.tasks.feature_classifier import (
    ClassifierConfig,
    class_scores,
    fit_classifier_ensemble,
)
from movierep.tasks.protocol import ensemble_runs

TRAIN_SPLITS = ("train",)
HELD_OUT_SPLITS = ("val", "test")


@dataclass(frozen=True)
class ModerationConfig:
    """The moderation head (2 hidden layers) and the classes left out of the mean AP."""

    head: ClassifierConfig = field(
        default_factory=lambda: ClassifierConfig(
            hidden=(512, 512), dropout=0.25, steps=500, batch_size=64, lr=1e-3, weight_decay=1e-4
        )
    )
    exclude: tuple[str, ...] = ("none",)


@dataclass(frozen=True)
class ModerationClips:
    """The clips of one side of the split: ids, movie ids, times, label indices."""

    clip_id: list[str]
    movie_id: list[str]
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray


def clip_features(
    table: pa.Table,
    movie_ids: Sequence[str],
    starts: np.ndarray,
    ends: np.ndarray,
    source: str = "feature table",
    clip_ids: Sequence[str] | None = None,
) -> np.ndarray:
    """(N, D) mean of the rows of each clip's movie overlapping its ``[start, end)``.

    Raises:
        UserError: the table lacks ``movie_id``, ``start_time``, ``end_time`` or ``feature``,
            or a clip has no overlapping row (names ``source``, the clip and its movie).
    """
    require_columns(table, ["movie_id", "start_time", "end_time", "feature"], source)
    rows = row_groups(table)
    t0 = np.asarray(table.column("start_time").to_numpy(), dtype=np.float64)
    t1 = np.asarray(table.column("end_time").to_numpy(), dtype=np.float64)
    x = to_numpy_embeddings(table.column("feature"))
    out = np.zeros((len(movie_ids), x.shape[1]), dtype=np.float32)
    for k, (movie, start, end) in enumerate(zip(movie_ids, starts, ends, strict=True)):
        r = rows.get(movie, np.zeros(0, dtype=np.int64))
        hit = r[(t0[r] < end) & (t1[r] > start)]
        if len(hit) == 0:
            clip = clip_ids[k] if clip_ids is not None else f"#{k}"
            raise UserError(
                f"{source}: no feature row of movie {movie!r} overlaps moderation clip "
                f"{clip} [{start:g}, {end:g})"
            )
        out[k] = x[hit].mean(0)
    return out


def moderation_clips(
    corpus: Corpus, splits: Sequence[str], class_names: Sequence[str]
) -> ModerationClips:
    """The moderation clips of the movies in ``splits`` (catalog split), labels as indices."""
    movies = {m for s in splits for m in corpus.split_ids(s)}
    table = corpus.moderation
    require_columns(
        table,
        ["clip_id", "movie_id", "start_time", "end_time", "label"],
        corpus.root / "moderation.parquet",
    )
    keep = [i for i, m in enumerate(table.column("movie_id").to_pylist()) if m in movies]
    sub = table.take(pa.array(keep, type=pa.int64()))
    labels = [str(v) for v in sub.column("label").to_pylist()]
    unknown = sorted(set(labels) - set(class_names))
    if unknown:
        raise UserError(
            f"{corpus.root / 'moderation.parquet'}: label {unknown[0]!r} is not a moderation "
            f"class ({', '.join(class_names)})"
        )
    index = {c: i for i, c in enumerate(class_names)}
    return ModerationClips(
        clip_id=[str(v) for v in sub.column("clip_id").to_pylist()],
        movie_id=[str(v) for v in sub.column("movie_id").to_pylist()],
        start=np.asarray(sub.column("start_time").to_numpy(), dtype=np.float64),
        end=np.asarray(sub.column("end_time").to_numpy(), dtype=np.float64),
        label=np.array([index[c] for c in labels], dtype=np.int64),
    )


def run_moderation(
    corpus_root: str | Path,
    features: str | Path | pa.Table,
    runs: int = 5,
    seed: int = 0,
    cfg: ModerationConfig | None = None,
) -> dict[str, Any]:
    """Train the moderation head ``runs`` times and score AP per class on held-out clips.

    Args:
        corpus_root: the corpus folder (``catalog.parquet`` splits, ``moderation.parquet``).
        features: a feature table (path or Arrow table) with ``movie_id``, ``start_time``,
            ``end_time`` and ``feature``.
        runs: N, the number of seeded runs.
        seed: the first run's seed.
        cfg: head and excluded classes (default :class:`ModerationConfig`).

    Returns:
        ``{"classes": names, "n_train", "n_eval", "runs": [{class: AP, "mean": mAP}],
        "summary": {metric: (mean, se)}, "predictions": the first run's
        [{"clip_id", "label", "scores": {class: prob}}]}``; APs are on a 0–1 scale, NaN for
        a class without a held-out positive.
    """
    cfg = cfg or ModerationConfig()
    corpus = Corpus(corpus_root)
    names = corpus.classes("moderation")
    if isinstance(features, pa.Table):
        table, source = features, "feature table"
    else:
        table, source = read_table(features), str(features)
    train = moderation_clips(corpus, TRAIN_SPLITS, names)
    held = moderation_clips(corpus, HELD_OUT_SPLITS, names)
    if len(train.label) == 0 or len(held.label) == 0:
        raise UserError(f"{corpus.root}: no moderation clip in the train or held-out movies")
    x_train = clip_features(table, train.movie_id, train.start, train.end, source, train.clip_id)
    x_held = clip_features(table, held.movie_id, held.start, held.end, source, held.clip_id)

    def train_all(seeds: list[int]) -> list[np.ndarray]:
        heads = fit_classifier_ensemble(x_train, train.label, len(names), cfg.head, seeds)
        return list(class_scores(heads, x_held))  # R × (N, C)

    def score_run(scores: np.ndarray) -> tuple[dict[str, float], list[dict[str, Any]]]:
        ap = per_class_average_precision(held.label, scores, names, cfg.exclude)
        predictions = [
            {
                "clip_id": clip,
                "label": names[int(y)],
                "scores": {n: float(s) for n, s in zip(names, row, strict=True)},
            }
            for clip, y, row in zip(held.clip_id, held.label, scores, strict=True)
        ]
        return ap, predictions

    result = ensemble_runs(train_all, score_run, runs, seed, [*names, MEAN_KEY])
    return {
        "classes": list(names),
        "n_train": len(train.label),
        "n_eval": len(held.label),
        **result,
    }
