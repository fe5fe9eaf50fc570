"""A scalar regressor trained on frozen features: the LVU regression heads (like/view count).

The regression counterpart of :mod:`movierep.tasks.heads.feature_classifier`: the same MLP
(``hidden`` lists the hidden widths; empty: linear), AdamW or SGD on minibatches drawn with
replacement, configured by the same :class:`ClassifierConfig`, and an MSE loss. Features
*and* the target are standardised with the training set's statistics; the returned module
keeps them, so it takes raw features and returns predictions on the target's own scale.

As for the classifier, the N seeded runs train as one :class:`RegressorEnsemble`
(:func:`fit_regressor_ensemble`) and a single run is the 1-member ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from movierep.tasks.heads.ensemble import MLPEnsemble, mlp
from movierep.tasks.heads.feature_classifier import ClassifierConfig, train_heads


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
        self.mlp = mlp(dim, 1, hidden, dropout)

    def standardised(self, x: Tensor) -> Tensor:
        """The prediction (N,) on the standardised target scale (what the loss sees)."""
        out: Tensor = self.mlp((x - self.mean) / self.std).squeeze(-1)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Predictions (N,) of raw features (N, D), on the target's scale."""
        return self.standardised(x) * self.y_std + self.y_mean


class RegressorEnsemble(MLPEnsemble):
    """R regressors trained together; ``forward``: raw (N, D) -> (R, N) target-scale values."""

    y_mean: Tensor  # () training-set target statistics, buffers
    y_std: Tensor

    def __init__(
        self,
        dim: int,
        hidden: Sequence[int] = (),
        dropout: float = 0.0,
        seeds: Sequence[int] = (0,),
    ) -> None:
        super().__init__(dim, 1, hidden, dropout, seeds)
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))

    def forward(self, x: Tensor) -> Tensor:
        """Predictions (R, N) of raw features (N, D), on the target's scale."""
        return super().forward(x).squeeze(-1) * self.y_std + self.y_mean

    def member(self, r: int) -> FeatureRegressor:
        """Member r as a plain :class:`FeatureRegressor` (eval mode, its own weights)."""
        with torch.random.fork_rng(devices=[]):  # the module's init draws are overwritten
            head = FeatureRegressor(self.dim, self.hidden, self.dropout)
        state = {**self.member_state(r), "y_mean": self.y_mean, "y_std": self.y_std}
        head.load_state_dict(state)
        return head.eval()


def fit_regressor_ensemble(
    x: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, seeds: Sequence[int]
) -> RegressorEnsemble:
    """Train one regressor per seed on features ``x`` (N, D) and targets ``y`` (N,), together."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need as many targets as features, got {len(y)} and {len(x)}")
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(-1)
    model = RegressorEnsemble(xt.shape[1], cfg.hidden, cfg.dropout, seeds)
    model.fit_statistics(xt)
    model.y_mean.copy_(yt.mean())
    model.y_std.copy_(yt.std().nan_to_num(1.0).clamp_min(1e-6))
    target = (yt - model.y_mean) / model.y_std
    train_heads(model, xt, target, "mse", cfg)
    return model


def fit_regressor(
    x: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, seed: int = 0
) -> FeatureRegressor:
    """Train a :class:`FeatureRegressor` on features ``x`` (N, D) and targets ``y`` (N,).

    The 1-member :func:`fit_regressor_ensemble`: equal to its seed's member of any ensemble.
    """
    return fit_regressor_ensemble(x, y, cfg, [seed]).member(0)


@torch.no_grad()
def predict(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """Predictions of a trained regressor on raw features (N, D).

    Returns:
        (N,) for a single head, (R, N) for a :class:`RegressorEnsemble`.
    """
    head.eval()
    out: np.ndarray = head(torch.as_tensor(x, dtype=torch.float32)).numpy()
    if not isinstance(head, RegressorEnsemble):
        out = out.reshape(-1)
    return out.astype(np.float64)
