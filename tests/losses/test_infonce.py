"""InfoNCE and NT-Xent against loops written straight from the formulas."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from movierep.losses.infonce import info_nce, nt_xent


def _loop_info_nce(q, k, neg, tau, in_batch):  # type: ignore[no-untyped-def]
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    neg = F.normalize(neg, dim=-1) if neg is not None else torch.zeros(0, q.shape[1])
    total = 0.0
    for i in range(q.shape[0]):
        pos = math.exp(float(q[i] @ k[i]) / tau)
        den = pos
        if in_batch:
            den += sum(math.exp(float(q[i] @ k[j]) / tau) for j in range(k.shape[0]) if j != i)
        den += sum(math.exp(float(q[i] @ n) / tau) for n in neg)
        total += -math.log(pos / den)
    return total / q.shape[0]


@pytest.mark.parametrize("in_batch", [True, False])
@pytest.mark.parametrize(("B", "K"), [(1, 0), (4, 7), (5, 3)])
def test_info_nce_matches_loop(in_batch: bool, B: int, K: int) -> None:
    g = torch.Generator().manual_seed(B * 10 + K)
    q, k = torch.randn(B, 6, generator=g), torch.randn(B, 6, generator=g)
    neg = torch.randn(K, 6, generator=g) if K else None
    got = info_nce(q, k, neg, temperature=0.1, in_batch=in_batch)
    assert float(got) == pytest.approx(_loop_info_nce(q, k, neg, 0.1, in_batch), rel=1e-4)


def test_nt_xent_matches_loop_over_2b_views() -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    tau = 0.5
    z = F.normalize(torch.cat([z1, z2]), dim=-1)
    n = z.shape[0]
    total = 0.0
    for i in range(n):
        pos = (i + 4) % n
        den = sum(math.exp(float(z[i] @ z[j]) / tau) for j in range(n) if j != i)
        total += -math.log(math.exp(float(z[i] @ z[pos]) / tau) / den)
    assert float(nt_xent(z1, z2, temperature=tau)) == pytest.approx(total / n, rel=1e-5)


def test_perfectly_aligned_pairs_give_the_analytic_minimum() -> None:
    # one positive at cosine 1 and orthogonal negatives: -log(e^{1/τ} / (e^{1/τ} + (2B-2)))
    z = torch.eye(3)
    tau = 0.1
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 4))
    assert float(nt_xent(z, z.clone(), temperature=tau)) == pytest.approx(expected, abs=1e-6)
