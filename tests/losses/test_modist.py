from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from movierep.losses.modist import modist_loss


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ref_infonce(q: np.ndarray, k: np.ndarray, tau: float) -> float:
    """Loop form: -log exp(q_i·k_i/τ) / Σ_j exp(q_i·k_j/τ), averaged over i."""
    q, k = _unit(q), _unit(k)
    losses = []
    for i in range(len(q)):
        sims = [float(q[i] @ k[j]) / tau for j in range(len(k))]
        losses.append(-sims[i] + math.log(sum(math.exp(s) for s in sims)))
    return float(np.mean(losses))


def ref_nt_xent(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    """SimCLR loop: each of the 2B views against the other 2B - 1, positive = its pair."""
    z = _unit(np.concatenate([z1, z2]))
    B = len(z1)
    losses = []
    for i in range(2 * B):
        pos = (i + B) % (2 * B)
        denom = sum(math.exp(float(z[i] @ z[j]) / tau) for j in range(2 * B) if j != i)
        losses.append(-float(z[i] @ z[pos]) / tau + math.log(denom))
    return float(np.mean(losses))


@pytest.mark.parametrize("B", [1, 3, 6])
def test_matches_loop_reference_on_random_embeddings(B: int) -> None:
    rng = np.random.default_rng(B)
    v1, v2, m1, m2 = (rng.normal(size=(B, 5)).astype(np.float64) for _ in range(4))
    tau = 0.2
    out = modist_loss(*(torch.from_numpy(a) for a in (v1, v2, m1, m2)), temperature=tau)
    expected = {
        "vv": ref_nt_xent(v1, v2, tau),
        "mm": ref_nt_xent(m1, m2, tau),
        "vm": 0.5 * (ref_infonce(v1, m2, tau) + ref_infonce(v2, m1, tau)),
        "mv": 0.5 * (ref_infonce(m1, v2, tau) + ref_infonce(m2, v1, tau)),
    }
    for name, value in expected.items():
        assert float(out[name]) == pytest.approx(value, rel=1e-9), name
    assert float(out["loss"]) == pytest.approx(sum(expected.values()), rel=1e-9)


def test_analytic_value_for_aligned_orthogonal_embeddings() -> None:
    # Every video's four embeddings equal the same one-hot vector, videos are orthogonal:
    # positives have similarity 1, negatives 0, so with s = 1/τ
    # cross-modal: -log(e^s / (e^s + (B-1))),  NT-Xent: -log(e^s / (e^s + 2(B-1))).
    B, tau = 4, 0.1
    e = torch.eye(B, 8, dtype=torch.float64)
    out = modist_loss(e, e.clone(), e.clone(), e.clone(), temperature=tau)
    s = 1 / tau
    cross = -math.log(math.exp(s) / (math.exp(s) + (B - 1)))
    within = -math.log(math.exp(s) / (math.exp(s) + 2 * (B - 1)))
    assert float(out["vm"]) == pytest.approx(cross)
    assert float(out["mv"]) == pytest.approx(cross)
    assert float(out["vv"]) == pytest.approx(within)
    assert float(out["mm"]) == pytest.approx(within)


def test_cross_modal_terms_pair_a_view_with_the_other_views_motion() -> None:
    # v1 aligned with m2 (not m1) and v2 with m1: the cross-modal terms are at their minimum.
    B, tau = 3, 0.1
    e = torch.eye(B, 6, dtype=torch.float64)
    other = torch.eye(B, 6, dtype=torch.float64).roll(1, dims=0)
    aligned = modist_loss(e, other, other, e, temperature=tau)
    swapped = modist_loss(e, other, e, other, temperature=tau)
    assert float(aligned["vm"]) < 1e-3
    assert float(aligned["mv"]) < 1e-3
    assert float(swapped["vm"]) > 1.0


def test_weights_scale_terms_and_reject_unknown_names() -> None:
    torch.manual_seed(0)
    v1, v2, m1, m2 = (torch.randn(4, 8) for _ in range(4))
    out = modist_loss(v1, v2, m1, m2, temperature=0.1, weights={"mm": 0.0, "vm": 2.0})
    expected = out["vv"] + 2.0 * out["vm"] + out["mv"]
    torch.testing.assert_close(out["loss"], expected)
    with pytest.raises(ValueError, match="unknown MoDist loss terms"):
        modist_loss(v1, v2, m1, m2, temperature=0.1, weights={"va": 1.0})
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        modist_loss(v1, v2, m1[:2], m2, temperature=0.1)


def test_gradient_reaches_both_modalities_and_views() -> None:
    torch.manual_seed(0)
    inputs = [torch.randn(4, 8, requires_grad=True) for _ in range(4)]
    modist_loss(*inputs, temperature=0.1)["loss"].backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in inputs)
