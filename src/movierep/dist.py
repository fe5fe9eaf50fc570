"""Everything distributed training needs, in one place; every helper is a no-op in one process.

The same command runs as ``python -m movierep ...`` (one process, CPU or one GPU) and as
``torchrun --nproc_per_node N -m movierep ...`` (DDP). :func:`init_from_env` reads the
variables torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``) and
starts a process group with NCCL when CUDA is available and gloo otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

import torch
import torch.distributed as tdist

T = TypeVar("T")


def is_initialized() -> bool:
    """Return True when a process group is running."""
    return tdist.is_available() and tdist.is_initialized()


def init_from_env(backend: str | None = None) -> bool:
    """Start the process group from torchrun's environment, if there is one.

    Args:
        backend: ``"nccl"`` or ``"gloo"``; by default NCCL when CUDA is available, else gloo.

    Returns:
        True when running distributed (``WORLD_SIZE > 1`` or a group already exists).
    """
    if is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or "MASTER_ADDR" not in os.environ:
        return False
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank())
    tdist.init_process_group(backend=backend)
    return True


def destroy() -> None:
    """Tear the process group down (no-op in one process)."""
    if is_initialized():
        tdist.destroy_process_group()


def rank() -> int:
    """Global rank of this process (0 in one process)."""
    return tdist.get_rank() if is_initialized() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Number of processes (1 in one process)."""
    return tdist.get_world_size() if is_initialized() else int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """Rank of this process on its node (picks the GPU)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on the process that logs, writes checkpoints and shows progress."""
    return rank() == 0


def barrier() -> None:
    """Wait for every process (no-op in one process)."""
    if is_initialized():
        tdist.barrier()


def device(preference: str = "auto") -> torch.device:
    """Pick the device for this process.

    Args:
        preference: ``"auto"`` (this rank's GPU if CUDA is available, else CPU), ``"cpu"``,
            ``"cuda"`` or ``"cuda:N"``.
    """
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank())
        return torch.device("cpu")
    if preference == "cuda":
        return torch.device("cuda", local_rank())
    return torch.device(preference)


def all_gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank along dim 0, without gradient.

    Returns:
        (world_size * B, ...), ranks in order; ``x`` itself in one process.
    """
    if not is_initialized() or world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world_size())]
    tdist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the incoming gradients and returns this rank's slice."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(x) for _ in range(tdist.get_world_size())]
        tdist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        tdist.all_reduce(grad, op=tdist.ReduceOp.SUM)
        size = grad.shape[0] // tdist.get_world_size()
        start = tdist.get_rank() * size
        return grad[start : start + size]


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank along dim 0, keeping the gradient path.

    Gradients flowing into other ranks' slices are summed across ranks in backward, so a
    contrastive loss over the gathered batch trains each rank's encoder correctly
    (the SimCLR/CVRL "global batch" negatives).
    """
    if not is_initialized() or world_size() == 1:
        return x
    out: torch.Tensor = _GatherWithGrad.apply(x)  # type: ignore[no-untyped-call]
    return out


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """Average a tensor over ranks (a copy; no-op in one process)."""
    if not is_initialized() or world_size() == 1:
        return x
    y = x.detach().clone()
    tdist.all_reduce(y, op=tdist.ReduceOp.SUM)
    return y / world_size()


def shard(items: Sequence[T]) -> list[T]:
    """This rank's share of ``items``: ``items[rank::world_size]``."""
    return list(items[rank() :: world_size()])


def rank_zero_only(fn: Callable[..., T]) -> Callable[..., T | None]:
    """Decorate ``fn`` so that it only runs on the main process (returns None elsewhere)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T | None:
        return fn(*args, **kwargs) if is_main() else None

    return wrapper
