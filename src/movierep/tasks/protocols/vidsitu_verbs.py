"""VidSitu verb prediction from event features (Xiao et al. Table 4; Sadhu et al. §4.1).

Each event's feature (backbone, or backbone + TxE) feeds a classifier over the training
split's verbs (:mod:`movierep.tasks.heads.feature_classifier`). A training event's label is the
most common verb among its annotations (one per clip in VidSitu's train split), as
VidSitu's loader does. Validation events rank every verb and keep the top 5, which are
scored against the ~10 annotators' verbs with :func:`movierep.metrics.vidsitu.verb_metrics`.
The paper's protocol repeats the head's training with N seeds (default 10) and reports
mean ± standard error; the N heads train together as one ensemble.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from movierep.data.benchmarks.vidsitu import EVENT_KEYS, VidSituClip
from movierep.errors import UserError
from movierep.metrics.vidsitu import VERB_METRICS, verb_metrics
from movierep.tasks.heads.feature_classifier import (
    ClassifierConfig,
    class_scores,
    fit_classifier_ensemble,
)
from movierep.tasks.heads.protocol import ensemble_runs


def training_verbs(clips: Sequence[VidSituClip]) -> list[str]:
    """Per (clip, event) in order, the most common annotated verb (ties: first seen)."""
    out = []
    for clip in clips:
        if not clip.annotations:
            raise UserError(f"clip {clip.vid_seg_int} has no annotation to train on")
        for k in range(len(EVENT_KEYS)):
            out.append(Counter(a[k].verb_id for a in clip.annotations).most_common(1)[0][0])
    return out


def verb_predictions(
    scores: np.ndarray, vocab: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[tuple[int, int], list[str]]]:
    """Top-5 verbs of every event in VidSitu's submission layout.

    Args:
        scores: (C, 5, V) class probabilities of the split's clips in ``ann_idx`` order.
        vocab: the V verb ids.

    Returns:
        The submission (``[{"ann_idx", "pred_vbs_ev", "pred_scores_ev"}]``, builtin types
        only) and ``{(ann_idx, event): top-5}`` for the metrics.
    """
    top = np.argsort(-scores, axis=-1, kind="stable")[..., :5]  # (C, 5, 5)
    submission, ranked = [], {}
    for i in range(scores.shape[0]):
        verbs = [[vocab[j] for j in top[i, k]] for k in range(scores.shape[1])]
        probs = [[float(scores[i, k, j]) for j in top[i, k]] for k in range(scores.shape[1])]
        submission.append({"ann_idx": i, "pred_vbs_ev": verbs, "pred_scores_ev": probs})
        ranked.update({(i, k): verbs[k] for k in range(scores.shape[1])})
    return submission, ranked


def verb_votes(clips: Sequence[VidSituClip]) -> dict[tuple[int, int], list[str]]:
    """``{(ann_idx, event): the annotators' verbs}`` of an evaluation split (first 10)."""
    out = {}
    for i, clip in enumerate(clips):
        if clip.verb_votes is None:
            raise UserError(f"clip {clip.vid_seg_int} has no verb votes (vinfo vbid_lst)")
        out.update({(i, k): list(votes[:10]) for k, votes in enumerate(clip.verb_votes)})
    return out


def run_verb_task(
    train_clips: Sequence[VidSituClip],
    eval_clips: Sequence[VidSituClip],
    train_x: np.ndarray,
    eval_x: np.ndarray,
    *,
    runs: int = 10,
    head: ClassifierConfig | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Train the verb head ``runs`` times and score each on the evaluation clips.

    Args:
        train_clips: the training split's clips.
        eval_clips: the evaluation split's clips, in ``ann_idx`` order.
        train_x: training event features, (C_train, 5, D).
        eval_x: evaluation event features, (C_eval, 5, D).
        runs: N, the number of seeded runs.
        head: the classifier (default: one hidden layer of 1024).
        seed: the first run's seed (runs use ``seed`` .. ``seed + N − 1``).

    Returns:
        ``{"runs": [metrics per run], "summary": {metric: (mean, se)}, "predictions":
        the first run's submission}``.
    """
    labels = training_verbs(train_clips)
    vocab = sorted(set(labels))
    y = np.array([vocab.index(v) for v in labels])
    x = train_x.reshape(-1, train_x.shape[-1])
    gts = verb_votes(eval_clips)

    def train_all(seeds: list[int]) -> list[np.ndarray]:
        model = fit_classifier_ensemble(x, y, len(vocab), head or ClassifierConfig(), seeds)
        return list(class_scores(model, eval_x.reshape(-1, eval_x.shape[-1])))  # R × (C·5, V)

    def score_run(scores: np.ndarray) -> tuple[dict[str, float], list[dict[str, Any]]]:
        submission, ranked = verb_predictions(scores.reshape(*eval_x.shape[:2], -1), vocab)
        return verb_metrics(ranked, gts), submission

    return {**ensemble_runs(train_all, score_run, runs, seed, VERB_METRICS), "vocab": vocab}
