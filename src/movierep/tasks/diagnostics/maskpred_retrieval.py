"""Masked-event retrieval: does a contextualizer "fill in" a masked event?

The direct measure of what mask prediction (Xiao et al., Sec. 3.3) trains: mask spans of
held-out sequences as in training, and count a masked position t as correct when its
output ``v̂_t`` is closer (cosine) to the true event feature ``v_t`` than to every one of
K distractors: event features of other events drawn uniformly from the same table
(never the target event itself). Chance is ``1 / (K + 1)``.

Any predictor ``(x (B,N,D), mask (B,N)) -> (B,N,D)`` can be scored: a TxE, or one of
two no-learning baselines that see only the visible events, as TxE does:
:func:`context_mean_predictor` (the mean of the visible events) and
:func:`nearest_visible_predictor` (a copy of the nearest visible event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.losses.maskpred import MaskSpanSampler

Predictor = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class RetrievalResult:
    """Masked-event retrieval accuracy, the chance level and how many queries were scored."""

    accuracy: float
    chance: float
    num_queries: int
    num_distractors: int


def context_mean_predictor(x: Tensor, mask: Tensor) -> Tensor:
    """Baseline: every position gets the mean of the sequence's unmasked events.

    Args:
        x: (B, N, D) event features.
        mask: (B, N) bool, True where masked.

    Returns:
        (B, N, D) predictions.
    """
    keep = (~mask).float()[..., None]  # (B, N, 1)
    mean = (x * keep).sum(dim=1, keepdim=True) / keep.sum(dim=1, keepdim=True).clamp_min(1.0)
    return mean.expand_as(x)


def nearest_visible_predictor(x: Tensor, mask: Tensor) -> Tensor:
    """Baseline: every position gets the feature of the nearest unmasked event (left on ties).

    Args:
        x: (B, N, D) event features.
        mask: (B, N) bool, True where masked (at least one event per row visible).

    Returns:
        (B, N, D) predictions.
    """
    pos = torch.arange(x.shape[1], device=x.device)
    dist = (pos[:, None] - pos[None, :]).abs().float()  # (N, N): |t - j|
    dist = dist[None].masked_fill(mask[:, None, :], float("inf"))  # (B, N, N)
    nearest = dist.argmin(dim=2)  # (B, N); argmin returns the first (left) on ties
    return x.gather(1, nearest[..., None].expand_as(x))


@torch.no_grad()
def masked_event_retrieval(
    predictor: Predictor,
    features: np.ndarray | Tensor,
    windows: np.ndarray | Tensor,
    num_distractors: int = 100,
    *,
    sampler: MaskSpanSampler | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
) -> RetrievalResult:
    """Masked-event retrieval accuracy among K random distractors.

    Args:
        predictor: a TxE (switched to eval mode for the call) or any callable
            ``(x (B,N,D), mask (B,N)) -> (B,N,D)``.
        features: (R, D) event features (``EventSequenceDataset.runs.features``).
        windows: (W, N) row indices of the sequences to score.
        num_distractors: K, capped at R − 1.
        sampler: mask sampler; default the paper's (m ∈ {1..⌊0.6N⌋}, uniform start).
        seed: seeds masks and distractors, so two predictors see the same queries.
        device: where the predictor runs.
        batch_size: sequences per forward pass.

    Returns:
        Accuracy over all masked positions, chance ``1/(K+1)``, query count and K.
    """
    feats = torch.as_tensor(features, dtype=torch.float32)
    win = torch.as_tensor(windows, dtype=torch.long)
    R, N = feats.shape[0], win.shape[1]
    K = min(num_distractors, R - 1)
    if K < 1 or win.shape[0] == 0:
        raise ValueError(f"need at least one sequence and two events, got {win.shape[0]} / {R}")
    sampler = sampler or MaskSpanSampler(num_tokens=N)
    gen = torch.Generator().manual_seed(seed)
    unit = F.normalize(feats, dim=-1)  # (R, D), on CPU
    was_training = predictor.training if isinstance(predictor, nn.Module) else None
    if isinstance(predictor, nn.Module):
        predictor.eval()
    hits, total = 0, 0
    try:
        for i in range(0, win.shape[0], batch_size):
            rows = win[i : i + batch_size]  # (B, N)
            mask = sampler.sample(rows.shape[0], generator=gen)  # (B, N)
            out = predictor(feats[rows].to(device), mask.to(device))
            v_hat = F.normalize(out[mask.to(out.device)].float().cpu(), dim=-1)  # (M, D)
            target = rows[mask]  # (M,)
            other = torch.randint(R - 1, (target.shape[0], K), generator=gen)  # (M, K)
            other += (other >= target[:, None]).long()  # skip the target row itself
            chunk = max(1, 2**24 // R)  # bound the (queries, R) similarity block
            for j in range(0, target.shape[0], chunk):
                sims = torch.einsum("md,rd->mr", v_hat[j : j + chunk], unit)  # (q, R)
                pos = sims.gather(1, target[j : j + chunk, None])[:, 0]
                neg = sims.gather(1, other[j : j + chunk])  # (q, K)
                hits += int((pos > neg.amax(dim=1)).sum())
            total += int(target.shape[0])
    finally:
        if isinstance(predictor, nn.Module) and was_training is not None:
            predictor.train(was_training)
    return RetrievalResult(hits / total, 1.0 / (K + 1), total, K)
