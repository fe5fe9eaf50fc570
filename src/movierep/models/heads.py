"""Small heads on top of a pooled clip feature: the contrastive projection MLP and a classifier."""

from __future__ import annotations

from torch import Tensor, nn


class ProjectionHead(nn.Module):
    """The MLP g(·) that maps a clip feature to the space where the contrastive loss is taken.

    SimCLR (Chen et al. 2020) and CVRL (Qian et al. 2021: a 3-layer MLP head on the
    2048-d pooled feature, 2048 hidden units, 128-d output) apply the loss to ``z = g(v)``
    and keep ``v`` for downstream tasks. Each layer but the last is Linear → BatchNorm → ReLU; the
    last is a plain Linear (the TF Model Garden release of CVRL uses 3 hidden layers plus
    the output layer, i.e. ``num_layers=4``).

    The sizes have no defaults here: each objective's config holds its paper's
    (:class:`~movierep.pretrain.cvrl.CVRLConfig`, ``MoDistConfig``, ``ImageContrastConfig``).

    Args:
        input_dim: size D of the backbone feature (2048 for Slow-D R50).
        hidden_dim: width of the hidden layers.
        output_dim: size of the projection z.
        num_layers: number of linear layers; 1 gives a linear projection.
        batch_norm: BatchNorm1d after each hidden linear layer.

    Shape:
        (B, input_dim) -> (B, output_dim). The output is not normalised: the losses in
        :mod:`movierep.losses` L2-normalise it.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        *,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        layers: list[nn.Module] = []
        width = input_dim
        for _ in range(num_layers - 1):
            layers.append(nn.Linear(width, hidden_dim, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.ReLU(inplace=True))
            width = hidden_dim
        layers.append(nn.Linear(width, output_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, v: Tensor) -> Tensor:
        """Project clip features: z = g(v); (B, input_dim) -> (B, output_dim)."""
        out: Tensor = self.mlp(v)
        return out


class ClassifierHead(nn.Module):
    """Dropout + linear classifier on a pooled feature (the SlowFast/Slow-only head).

    Args:
        input_dim: size D of the feature.
        num_classes: number of classes.
        dropout: dropout probability before the linear layer (SlowFast: 0.5, the default of
            ``SlowDConfig.dropout`` and ``SupervisedConfig.dropout``).

    Shape:
        (B, input_dim) -> logits (B, num_classes).
    """

    def __init__(self, input_dim: int, num_classes: int, *, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(input_dim, num_classes)
        nn.init.normal_(self.linear.weight, std=0.01)
        nn.init.zeros_(self.linear.bias)

    def forward(self, v: Tensor) -> Tensor:
        """Class logits for features v; (B, input_dim) -> (B, num_classes)."""
        out: Tensor = self.linear(self.dropout(v))
        return out
