"""A classifier trained on frozen features: the heads of the downstream tables.

The papers' downstream rows put a small head on fixed features: a classifier on (contextual)
event features for VidSitu verbs and relations (Xiao et al. §4.1), an MLP with 2 hidden
layers for LVU (Movies2Scenes §5). :func:`fit_classifier` trains one with Adam and
cross-entropy on full-batch-shuffled minibatches; ``hidden`` lists the hidden widths (empty:
a linear classifier). Features are standardised with the training set's statistics, which
the returned module keeps, so it takes raw features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class ClassifierConfig:
    """Head and optimisation of :func:`fit_classifier`.

    Attributes:
        hidden: widths of the hidden layers (``()``: linear; ``(1024,)``: one hidden layer).
        dropout: dropout before every linear layer after the first.
        steps: Adam steps.
        batch_size: examples per step.
        lr: learning rate.
        weight_decay: AdamW weight decay.
    """

    hidden: tuple[int, ...] = (1024,)
    dropout: float = 0.5
    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4


class FeatureClassifier(nn.Module):
    """Standardise, then Linear → ReLU → Dropout per hidden width, then Linear to classes.

    Shape: (N, D) -> (N, C) logits.
    """

    mean: Tensor  # (D,) training-set statistics, buffers
    std: Tensor

    def __init__(
        self, dim: int, num_classes: int, hidden: Sequence[int] = (1024,), dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        layers: list[nn.Module] = []
        width = dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, C) of raw features (N, D)."""
        out: Tensor = self.mlp((x - self.mean) / self.std)
        return out


def fit_classifier(
    x: np.ndarray, y: np.ndarray, num_classes: int, cfg: ClassifierConfig, seed: int = 0
) -> FeatureClassifier:
    """Train a :class:`FeatureClassifier` on features ``x`` (N, D) and labels ``y`` (N,)."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need as many labels as features, got {len(y)} and {len(x)}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    head = FeatureClassifier(xt.shape[1], num_classes, cfg.hidden, cfg.dropout)
    head.mean.copy_(xt.mean(0))
    head.std.copy_(xt.std(0).clamp_min(1e-6))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    head.train()
    for _ in range(cfg.steps):
        idx = torch.randint(len(xt), (min(cfg.batch_size, len(xt)),), generator=g)
        loss = F.cross_entropy(head(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    return head.eval()


@torch.no_grad()
def class_scores(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities (N, C) of a trained head on features (N, D)."""
    head.eval()
    out: np.ndarray = head(torch.as_tensor(x, dtype=torch.float32)).softmax(-1).numpy()
    return out
