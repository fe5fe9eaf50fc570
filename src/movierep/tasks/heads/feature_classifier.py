"""A classifier trained on frozen features: the heads of the downstream tables.

The papers' downstream rows put a small head on fixed features: a classifier on (contextual)
event features for VidSitu verbs and relations (Xiao et al. §4.1), an MLP with 2 hidden
layers for LVU (Movies2Scenes §5). :func:`fit_classifier` trains one with cross-entropy on
minibatches drawn with replacement, by AdamW (our CPU profiles) or SGD (the Movies2Scenes
supplement's heads, §1.2-1.3), for a number of steps or of epochs; ``hidden`` lists the
hidden widths (empty: a linear classifier). Features are standardised with the training
set's statistics, which the returned module keeps, so it takes raw features.

The protocols train their N seeded runs at once: :func:`fit_classifier_ensemble` trains
one :class:`ClassifierEnsemble` (:mod:`movierep.tasks.heads.ensemble`), and a single run is the
1-member ensemble, so ``fit_classifier(seed=s)`` is the member of seed ``s`` of any
ensemble. Its dropout masks come from a NumPy generator seeded with ``s`` (before issue 30,
from torch's global RNG): the same distribution, another stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from movierep.tasks.heads.ensemble import OPTIMIZERS, MLPEnsemble, fit_ensemble, mlp


@dataclass(frozen=True)
class ClassifierConfig:
    """Head and optimisation of :func:`fit_classifier`.

    Attributes:
        hidden: widths of the hidden layers (``()``: linear; ``(1024,)``: one hidden layer).
        dropout: dropout before every linear layer after the first.
        steps: optimiser steps (ignored when ``epochs`` is set).
        batch_size: examples per step.
        lr: learning rate.
        weight_decay: weight decay (AdamW: decoupled; SGD: L2 added to the gradient).
        optimizer: ``adamw`` or ``sgd``.
        momentum: SGD's momentum (PyTorch's default 0: the supplement names no other).
        epochs: train for ``epochs · ⌈N / batch_size⌉`` steps on N examples (the
            supplement's unit; minibatches are still drawn with replacement).
    """

    hidden: tuple[int, ...] = (1024,)
    dropout: float = 0.5
    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    momentum: float = 0.0
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r}: known {', '.join(OPTIMIZERS)}")

    def num_steps(self, num_examples: int) -> int:
        """Optimiser steps on ``num_examples`` training rows (``epochs`` or ``steps``)."""
        if self.epochs is None:
            return self.steps
        return self.epochs * max(1, math.ceil(num_examples / self.batch_size))


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
        self.mlp = mlp(dim, num_classes, hidden, dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, C) of raw features (N, D)."""
        out: Tensor = self.mlp((x - self.mean) / self.std)
        return out


class ClassifierEnsemble(MLPEnsemble):
    """R classifiers trained together; ``forward``: raw (N, D) -> (R, N, C) logits."""

    def member(self, r: int) -> FeatureClassifier:
        """Member r as a plain :class:`FeatureClassifier` (eval mode, its own weights)."""
        with torch.random.fork_rng(devices=[]):  # the module's init draws are overwritten
            head = FeatureClassifier(self.dim, self.out, self.hidden, self.dropout)
        head.load_state_dict(self.member_state(r))
        return head.eval()


def fit_classifier_ensemble(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    cfg: ClassifierConfig,
    seeds: Sequence[int],
    *,
    loss: str = "cross_entropy",
) -> ClassifierEnsemble:
    """Train one classifier per seed on features ``x`` (N, D) and labels ``y``, together.

    Args:
        x: (N, D) raw features.
        y: (N,) class ids, or (N, C) 0/1 targets with ``loss="binary_cross_entropy"``.
        num_classes: C.
        cfg: the head and its optimisation.
        seeds: one per member (its init, minibatches and dropout).
        loss: ``cross_entropy`` (softmax) or ``binary_cross_entropy`` (C sigmoids).

    Returns:
        The trained :class:`ClassifierEnsemble` (eval mode), members in ``seeds`` order.
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need as many labels as features, got {len(y)} and {len(x)}")
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    dtype = torch.long if loss == "cross_entropy" else torch.float32
    yt = torch.as_tensor(np.asarray(y), dtype=dtype)
    model = ClassifierEnsemble(xt.shape[1], num_classes, cfg.hidden, cfg.dropout, seeds)
    model.fit_statistics(xt)
    train_heads(model, xt, yt, loss, cfg)
    return model


def train_heads(
    model: MLPEnsemble, x: Tensor, target: Tensor, loss: str, cfg: ClassifierConfig
) -> None:
    """:func:`~movierep.tasks.heads.ensemble.fit_ensemble` with ``cfg``'s optimisation, in place.

    Args:
        model: an ensemble whose statistics are set.
        x: (N, D) raw training features.
        target: the loss's targets (see :data:`~movierep.tasks.heads.ensemble.LOSSES`).
        loss: a loss name.
        cfg: the schedule (steps or epochs), batch, optimiser.
    """
    fit_ensemble(
        model, x, target, loss, steps=cfg.num_steps(len(x)), batch_size=cfg.batch_size,
        lr=cfg.lr, weight_decay=cfg.weight_decay, optimizer=cfg.optimizer,
        momentum=cfg.momentum,
    )  # fmt: skip


def fit_classifier(
    x: np.ndarray, y: np.ndarray, num_classes: int, cfg: ClassifierConfig, seed: int = 0
) -> FeatureClassifier:
    """Train a :class:`FeatureClassifier` on features ``x`` (N, D) and labels ``y`` (N,).

    The 1-member :func:`fit_classifier_ensemble`: equal to its seed's member of any ensemble.
    """
    return fit_classifier_ensemble(x, y, num_classes, cfg, [seed]).member(0)


@torch.no_grad()
def class_scores(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities of a trained head on features (N, D).

    Returns:
        (N, C) for a single head, (R, N, C) for an ensemble.
    """
    head.eval()
    out: np.ndarray = head(torch.as_tensor(x, dtype=torch.float32)).softmax(-1).numpy()
    return out
