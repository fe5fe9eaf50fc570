"""LARS: layer-wise adaptive rate scaling (You et al. 2017), the optimiser of SimCLR and CVRL.

For each parameter tensor ``w`` with gradient ``g`` (weight decay ``λ`` folded in),
the update is SGD with momentum on ``η · ‖w‖ / ‖g + λw‖ · (g + λw)``, where η is the
trust coefficient. As in SimCLR, biases and normalisation parameters are excluded from
both weight decay and the adaptation (their param group sets ``lars_exclude=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class LARS(torch.optim.Optimizer):
    """SGD with momentum and layer-wise trust ratio.

    Args:
        params: parameters or param groups (a group may set ``lars_exclude=True``).
        lr: learning rate.
        momentum: SGD momentum.
        weight_decay: L2 penalty λ folded into the gradient.
        trust_coefficient: η.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        trust_coefficient: float = 0.001,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "trust_coefficient": trust_coefficient,
            "lars_exclude": False,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one optimisation step."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if not group["lars_exclude"]:
                    if group["weight_decay"]:
                        g = g.add(p, alpha=group["weight_decay"])
                    w_norm = torch.linalg.vector_norm(p)
                    g_norm = torch.linalg.vector_norm(g)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["trust_coefficient"] * w_norm / g_norm,
                        torch.ones_like(w_norm),
                    )
                    g = g * trust
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.clone(g).detach()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss
