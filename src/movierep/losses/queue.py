"""A FIFO queue of past features: the K distractors of MoCo and of event mask prediction.

The queue is a buffer of the module, so it is saved with the objective and resumes exactly.
:meth:`FeatureQueue.enqueue` first gathers the batch from every DDP rank, so every rank
holds the same queue and pushes the same global batch (He et al. 2020, MoCo §3.2 and
Algorithm 1: "enqueue the current mini-batch, dequeue the earliest").
"""

from __future__ import annotations

import torch
from torch import nn

from movierep import dist


class FeatureQueue(nn.Module):
    """Fixed-size first-in-first-out queue of feature vectors.

    Args:
        size: K, the number of stored features.
        dim: D, the feature size.

    Buffers:
        features: (K, D); only the first ``filled`` rows (in FIFO order from ``ptr``) are valid.
        ptr: index of the oldest row, i.e. the next to be overwritten.
        filled: number of valid rows (grows to K, then stays).
    """

    features: torch.Tensor
    ptr: torch.Tensor
    filled: torch.Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"queue size and dim must be positive, got {size}, {dim}")
        self.size = size
        self.dim = dim
        self.register_buffer("features", torch.zeros(size, dim))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    def negatives(self) -> torch.Tensor:
        """A copy of the valid stored features (min(seen, K), D), in no particular order.

        A copy, so a loss may use it and :meth:`enqueue` may overwrite the buffer in the
        same forward pass without breaking backward.
        """
        return self.features[: int(self.filled)].clone()

    @torch.no_grad()
    def enqueue(self, x: torch.Tensor, *, gather_distributed: bool = True) -> None:
        """Push a batch (B, D): the oldest rows are overwritten first.

        Args:
            x: new features (B, D); detached and gathered over DDP ranks (global batch).
            gather_distributed: gather from all ranks before pushing (keeps ranks in sync).
        """
        x = x.detach()
        if gather_distributed:
            x = dist.all_gather(x)
        x = x.to(self.features.dtype)[-self.size :]  # a batch larger than K keeps its newest K
        n = x.shape[0]
        ptr = int(self.ptr)
        idx = (torch.arange(n, device=self.features.device) + ptr) % self.size
        self.features[idx] = x
        self.ptr.fill_((ptr + n) % self.size)
        self.filled.fill_(min(int(self.filled) + n, self.size))

    def extra_repr(self) -> str:
        """Shown by ``print(module)``."""
        return f"size={self.size}, dim={self.dim}"
