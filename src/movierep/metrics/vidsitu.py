"""VidSitu's verb and event-relation metrics, as its official evaluator computes them.

Sadhu et al., "Visual Semantic Role Labeling for Video Understanding", CVPR 2021; the
evaluator is ``vidsitu_code/evl_fns.py`` of TheShadow29/VidSitu
(``EvlFn_Vb.vb_classf_metrics_all`` and ``EvlFn_EvRel.simple_acc_evrel``), described in
../shared/benchmarks/vidsitu.md §2.1 and §2.3; the rules below were checked against its
source.

**Verbs.** Each event of a validation clip has up to 10 annotators' verbs ``gt`` (duplicates
kept) and the model ranks 5 verbs ``hyp``.

- Acc@K (``Per_Ev_Top_K``) = mean over all events of ``[set(hyp[:K]) ∩ set(gt) ≠ ∅]``: a hit
  on *any* annotator's verb counts.
- Recall@5 (``recall_macro_1_th_9``): for every event and every verb ``u`` with at least 2
  votes in its ``gt``, record ``[u ∈ hyp[:5]]`` under ``u``; average each verb's records
  and then the verbs with more than 9 records (macro recall over verbs that annotators
  agree on often enough).

**Event relations.** For each clip and each of Ev1, Ev2, Ev4, Ev5 (relative to Ev3) there
are 3 annotators' labels ``gt`` (file order) and 3 predictions ``hyp`` (prediction ``i``
was made from annotator ``i``'s verbs and roles).

- ``maj`` = the most common of ``gt`` (ties: the first encountered), kept only if at least
  2 annotators chose it.
- Every annotator ``i`` with ``gt[i] == maj`` gives one record ``(hyp[i] == maj, maj)``.
- Top-1 = mean correctness over the records; Mean-Acc (``Macro_Top_1``) = the unweighted
  mean over classes of each class's mean correctness.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)

#: VidSitu's headline verb metrics (``EvalB.met_keys``), by the papers' names.
VERB_METRICS = ("Acc@1", "Acc@5", "Recall@5")


def verb_accuracy_at_k(
    hyps: Mapping[K, Sequence[str]], gts: Mapping[K, Sequence[str]], k: int
) -> float:
    """Acc@K: the fraction of events whose top-K verbs include any annotator's verb.

    Args:
        hyps: event key -> ranked verbs (at least K; VidSitu submits 5).
        gts: event key -> the annotators' verbs (up to 10, duplicates kept).
        k: K.
    """
    if not gts:
        raise ValueError("no events to score")
    hits = [bool(set(hyps[key][:k]) & set(gt)) for key, gt in gts.items()]
    return float(np.mean(hits))


def verb_recall_at_5(
    hyps: Mapping[K, Sequence[str]],
    gts: Mapping[K, Sequence[str]],
    *,
    min_votes: int = 2,
    min_events: int = 10,
) -> float:
    """Macro recall@5 over verbs with at least ``min_events`` agreed events (VidSitu's ``th_9``).

    Args:
        hyps: event key -> ranked verbs (the first 5 count).
        gts: event key -> the annotators' verbs.
        min_votes: annotators that must agree on a verb for an event to count for it (2).
        min_events: a verb is averaged in only with this many counting events (10, i.e.
            more than the evaluator's threshold 9).

    Returns:
        The macro recall; 0 when no verb has enough events (the evaluator's ``get_avg``
        of an empty list).
    """
    records: dict[str, list[bool]] = {}
    for key, gt in gts.items():
        top5 = set(hyps[key][:5])
        for verb, votes in Counter(gt).items():
            if votes >= min_votes:
                records.setdefault(verb, []).append(verb in top5)
    per_verb = [np.mean(r) for r in records.values() if len(r) >= min_events]
    return float(np.mean(per_verb)) if per_verb else 0.0


def verb_metrics(
    hyps: Mapping[K, Sequence[str]], gts: Mapping[K, Sequence[str]]
) -> dict[str, float]:
    """Acc@1, Acc@5 and Recall@5 of ranked verb predictions (see the module docstring)."""
    return {
        "Acc@1": verb_accuracy_at_k(hyps, gts, 1),
        "Acc@5": verb_accuracy_at_k(hyps, gts, 5),
        "Recall@5": verb_recall_at_5(hyps, gts),
    }


def relation_metrics(
    hyps: Mapping[K, Sequence[str]], gts: Mapping[K, Sequence[str]]
) -> dict[str, float]:
    """VidSitu's event-relation Mean-Acc and Top-1 with its majority-of-3 rule.

    Args:
        hyps: pair key (clip, event) -> one predicted relation per annotator.
        gts: pair key -> the annotators' relations in file order (the first 3 count).

    Returns:
        ``{"Mean-Acc": ..., "Top-1": ...}``; NaN when no pair has a 2-of-3 majority.
    """
    correct: list[bool] = []
    classes: list[str] = []
    for key, labels in gts.items():
        gt = list(labels[:3])
        majority, votes = Counter(gt).most_common(1)[0]
        if votes < 2:
            continue
        hyp = hyps[key]
        for i, label in enumerate(gt):
            if label == majority:
                correct.append(hyp[i] == majority)
                classes.append(majority)
    if not correct:
        return {"Mean-Acc": float("nan"), "Top-1": float("nan")}
    flags, names = np.array(correct), np.array(classes)
    per_class = [flags[names == c].mean() for c in sorted(set(classes))]
    return {"Mean-Acc": float(np.mean(per_class)), "Top-1": float(flags.mean())}
