"""Per-class average precision: MovieNet place tagging (mAP) and video moderation (AP per class).

**Place tagging** follows ../shared/benchmarks/lvu_movienet.md §B.6 (the protocol of
Movies2Scenes Table 4 and its supplementary): scene segments carry several of 90 place tags
(multi-hot targets) and the metric is the test mAP,

    mAP = mean over classes c with at least one positive of
          ``sklearn.metrics.average_precision_score(y[:, c], s[:, c])``;

classes without a positive in the evaluated set have no defined AP and are skipped (they are
absent from the returned per-class dict, so ``set(range(C)) - ap.keys()`` lists them).

**Moderation** follows Movies2Scenes Table 6: one label per clip among the corpus' own
classes (e.g. sex / violence / drug-use, plus a "none" class), AP of each class one-vs-rest
(``average_precision_score(y == c, s[:, c])``), and their average over the *content* classes
only: classes named in ``exclude`` (default ``("none",)``) keep their AP in the output but are
left out of the mean. Class names are taken as given.

All values are on a 0–1 scale (papers print ×100).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score

#: The key of the mean in ``per_class_average_precision``'s result.
MEAN_KEY = "mean"


def mean_average_precision(
    y_true: np.ndarray, scores: np.ndarray
) -> tuple[float, dict[int, float]]:
    """Multi-label mAP over the classes that have a positive (place tagging, M2S Table 4).

    Args:
        y_true: (N, C) 0/1 multi-hot targets.
        scores: (N, C) class scores (probabilities or logits).

    Returns:
        ``(mAP, {class index: AP})``; the dict holds only the classes with at least one
        positive, which are the ones averaged.

    Raises:
        ValueError: shapes differ, or no class has a positive.
    """
    y, s = np.asarray(y_true), np.asarray(scores, np.float64)
    if y.ndim != 2 or y.shape != s.shape:
        raise ValueError(f"y_true {y.shape} and scores {s.shape} must both be (N, C)")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must be 0/1")
    per_class = {
        c: float(average_precision_score(y[:, c], s[:, c]))
        for c in range(y.shape[1])
        if y[:, c].any()
    }
    if not per_class:
        raise ValueError("no class has a positive: mAP is undefined")
    return float(np.mean(list(per_class.values()))), per_class


def per_class_average_precision(
    y_true: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    exclude: Iterable[str] = ("none",),
) -> dict[str, float]:
    """One-vs-rest AP of every class of a single-label task, and their mean (M2S Table 6).

    Args:
        y_true: (N,) integer class labels, indices into ``class_names``.
        scores: (N, C) class scores, column ``c`` for ``class_names[c]``.
        class_names: the C class names, as the corpus gives them.
        exclude: names kept out of the mean (Table 6 averages the content classes, not
            "none"); names absent from ``class_names`` are ignored.

    Returns:
        ``{name: AP}`` for every class (NaN for a class without a positive) plus
        ``MEAN_KEY`` ("mean"): the mean AP over the classes not excluded that have a positive.

    Raises:
        ValueError: shapes or labels do not fit, a class is named "mean", or no class to
            average has a positive.
    """
    y, s = np.asarray(y_true), np.asarray(scores, np.float64)
    names = list(class_names)
    if y.ndim != 1 or s.ndim != 2 or s.shape != (len(y), len(names)):
        raise ValueError(
            f"y_true {y.shape} and scores {s.shape} must be (N,) and (N, {len(names)})"
        )
    if not np.issubdtype(y.dtype, np.integer) or (
        y.size and (y.min() < 0 or y.max() >= len(names))
    ):
        raise ValueError(f"y_true must hold integer class indices in [0, {len(names)})")
    if MEAN_KEY in names or len(set(names)) != len(names):
        raise ValueError(f"class names must be unique and not {MEAN_KEY!r}")
    result: dict[str, float] = {}
    for c, name in enumerate(names):
        positives = y == c
        result[name] = (
            float(average_precision_score(positives, s[:, c])) if positives.any() else float("nan")
        )
    skip = set(exclude)
    averaged = [ap for name, ap in result.items() if name not in skip and not np.isnan(ap)]
    if not averaged:
        raise ValueError("no class to average has a positive")
    result[MEAN_KEY] = float(np.mean(averaged))
    return result
