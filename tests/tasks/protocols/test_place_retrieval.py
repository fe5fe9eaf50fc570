"""Place retrieval keeps every query's precision: the units of its standard error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from movierep.demo.verdicts import Estimate
from movierep.metrics.retrieval import precision_at_k, precision_per_query
from movierep.tasks.protocols.place_retrieval import place_retrieval, place_retrieval_per_query

GALLERY = ["a", "a", "b", "c"]
NEIGHBOURS = np.array([[0, 2, 1], [2, 3, 0], [3, 0, 1]])
QUERIES = ["a", "b", "a"]


def test_every_querys_precision_by_hand() -> None:
    out = precision_per_query(QUERIES, GALLERY, NEIGHBOURS, ks=(1, 3))
    # P@1: a, b, c retrieved first -> 1, 1, 0; P@3: {a,b,a} 2/3, {b,c,a} 1/3, {c,a,a} 2/3
    np.testing.assert_allclose(out["all"][1], [1, 1, 0])
    np.testing.assert_allclose(out["all"][3], [2 / 3, 1 / 3, 2 / 3])
    np.testing.assert_allclose(out["a"][1], [1, 0])
    np.testing.assert_allclose(out["b"][3], [1 / 3])
    means = precision_at_k(QUERIES, GALLERY, NEIGHBOURS, ks=(1, 3))
    assert means["all"][1] == pytest.approx(2 / 3) and means["a"][3] == pytest.approx(2 / 3)
    # 1, 1, 0: mean 2/3, sd 1/√3, se 1/3 over the three queries
    e = Estimate.of((100 * out["all"][1]).tolist(), "queries")
    assert e.mean == pytest.approx(200 / 3) and e.se == pytest.approx(100 / 3)
    assert (e.n, e.spread) == (3, "queries (3)")


def test_per_query_retrieval_averages_to_the_table() -> None:
    rng = np.random.default_rng(0)
    gallery, query = rng.normal(size=(30, 4)), rng.normal(size=(9, 4))
    g_lab = rng.choice(["x", "y"], 30).tolist()
    q_lab = rng.choice(["x", "y"], 9).tolist()
    per_query = place_retrieval_per_query(query, q_lab, gallery, g_lab)
    table = place_retrieval(query, q_lab, gallery, g_lab)
    assert set(per_query) == set(table) and len(per_query["all"][5]) == 9
    for place, by_k in per_query.items():
        for k, values in by_k.items():
            assert float(values.mean()) == pytest.approx(table[place][k])
    assert sum(len(v[1]) for p, v in per_query.items() if p != "all") == 9
    assert all(math.isfinite(x) for x in per_query["all"][10])
