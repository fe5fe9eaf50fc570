import numpy as np
import pytest
import torch

from movierep.losses.maskpred import MaskSpanSampler
from movierep.models.txe import TxE, TxEConfig
from movierep.tasks.diagnostics.maskpred_retrieval import (
    context_mean_predictor,
    masked_event_retrieval,
    nearest_visible_predictor,
)


def data(R: int = 200, D: int = 16, N: int = 5) -> tuple[np.ndarray, np.ndarray]:
    feats = np.random.default_rng(0).normal(size=(R, D)).astype(np.float32)
    windows = np.stack([np.arange(s, s + N) for s in range(0, R - N + 1, N)])
    return feats, windows


def test_oracle_is_perfect_and_chance_is_one_over_k_plus_one() -> None:
    feats, windows = data()
    res = masked_event_retrieval(lambda x, mask: x, feats, windows, num_distractors=50)
    assert res.accuracy == 1.0
    assert res.chance == pytest.approx(1 / 51)
    assert res.num_distractors == 50
    # 40 sequences, mask sizes uniform in {1,2,3}: about 80 queries
    assert 40 <= res.num_queries <= 120


def test_random_predictor_is_near_chance() -> None:
    feats, windows = data(R=1000)
    gen = torch.Generator().manual_seed(1)
    res = masked_event_retrieval(
        lambda x, mask: torch.randn(x.shape, generator=gen), feats, windows, num_distractors=3
    )
    # chance 0.25, ~400 queries: 5 standard deviations is about 0.11
    assert abs(res.accuracy - 0.25) < 0.11


def test_distractors_capped_and_same_queries_for_same_seed() -> None:
    feats, windows = data(R=10)
    res = masked_event_retrieval(lambda x, m: x, feats, windows, num_distractors=100)
    assert res.num_distractors == 9
    txe = TxE(TxEConfig(input_dim=16, hidden_dim=16, num_layers=1, num_heads=2)).train()
    a = masked_event_retrieval(txe, *data(), num_distractors=20, seed=3)
    b = masked_event_retrieval(txe, *data(), num_distractors=20, seed=3)
    assert a == b
    assert txe.training


def test_context_mean_predictor() -> None:
    x = torch.tensor([[[1.0], [2.0], [4.0], [8.0]]])
    mask = torch.tensor([[False, True, False, True]])
    assert context_mean_predictor(x, mask)[0, :, 0].tolist() == [2.5] * 4
    sampler = MaskSpanSampler(5, sizes=[1])
    feats, windows = data()
    res = masked_event_retrieval(context_mean_predictor, feats, windows, 10, sampler=sampler)
    assert 0.0 <= res.accuracy <= 0.5  # iid features: the context says nothing


def test_nearest_visible_predictor_never_reads_masked_events() -> None:
    x = torch.arange(5.0).reshape(1, 5, 1)
    mask = torch.tensor([[False, True, True, True, False]])
    # position 2 is equally far from 0 and 4: the left one wins
    assert nearest_visible_predictor(x, mask)[0, :, 0].tolist() == [0, 0, 0, 4, 4]
    mask = torch.tensor([[True, True, False, False, True]])
    assert nearest_visible_predictor(x, mask)[0, :, 0].tolist() == [2, 2, 2, 3, 3]
