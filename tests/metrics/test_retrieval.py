import numpy as np
import pytest

from movierep.metrics.retrieval import precision_at_k
from movierep.tasks.protocols.place_retrieval import place_retrieval


def test_precision_at_k_by_hand() -> None:
    gallery = ["a", "a", "b", "c"]
    neighbours = np.array([[0, 2, 1], [2, 3, 0], [3, 0, 1]])
    out = precision_at_k(["a", "b", "a"], gallery, neighbours, ks=(1, 3))
    assert out["a"] == {1: 0.5, 3: pytest.approx((2 / 3 + 2 / 3) / 2)}
    assert out["b"] == {1: 1.0, 3: pytest.approx(1 / 3)}
    assert out["all"][1] == pytest.approx(2 / 3)


def test_place_retrieval_against_brute_force_l2() -> None:
    rng = np.random.default_rng(0)
    gallery, query = rng.normal(size=(40, 5)), rng.normal(size=(12, 5))
    g_lab = rng.choice(["x", "y", "z"], 40).tolist()
    q_lab = rng.choice(["x", "y", "z"], 12).tolist()
    out = place_retrieval(query, q_lab, gallery, g_lab, ks=(1, 5, 10))
    dist = ((query[:, None] - gallery[None]) ** 2).sum(-1)
    order = np.argsort(dist, axis=1, kind="stable")
    for k in (1, 5, 10):
        p = [np.mean([g_lab[j] == q_lab[i] for j in order[i, :k]]) for i in range(12)]
        assert out["all"][k] == pytest.approx(np.mean(p))
        xs = [p[i] for i in range(12) if q_lab[i] == "x"]
        assert out["x"][k] == pytest.approx(np.mean(xs))
