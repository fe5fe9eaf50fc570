"""VidSitu's verb and relation metrics against hand-worked cases and a loop over annotators."""

from __future__ import annotations

import math

import numpy as np
import pytest

from movierep.metrics.vidsitu import (
    relation_metrics,
    verb_accuracy_at_k,
    verb_metrics,
    verb_recall_at_5,
)


def test_verb_accuracy_counts_a_hit_on_any_annotator() -> None:
    gts = {
        ("v1", 1): ["run"] * 6 + ["walk"] * 4,
        ("v1", 2): ["talk"] * 9 + ["shout"],
        ("v2", 1): ["hit"] * 5 + ["push"] * 5,
    }
    hyps = {
        ("v1", 1): ["walk", "jump", "sit", "hit", "talk"],  # minority verb at rank 1: a hit
        ("v1", 2): ["yell", "shout", "talk", "a", "b"],  # rank 2
        ("v2", 1): ["kiss", "a", "b", "c", "push"],  # rank 5
    }
    assert verb_accuracy_at_k(hyps, gts, 1) == pytest.approx(1 / 3)
    assert verb_accuracy_at_k(hyps, gts, 2) == pytest.approx(2 / 3)
    assert verb_accuracy_at_k(hyps, gts, 5) == 1.0


def test_verb_accuracy_matches_a_loop_over_annotators() -> None:
    rng = np.random.default_rng(0)
    verbs = [f"v{i}" for i in range(12)]
    gts = {e: list(rng.choice(verbs, size=rng.integers(1, 11))) for e in range(300)}
    hyps = {e: list(rng.permutation(verbs)[:5]) for e in range(300)}
    for k in (1, 3, 5):
        hits = 0
        for e, gt in gts.items():
            hits += any(annotator == h for annotator in gt for h in hyps[e][:k])
        assert verb_accuracy_at_k(hyps, gts, k) == pytest.approx(hits / 300)


def test_recall_at_5_is_macro_over_verbs_agreed_on_in_enough_events() -> None:
    gts, hyps = {}, {}
    # "run": agreed (2+ votes) in 10 events, found in 7 of them -> 0.7
    for e in range(10):
        gts[("r", e)] = ["run", "run", "walk"]
        hyps[("r", e)] = ["run", "a", "b", "c", "d"] if e < 7 else ["a", "b", "c", "d", "e"]
    # "talk": agreed in 12 events, found in all -> 1.0; "shout" has single votes only
    for e in range(12):
        gts[("t", e)] = ["talk", "talk", "shout"]
        hyps[("t", e)] = ["x", "x", "x", "x", "talk"]
    # "sit": agreed in 9 events only (too few for threshold 9), never found
    for e in range(9):
        gts[("s", e)] = ["sit", "sit"]
        hyps[("s", e)] = ["a", "b", "c", "d", "e"]
    assert verb_recall_at_5(hyps, gts) == pytest.approx((0.7 + 1.0) / 2)
    assert verb_recall_at_5(hyps, gts, min_events=9) == pytest.approx((0.7 + 1.0 + 0.0) / 3)
    assert verb_recall_at_5(hyps, gts, min_events=100) == 0.0  # as the evaluator's get_avg([])
    m = verb_metrics(hyps, gts)
    assert set(m) == {"Acc@1", "Acc@5", "Recall@5"}
    assert m["Acc@5"] == pytest.approx((7 + 12) / 31)


def test_relations_keep_two_of_three_majorities_and_count_each_agreeing_annotator() -> None:
    gts = {
        ("a", 1): ["Causes", "Causes", "Enables"],  # maj Causes, annotators 0 and 1
        ("a", 2): ["NoRel", "NoRel", "NoRel"],  # maj NoRel, all three
        ("a", 4): ["Causes", "Enables", "NoRel"],  # no majority: dropped
        ("a", 5): ["Enables", "Reaction To", "Enables"],  # maj Enables, annotators 0 and 2
    }
    hyps = {
        ("a", 1): ["Causes", "Enables", "Causes"],  # 1 of 2 right
        ("a", 2): ["NoRel", "NoRel", "Causes"],  # 2 of 3
        ("a", 4): ["Causes", "Enables", "NoRel"],
        ("a", 5): ["Enables", "Enables", "Causes"],  # annotator 0 right, 2 wrong: 1 of 2
    }
    m = relation_metrics(hyps, gts)
    assert m["Top-1"] == pytest.approx(4 / 7)
    assert m["Mean-Acc"] == pytest.approx((1 / 2 + 2 / 3 + 1 / 2) / 3)
    assert math.isnan(relation_metrics(hyps, {("a", 4): gts[("a", 4)]})["Top-1"])
