from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from movierep.losses.modist import modist_loss


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ref_infonce(q: np.ndarray, k: np.ndarray, queue: np.ndarray, tau: float) -> float:
    """Loop form: -log exp(q_i·k_i/τ) / (Σ_j exp(q_i·k_j/τ) + Σ_n exp(q_i·Q_n/τ))."""
    q, k = _unit(q), _unit(k)
    queue = _unit(queue) if len(queue) else queue
    losses = []
    for i in range(len(q)):
        sims = [float(q[i] @ k[j]) / tau for j in range(len(k))]
        sims += [float(q[i] @ queue[n]) / tau for n in range(len(queue))]
        losses.append(-sims[i] + math.log(sum(math.exp(s) for s in sims)))
    return float(np.mean(losses))


def ref_views(q: np.ndarray, k: np.ndarray, queue: np.ndarray, tau: float) -> float:
    """Both views' queries, each against the keys of its own half of ``k`` (rows 0..B−1:
    view 1), ``k[i]`` being query i's positive."""
    B = len(q) // 2
    return 0.5 * (ref_infonce(q[:B], k[:B], queue, tau) + ref_infonce(q[B:], k[B:], queue, tau))


def swap(k: np.ndarray) -> np.ndarray:
    """Row i -> the key of the other view of row i's video."""
    B = len(k) // 2
    return np.concatenate([k[B:], k[:B]])


@pytest.mark.parametrize(("N", "K"), [(2, 0), (4, 3), (6, 7)])
@pytest.mark.parametrize("flow_flow", [False, True])
@pytest.mark.parametrize("cross", ["same", "other"])
def test_matches_the_loop_reference(N: int, K: int, flow_flow: bool, cross: str) -> None:
    rng = np.random.default_rng(N + K)
    q_v, k_v, q_m, k_m = (rng.normal(size=(N, 5)) for _ in range(4))
    queue_v, queue_m = rng.normal(size=(K, 5)), rng.normal(size=(K, 5))
    tau, w = 0.2, 0.7
    t = [torch.from_numpy(a) for a in (q_v, k_v, q_m, k_m, queue_v, queue_m)]
    out = modist_loss(*t, temperature=tau, flow_weight=w, flow_flow=flow_flow, cross_positive=cross)
    c_v, c_m = (k_v, k_m) if cross == "same" else (swap(k_v), swap(k_m))
    expected = {
        "vv": ref_views(q_v, swap(k_v), queue_v, tau),  # always the other view
        "vm": ref_views(q_v, c_m, queue_m, tau),  # visual query, flow keys and flow queue
        "mv": ref_views(q_m, c_v, queue_v, tau),
    }
    if flow_flow:
        expected["mm"] = ref_views(q_m, swap(k_m), queue_m, tau)
    assert set(out) == {"loss", *expected}
    for name, value in expected.items():
        assert out[name].item() == pytest.approx(value, rel=1e-9)
    total = expected["vv"] + w * (expected["vm"] + expected["mv"]) + expected.get("mm", 0.0)
    assert out["loss"].item() == pytest.approx(total, rel=1e-9)


def test_perfect_alignment_gives_a_small_loss_and_shapes_are_checked() -> None:
    e = torch.eye(4)
    other = e.roll(2, dims=0)  # queries equal to the other view's keys
    out = modist_loss(other, e, other, e, temperature=0.05, cross_positive="other")
    assert out["loss"].item() < 1e-6
    same = modist_loss(e, e, e, e, temperature=0.05, cross_positive="same")
    assert same["vm"].item() < 1e-6 and same["vv"].item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="must all be"):
        modist_loss(e, e, e, e[:3])
    with pytest.raises(ValueError, match="cross_positive"):
        modist_loss(e, e, e, e, cross_positive="next")


def test_a_querys_own_clip_is_never_its_negative() -> None:
    """The momentum key of the query's own clip is not in its visual-visual denominator:
    queries identical to their own clips' keys lose nothing for it."""
    rng = np.random.default_rng(0)
    B = 3
    own = _unit(rng.normal(size=(2 * B, 8)))  # keys in the queries' order: each its own clip
    t = [torch.from_numpy(a) for a in (own, own, own, own)]
    out = modist_loss(*t, temperature=0.1)
    assert out["vv"].item() == pytest.approx(ref_views(own, swap(own), np.zeros((0, 8)), 0.1))
    # had the own-clip key been a negative, it would sit at cosine 1 in every denominator
    pooled = ref_infonce(own, swap(own), np.zeros((0, 8)), 0.1)
    assert pooled > out["vv"].item() + 1.0
