"""THE loop that trains every downstream head (pretraining trains through ``train.loop.fit``).

A head is trained for a fixed number of steps on minibatches its protocol draws, with an
optimiser and, optionally, a learning rate per step::

    for step, batch in zip(range(steps), batches):
        lr ← lrs[step]                       (when a schedule is given)
        ℓ  ← loss(batch)                     a scalar; Σ_r of the members' losses for an ensemble
        zero grads; ℓ.backward(); optimizer.step()

Every head trains through it: the MLP heads of every benchmark, one member or R seeded
members at once (:func:`movierep.tasks.heads.ensemble.fit_ensemble`: LVU, MovieNet,
moderation, VidSitu verbs and relations), TxD for VidSitu roles and the Object Transformer
for LVU, solo or vmapped (:mod:`movierep.tasks.heads.module_ensemble`). What differs
between them — how minibatches and dropout masks are drawn, which optimiser, the loss — is
what the protocol passes in, so each keeps its own random streams and numbers.

Unlike :func:`~movierep.train.loop.fit` it writes no checkpoint and no log: a head lives
for one seeded run of a protocol and is scored in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

B = TypeVar("B")


def train_head(
    loss: Callable[[B], Tensor],
    batches: Iterable[B],
    optimizer: torch.optim.Optimizer,
    steps: int,
    lrs: Sequence[float] | np.ndarray | None = None,
) -> None:
    """Take ``steps`` optimiser steps of ``loss`` on the first ``steps`` of ``batches``.

    Args:
        loss: a minibatch -> the scalar to minimise (it runs the head, in training mode).
        batches: the minibatches, drawn lazily (no batch past ``steps`` is drawn).
        optimizer: over the head's parameters (stacked parameters for an ensemble).
        steps: optimiser steps.
        lrs: the learning rate of every step (e.g. :func:`movierep.train.schedules.
            warmup_linear`), or None to keep the optimiser's.
    """
    for step, batch in zip(range(steps), batches):  # noqa: B905 (batches may be endless)
        if lrs is not None:
            for group in optimizer.param_groups:
                group["lr"] = float(lrs[step])
        value = loss(batch)
        optimizer.zero_grad(set_to_none=True)
        value.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
