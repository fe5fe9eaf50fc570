import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chisquare

from movierep.losses.maskpred import MaskSpanSampler, maskpred_l2_loss, maskpred_loss


def test_default_sizes_follow_alpha() -> None:
    assert MaskSpanSampler(5, 0.6).sizes == (1, 2, 3)
    assert MaskSpanSampler(5, 0.8).sizes == (1, 2, 3, 4)
    assert MaskSpanSampler(10, 0.25).sizes == (1, 2)
    assert MaskSpanSampler(5, sizes=[2, 1, 2]).sizes == (1, 2)
    with pytest.raises(ValueError, match="non-empty"):
        MaskSpanSampler(5, alpha=0.1)
    with pytest.raises(ValueError, match="within"):
        MaskSpanSampler(5, sizes=[6])


@pytest.mark.parametrize(("n", "sizes"), [(5, None), (5, (1, 2, 3, 4)), (4, (2,)), (1, (1,))])
def test_uniform_sampling_distribution(n: int, sizes: tuple[int, ...] | None) -> None:
    sampler = MaskSpanSampler(n, 0.6, sizes)
    draws = 40000
    mask = sampler.sample(draws, generator=torch.Generator().manual_seed(0)).numpy()
    m = mask.sum(1)
    s = mask.argmax(1)
    # every mask is one contiguous span
    for row, mi, si in zip(mask[:200], m[:200], s[:200], strict=True):
        assert row[si : si + mi].all()
        assert row.sum() == mi
    # P(m, s) = 1/|sizes| * 1/(N - m + 1)
    cells = [(mi, si) for mi in sampler.sizes for si in range(n - mi + 1)]
    expected = np.array([draws / len(sampler.sizes) / (n - mi + 1) for mi, _ in cells])
    counts = Counter(zip(m.tolist(), s.tolist(), strict=True))
    assert set(counts) <= set(cells)
    observed = np.array([counts[c] for c in cells])
    if len(cells) > 1:
        assert chisquare(observed, expected).pvalue > 1e-3
    else:
        assert observed[0] == draws


def eq1_reference(v_hat: np.ndarray, v: np.ndarray, p: np.ndarray, tau: float) -> float:
    """Eq. 1 written out with explicit sums, in float64."""
    total = 0.0
    for t in range(len(v)):
        q = v_hat[t] / np.linalg.norm(v_hat[t])
        k = v[t] / np.linalg.norm(v[t])
        pos = math.exp(float(q @ k) / tau)
        neg = sum(math.exp(float(q @ p_i) / tau) for p_i in p)
        total += -math.log(pos / (pos + neg))
    return total / len(v)


@pytest.mark.parametrize(("M", "K"), [(1, 1), (6, 37), (3, 0)])
def test_eq1_against_explicit_sum(M: int, K: int) -> None:
    g = torch.Generator().manual_seed(M * 100 + K)
    v_hat = torch.randn(M, 8, generator=g) * 3
    v = torch.randn(M, 8, generator=g)
    p = F.normalize(torch.randn(K, 8, generator=g), dim=-1)
    ours = maskpred_loss(v_hat, v, p, temperature=0.1)
    ref = eq1_reference(v_hat.double().numpy(), v.double().numpy(), p.double().numpy(), 0.1)
    assert float(ours) == pytest.approx(ref, rel=1e-5, abs=1e-6)


def test_perfect_prediction_hand_case() -> None:
    # v_hat = v = e0, one orthogonal distractor: loss = -log(e^10 / (e^10 + e^0))
    e = torch.eye(3)
    loss = maskpred_loss(e[:1], e[:1], e[1:2], temperature=0.1)
    assert float(loss) == pytest.approx(math.log1p(math.exp(-10.0)), abs=2e-6)


def test_queue_copies_of_the_target_are_excluded() -> None:
    g = torch.Generator().manual_seed(0)
    v_hat, v = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    p = F.normalize(torch.randn(10, 8, generator=g), dim=-1)
    copy = F.normalize(v[2:3], dim=-1)
    with_copy = torch.cat([p, copy])
    # the copy is no distractor for its own target...
    own = maskpred_loss(v_hat[2:3], v[2:3], with_copy)
    assert torch.allclose(own, maskpred_loss(v_hat[2:3], v[2:3], p))
    assert maskpred_loss(v_hat[2:3], v[2:3], with_copy, exclude_copies=False) > own
    # ...but stays one for every other target
    others = [0, 1, 3]
    ref = eq1_reference(v_hat[others].numpy(), v[others].numpy(), with_copy.numpy(), 0.1)
    assert float(maskpred_loss(v_hat[others], v[others], with_copy)) == pytest.approx(ref, rel=1e-5)


def test_l2_loss_is_two_minus_two_cos() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 6, generator=g), torch.randn(5, 6, generator=g)
    expected = (2 - 2 * F.cosine_similarity(a, b)).mean()
    assert torch.allclose(maskpred_l2_loss(a, b), expected, atol=1e-6)
    assert float(maskpred_l2_loss(a, 2 * a)) == pytest.approx(0.0, abs=1e-6)


def test_max_discrepancy_picks_the_argmax_token_and_best_span() -> None:
    d = torch.tensor(
        [[0.1, 0.9, 0.2, 0.3, 0.0], [0.5, 0.1, 0.1, 0.2, 0.6], [0.0, 0.0, 0.0, 0.0, 1.0]]
    )
    one = MaskSpanSampler(5, sizes=[1]).max_discrepancy(d)
    assert one.tolist() == F.one_hot(d.argmax(1), 5).bool().tolist()
    two = MaskSpanSampler(5, sizes=[2]).max_discrepancy(d)
    # best adjacent pairs: (1,2)=1.1 vs (0,1)=1.0; (3,4)=0.8; (3,4)=1.0
    assert two.int().tolist() == [[0, 1, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 1, 1]]
