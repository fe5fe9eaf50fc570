"""A scalar regressor trained on frozen features: the LVU regression heads (like/view count).

The regression counterpart of :mod:`movierep.tasks.feature_classifier`: the same MLP
(``hidden`` lists the hidden widths; empty: linear), AdamW on minibatches drawn with
replacement, configured by the same :class:`ClassifierConfig`, and an MSE loss. Features
*and* the target are standardised with the training set's statistics; the returned module
keeps them, so it takes raw features and returns predictions on the target's own scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.tasks.feature_classifier import ClassifierConfig


class FeatureRegressor(nn.Module):
    """Standardise, then Linear → ReLU → Dropout per hidden width, then Linear to 1, unscaled.

    Shape: (N, D) -> (N,) predictions on the target's scale.
    """

    mean: Tensor  # (D,) training-set feature statistics, buffers
    std: Tensor
    y_mean: Tensor  # () training-set target statistics, buffers
    y_std: Tensor

    def __init__(self, dim: int, hidden: Sequence[int] = (1024,), dropout: float = 0.5) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))
        layers: list[nn.Module] = []
        width = dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def standardised(self, x: Tensor) -> Tensor:
        """The prediction (N,) on the standardised target scale (what the loss sees)."""
        out: Tensor = self.mlp((x - self.mean) / self.std).squeeze(-1)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Predictions (N,) of raw features (N, D), on the target's scale."""
        return self.standardised(x) * self.y_std + self.y_mean


def fit_regressor(
    x: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, seed: int = 0
) -> FeatureRegressor:
    """Train a :class:`FeatureRegressor` on features ``x`` (N, D) and targets ``y`` (N,)."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need as many targets as features, got {len(y)} and {len(x)}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(-1)
    head = FeatureRegressor(xt.shape[1], cfg.hidden, cfg.dropout)
    head.mean.copy_(xt.mean(0))
    head.std.copy_(xt.std(0).nan_to_num(1.0).clamp_min(1e-6))
    head.y_mean.copy_(yt.mean())
    head.y_std.copy_(yt.std().nan_to_num(1.0).clamp_min(1e-6))
    target = (yt - head.y_mean) / head.y_std
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    head.train()
    for _ in range(cfg.steps):
        idx = torch.randint(len(xt), (min(cfg.batch_size, len(xt)),), generator=g)
        loss = F.mse_loss(head.standardised(xt[idx]), target[idx])
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    return head.eval()


@torch.no_grad()
def predict(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """Predictions (N,) of a trained regressor on raw features (N, D)."""
    head.eval()
    out: np.ndarray = head(torch.as_tensor(x, dtype=torch.float32)).reshape(-1).numpy()
    return out.astype(np.float64)
