"""Shot-boundary precision / recall / F1 with a frame tolerance (the usual SBD protocol).

A predicted boundary matches a true one when they are at most ``tolerance`` frames apart;
each true boundary is matched at most once (greedy in time order, which is optimal for
1-D matching with a symmetric window). A boundary is the first frame of a new shot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BoundaryScore:
    """Matched counts and the resulting precision, recall and F1."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    num_predicted: int
    num_true: int


def boundary_f1(
    predicted: Sequence[int], truth: Sequence[int], tolerance: int = 2
) -> BoundaryScore:
    """Score predicted boundary frames against true ones.

    Args:
        predicted: frame indices where predicted shots start (the first shot excluded).
        truth: frame indices where true shots start (the first shot excluded).
        tolerance: largest |predicted - true| distance, in frames, that counts as a hit.
    """
    pred, true = sorted(predicted), sorted(truth)
    i = j = tp = 0
    while i < len(pred) and j < len(true):
        if abs(pred[i] - true[j]) <= tolerance:
            tp, i, j = tp + 1, i + 1, j + 1
        elif pred[i] < true[j]:
            i += 1
        else:
            j += 1
    precision = tp / len(pred) if pred else float(not true)
    recall = tp / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return BoundaryScore(precision, recall, f1, tp, len(pred), len(true))
