"""R copies of one network trained as a batched model with ``torch.func`` (issue 30).

The transformer heads (TxD for VidSitu roles, the Object Transformer for LVU) cannot be
written as stacked matmuls the way :mod:`movierep.tasks.heads.ensemble` writes the MLPs. Here
``torch.func.stack_module_state`` stacks the R members' parameters and buffers along a new
first axis, and ``vmap(functional_call(...))`` runs member r on its own batch::

    params[name]  (R, *shape)          inputs  (R, B, ...)  ->  outputs (R, ...)

Summing the members' losses keeps their gradients apart, and Adam/AdamW are elementwise,
so one optimizer over the stacked tensors makes each member's own update: with the same
initial weights and minibatches, member r follows its solo run up to float rounding.
Dropout is the exception: ``vmap(randomness="different")`` draws every member's masks from
torch's one global stream, so with dropout > 0 a member matches its solo run in
distribution, not bitwise (compare with dropout 0).

On CPU this is *not* faster than training the members one after the other: the heads are
compute-bound there, and vmap's batched matmuls and attention fallback cost more than the
per-step overhead they save (``benchmarks/head_ensembles.py``). It pays where a step is
launch-bound (small heads on a GPU), so the protocols use it only when asked
(``batch_runs``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

M = TypeVar("M", bound=nn.Module)


class _Call(nn.Module):
    """Runs ``fn(inner, *args)`` as its forward (``functional_call`` calls forward)."""

    def __init__(self, inner: nn.Module, fn: Callable[..., Tensor]) -> None:
        super().__init__()
        self.inner, self.fn = inner, fn

    def forward(self, *args: Any) -> Tensor:
        return self.fn(self.inner, *args)


class ModuleEnsemble:
    """R members of one architecture, parameters stacked; run a function of all at once.

    Args:
        members: the initial modules (same architecture), e.g. each built under its seed.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        params, buffers = stack_module_state(list(members))
        self.params: dict[str, Tensor] = dict(params)  # (R, *shape) leaves
        self.buffers: dict[str, Tensor] = dict(buffers)
        self.size = len(members)
        self._template = copy.deepcopy(members[0]).to("meta")

    def parameters(self) -> list[Tensor]:
        """The stacked parameters, for one optimizer over every member."""
        return list(self.params.values())

    def train(self, mode: bool = True) -> ModuleEnsemble:
        """Training (dropout on) or evaluation mode for every member."""
        self._template.train(mode)
        return self

    def __call__(self, fn: Callable[..., Tensor], *args: Any) -> Tensor:
        """``fn(member_r, *args[r])`` of every member r, stacked: (R, ...).

        Args:
            fn: what one member computes, e.g. ``TxD.loss`` or ``lambda m, b: m(b)``.
            args: tensors (or dicts / tuples of tensors) with the members on axis 0.
        """
        caller = _Call(self._template, fn)
        p = {f"inner.{k}": v for k, v in self.params.items()}
        b = {f"inner.{k}": v for k, v in self.buffers.items()}

        def one(p: dict[str, Tensor], b: dict[str, Tensor], *a: Any) -> Tensor:
            out: Tensor = functional_call(caller, (p, b), a)
            return out

        out: Tensor = vmap(one, randomness="different")(p, b, *args)
        return out

    @torch.no_grad()
    def member(self, r: int, into: M) -> M:
        """Load member r's state into ``into`` (same architecture) and return it."""
        stacked = {**self.params, **self.buffers}
        into.load_state_dict({k: stacked[k][r] for k in into.state_dict()})
        return into
