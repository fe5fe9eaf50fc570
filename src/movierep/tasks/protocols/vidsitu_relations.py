"""VidSitu event relations from event features (Xiao et al. Table 3; Sadhu et al. §4.3).

For each clip, Ev1, Ev2, Ev4 and Ev5 are related to Ev3 by one of ``Causes``,
``Reaction To``, ``Enables``, ``NoRel``. The head classifies the concatenated features of
the pair, earlier event first, in VidSitu's order (Ev1, Ev3), (Ev2, Ev3), (Ev3, Ev4),
(Ev3, Ev5), from the backbone or from TxE. Training labels are the train annotation's
``EvRel``. VidSitu's submission has one prediction per annotator (its models read each
annotator's verbs and roles). A head that sees only the video gives the same prediction
three times. Metrics: :func:`movierep.metrics.vidsitu.relation_metrics` (Mean-Acc and
Top-1 under the 2-of-3 majority rule), mean ± s.e. over N seeded runs (trained together as
one ensemble).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from movierep.data.benchmarks.vidsitu import EVREL_KEYS, EVREL_LABELS, VidSituClip
from movierep.errors import UserError
from movierep.metrics.vidsitu import relation_metrics
from movierep.tasks.heads.feature_classifier import (
    ClassifierConfig,
    class_scores,
    fit_classifier_ensemble,
)
from movierep.tasks.heads.protocol import ensemble_runs

#: Event indices (0-based) of each pair, earlier first, in VidSitu's order.
PAIRS = ((0, 2), (1, 2), (2, 3), (2, 4))
RELATION_METRICS = ("Mean-Acc", "Top-1")


def pair_features(x: np.ndarray) -> np.ndarray:
    """Event features (C, 5, D) -> pair features (C, 4, 2D) in :data:`PAIRS` order."""
    return np.stack([np.concatenate([x[:, a], x[:, b]], axis=-1) for a, b in PAIRS], axis=1)


def annotated_relations(clip: VidSituClip, annotators: int | None = None) -> list[list[str]]:
    """Per pair (Ev1, Ev2, Ev4, Ev5 order), the annotators' relations in file order."""
    anns = clip.annotations[:annotators]
    if not anns:
        raise UserError(f"clip {clip.vid_seg_int} has no annotation with event relations")
    out = []
    for ev in EVREL_KEYS:
        k = int(ev[2:]) - 1
        out.append([str(a[k].evrel) for a in anns])
    return out


def run_relation_task(
    train_clips: Sequence[VidSituClip],
    eval_clips: Sequence[VidSituClip],
    train_x: np.ndarray,
    eval_x: np.ndarray,
    *,
    runs: int = 10,
    head: ClassifierConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Train the relation head ``runs`` times; score each on the evaluation clips.

    Args:
        train_clips: the training split's clips.
        eval_clips: the evaluation split's clips, in ``ann_idx`` order.
        train_x: training event features, (C_train, 5, D).
        eval_x: evaluation event features, (C_eval, 5, D).
        runs: N, the number of seeded runs.
        head: the classifier (default: one hidden layer of 1024).
        seed: the first run's seed (runs use ``seed`` .. ``seed + N − 1``).

    Returns:
        ``{"runs", "summary": {metric: (mean, se)}, "predictions"}``; the predictions are
        the first run's submission (``pred_evrels_ev``: 4 pairs × 3 annotators).
    """
    labels = [annotated_relations(c, 1) for c in train_clips]
    y = np.array([EVREL_LABELS.index(pair[0]) for rel in labels for pair in rel])
    x = pair_features(train_x).reshape(len(y), -1)
    gts = {
        (i, p): rel
        for i, c in enumerate(eval_clips)
        for p, rel in enumerate(annotated_relations(c, 3))
    }
    ex = pair_features(eval_x)
    pairs = range(len(PAIRS))

    def train_all(seeds: list[int]) -> list[np.ndarray]:
        model = fit_classifier_ensemble(x, y, len(EVREL_LABELS), head or ClassifierConfig(), seeds)
        return list(class_scores(model, ex.reshape(-1, ex.shape[-1])))  # R × (C·4, 4)

    def score_run(flat: np.ndarray) -> tuple[dict[str, float], list[dict[str, Any]]]:
        scores = flat.reshape(*ex.shape[:2], -1)
        best = scores.argmax(-1)
        hyps = {
            (i, p): [EVREL_LABELS[best[i, p]]] * len(gts[(i, p)])
            for i in range(len(eval_clips))
            for p in pairs
        }
        submission = [
            {
                "ann_idx": i,
                "pred_evrels_ev": [[EVREL_LABELS[best[i, p]]] * 3 for p in pairs],
                "pred_scores_ev": [[float(scores[i, p].max())] * 3 for p in pairs],
            }
            for i in range(len(eval_clips))
        ]
        return relation_metrics(hyps, gts), submission

    return ensemble_runs(train_all, score_run, runs, seed, RELATION_METRICS)
