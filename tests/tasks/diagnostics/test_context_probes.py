from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from movierep.data.corpus import Corpus
from movierep.features.extract import features_table
from movierep.tasks.diagnostics.context_probes import (
    NO_RELATION,
    event_pairs,
    masked_context_features,
    relation_probe,
    verb_from_context_probe,
)
from movierep.tasks.diagnostics.maskpred_retrieval import context_mean_predictor
from movierep.tasks.diagnostics.probe import mean_class_accuracy


def verb_one_hot(corpus: Path) -> tuple[pa.Table, dict[tuple[str, int], np.ndarray]]:
    """Every annotated event's feature is the one-hot of its own verb."""
    events = Corpus(corpus).truth("events").to_pylist()
    verbs = sorted({e["verb"] for e in events})
    x = np.eye(len(verbs), dtype=np.float32)[[verbs.index(e["verb"]) for e in events]]
    table = features_table(events, x)
    return table, {(e["movie_id"], e["event_index"]): v for e, v in zip(events, x, strict=True)}


def test_masked_context_is_the_mean_of_the_other_events_of_the_centred_window(
    tiny_corpus: Path,
) -> None:
    table, by_key = verb_one_hot(tiny_corpus)
    x, movies, index = masked_context_features(table, context_mean_predictor, num_tokens=5)
    last = {}
    for m, i in by_key:
        last[m] = max(last.get(m, 0), i)
    for row, (m, i) in enumerate(zip(movies, index, strict=True)):
        n = last[m] + 1
        start = min(max(i - 2, 0), max(n - 5, 0))  # centred, shifted inside the movie
        others = [by_key[(m, j)] for j in range(start, min(start + 5, n)) if j != i]
        np.testing.assert_allclose(x[row], np.mean(others, axis=0), atol=1e-6)


def test_verb_from_context_reads_the_masked_position(tiny_corpus: Path) -> None:
    table, _ = verb_one_hot(tiny_corpus)

    def oracle(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x  # ignores the mask: returns the hidden event itself

    def left_neighbour(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.roll(x, 1, dims=1)

    probe = verb_from_context_probe(table, tiny_corpus, oracle)
    assert probe.accuracy == 1.0
    assert probe.mean_class_accuracy == 1.0
    assert 0 < probe.majority < 1
    assert probe.num_train > 0
    assert probe.num_test > 0
    # a predictor that reads a neighbour knows less than the oracle
    assert verb_from_context_probe(table, tiny_corpus, left_neighbour).accuracy < 1.0


def test_event_pairs_label_links_and_no_relation(tiny_corpus: Path) -> None:
    c = Corpus(tiny_corpus)
    links = {
        (r["movie_id"], r["src_event"], r["dst_event"]): r["relation"]
        for r in c.truth("event_links").to_pylist()
    }
    pairs = event_pairs(tiny_corpus).to_pylist()
    n_events = c.truth("events").num_rows
    n_movies = len(set(c.truth("events")["movie_id"].to_pylist()))
    assert len(pairs) == 2 * n_events - 3 * n_movies  # (n - 1) + (n - 2) pairs per movie
    for p in pairs:
        assert p["dst_event"] - p["src_event"] in (1, 2)
        key = (p["movie_id"], p["src_event"], p["dst_event"])
        assert p["relation"] == links.get(key, NO_RELATION)
    near = {k for k in links if k[2] - k[1] in (1, 2)}
    assert near == {(p["movie_id"], p["src_event"], p["dst_event"]) for p in pairs} & near


def test_relation_probe_learns_relations_from_a_feature_that_carries_them(
    tiny_corpus: Path,
) -> None:
    """Events whose features spell out their links to the next two events.

    The tiny corpus has 44 train pairs, too few for every relation: a quarter of its
    held-out pairs are of classes the probe rarely saw, where random features stay near
    the majority rate.
    """
    c = Corpus(tiny_corpus)
    events = c.truth("events").to_pylist()
    pairs = event_pairs(tiny_corpus).to_pylist()
    relations = sorted({p["relation"] for p in pairs})
    label = {(p["movie_id"], p["src_event"], p["dst_event"]): p["relation"] for p in pairs}
    x = np.zeros((len(events), 2 * len(relations)), np.float32)
    for row, e in enumerate(events):
        for d in (1, 2):
            r = label.get((e["movie_id"], e["event_index"], e["event_index"] + d))
            if r is not None:
                x[row, (d - 1) * len(relations) + relations.index(r)] = 1.0
    table = features_table(events, x)
    probe = relation_probe(table, tiny_corpus)
    assert probe.accuracy >= 0.7
    rng = np.random.default_rng(0)
    noise = relation_probe(features_table(events, rng.normal(size=x.shape)), tiny_corpus)
    assert noise.accuracy < probe.accuracy - 0.2


def test_mean_class_accuracy_is_the_mean_of_per_class_recalls() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 0, 1, 1, 0, 2])
    assert mean_class_accuracy(y, p) == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)
