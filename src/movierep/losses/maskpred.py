"""Event mask prediction: which tokens to mask, and the loss on the masked outputs.

Xiao et al., Sec. 3.3: given tokens ``{v_1..v_N}``, draw a mask size ``m`` uniformly from
``{1, 2, …, ⌊αN⌋}`` and a start ``s`` uniformly from ``{1, …, N−m+1}``, replace
``v_s..v_{s+m−1}`` by the [MASK] token, run TxE, and pull each L2-normalised output
``v̂_t`` at a masked position towards its input ``v_t`` (Eq. 1) against K distractors
``p_i`` from a FIFO queue of past event features. Table 2 ablates the mask-size set, an
L2 loss instead of Eq. 1, and "max discrepancy" sampling; all three are here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# Two unit vectors with a cosine above this are the same event feature (see ``maskpred_loss``).
COPY_COSINE = 1.0 - 1e-4


class MaskSpanSampler:
    """Draw one contiguous span of masked tokens per sequence (Xiao et al., Sec. 3.3).

    The mask size ``m`` is uniform over ``sizes`` (default ``{1, …, ⌊αN⌋}``: ``{1, 2, 3}``
    for the paper's N = 5, α = 0.6) and the start ``s`` is uniform over the ``N − m + 1``
    positions where the span fits.

    Args:
        num_tokens: sequence length N.
        alpha: ratio α of the largest mask size to N; ignored when ``sizes`` is given.
        sizes: an explicit set of mask sizes (Table 2 top: {1}, {1,2}, {1,2,3}, {1,2,3,4}).

    Example:
        >>> sampler = MaskSpanSampler(num_tokens=5, alpha=0.6)
        >>> sampler.sizes
        (1, 2, 3)
        >>> sampler.sample(4).shape
        torch.Size([4, 5])
    """

    def __init__(
        self, num_tokens: int = 5, alpha: float = 0.6, sizes: Sequence[int] | None = None
    ) -> None:
        if sizes is None:
            # ⌊αN⌋, robust to float error such as 0.6 * 5 = 2.9999…
            sizes = range(1, math.floor(alpha * num_tokens + 1e-9) + 1)
        sizes = tuple(sorted(set(int(m) for m in sizes)))
        if not sizes or sizes[0] < 1 or sizes[-1] > num_tokens:
            raise ValueError(
                f"mask sizes {sizes} must be non-empty and within 1..N={num_tokens} "
                f"(alpha={alpha} gives ⌊αN⌋ = {math.floor(alpha * num_tokens + 1e-9)})"
            )
        self.num_tokens = num_tokens
        self.sizes: tuple[int, ...] = sizes

    def _sample_sizes(self, batch_size: int, generator: torch.Generator | None) -> Tensor:
        choice = torch.randint(len(self.sizes), (batch_size,), generator=generator)
        return torch.tensor(self.sizes)[choice]  # (B,)

    def sample(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """Uniform sampling: m uniform over ``sizes``, then s uniform over ``{1..N−m+1}``.

        Args:
            batch_size: number of sequences B.
            generator: CPU random generator (``None``: torch's global one).
            device: where the returned mask lives.

        Returns:
            (B, N) bool mask, True on the masked span ``v_s..v_{s+m−1}``.
        """
        m = self._sample_sizes(batch_size, generator)  # (B,)
        u = torch.rand(batch_size, generator=generator)
        s = (u * (self.num_tokens - m + 1)).long().clamp_max(self.num_tokens - m)  # (B,) 0-based
        return _span_mask(s, m, self.num_tokens).to(device)

    def max_discrepancy(
        self, discrepancy: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """Max-discrepancy sampling (Xiao et al., Sec. 4.1, Table 2 bottom).

        The paper masks "the token with the highest discrepancy", the discrepancy of
        ``v_i`` being how far TxE's output ``v̂_i`` moves when ``v_i`` alone is masked. For
        a mask size ``m`` > 1 we keep the size distribution of uniform sampling and mask
        the span of ``m`` consecutive tokens with the largest summed discrepancy; with
        m = 1 this is exactly the arg-max token.

        Args:
            discrepancy: (B, N) per-token discrepancy (larger = more important).
            generator: CPU random generator for the mask sizes.

        Returns:
            (B, N) bool mask.
        """
        B, N = discrepancy.shape
        m = self._sample_sizes(B, generator).to(discrepancy.device)  # (B,)
        zero = discrepancy.new_zeros(B, 1)
        csum = torch.cat([zero, discrepancy.float().cumsum(dim=1)], dim=1)  # (B, N+1)
        starts = torch.arange(N, device=discrepancy.device).expand(B, N)  # (B, N)
        ends = (starts + m[:, None]).clamp_max(N)
        span_sum = csum.gather(1, ends) - csum.gather(1, starts)  # (B, N)
        span_sum = span_sum.masked_fill(starts > (N - m)[:, None], float("-inf"))
        s = span_sum.argmax(dim=1)  # (B,)
        return _span_mask(s, m, N)


def _span_mask(start: Tensor, size: Tensor, num_tokens: int) -> Tensor:
    """(B,) 0-based starts and sizes -> (B, N) bool mask of the spans."""
    pos = torch.arange(num_tokens, device=start.device)[None, :]  # (1, N)
    return (pos >= start[:, None]) & (pos < (start + size)[:, None])


def maskpred_loss(
    v_hat: Tensor,
    v: Tensor,
    distractors: Tensor,
    temperature: float = 0.1,
    exclude_copies: bool = True,
) -> Tensor:
    r"""Mask-prediction InfoNCE loss against a queue of distractors (Xiao et al., Eq. 1).

    For every masked position t::

        L_mp = −log  exp(v̂_t·v_t/τ) / ( exp(v̂_t·v_t/τ) + Σ_{i=1..K} exp(v̂_t·p_i/τ) )

    averaged over all masked positions of the batch. ``v̂_t`` is TxE's output at t and
    ``v_t`` the true (frozen backbone) event feature there, both L2-normalised here; the
    ``p_i`` are past event features from the FIFO queue, already L2-normalised. As in
    Eq. 1, only the queue supplies distractors (the batch's other events do not).

    Targets are frozen features seen again every epoch, so the queue may hold an exact
    copy of ``v_t`` from an earlier step. Eq. 1 means ``p_i`` to be *other* events; with
    ``exclude_copies`` the distractors whose cosine with ``v_t`` exceeds ``1 − 1e-4``
    are left out of that row's sum instead of pushing ``v̂_t`` away from its own target.
    The loss is computed in float32 even under autocast. With an empty queue it is 0.

    Args:
        v_hat: (M, D) TxE outputs at the M masked positions (any norm).
        v: (M, D) true event features at the same positions (any norm).
        distractors: (K, D) L2-normalised queue features ``p_i``; K may be 0.
        temperature: τ (paper: 0.1).
        exclude_copies: drop queue copies of the target from its distractors.

    Returns:
        Scalar loss.
    """
    with torch.autocast(device_type=v_hat.device.type, enabled=False):
        v_hat = F.normalize(v_hat.float(), dim=-1)
        v = F.normalize(v.float(), dim=-1)
        p = distractors.float()
        pos = torch.einsum("md,md->m", v_hat, v)[:, None] / temperature  # (M, 1)
        neg = torch.einsum("md,kd->mk", v_hat, p) / temperature  # (M, K)
        if exclude_copies and p.shape[0] > 0:
            copies = torch.einsum("md,kd->mk", v, p) > COPY_COSINE
            neg = neg.masked_fill(copies, float("-inf"))
        logits = torch.cat([pos, neg], dim=1)  # (M, 1 + K)
        return (torch.logsumexp(logits, dim=1) - pos[:, 0]).mean()


def maskpred_l2_loss(v_hat: Tensor, v: Tensor) -> Tensor:
    """The L2 alternative to Eq. 1 (Xiao et al., Sec. 3.3 and Table 2 bottom).

    ``L = ‖v̂_t − v_t‖²`` with both vectors L2-normalised (so it equals ``2 − 2 cos``),
    averaged over the M masked positions. No distractors: the paper notes this form is
    "more sensitive to the representation collapse issue".

    Args:
        v_hat: (M, D) TxE outputs at masked positions.
        v: (M, D) true event features there.

    Returns:
        Scalar loss.
    """
    with torch.autocast(device_type=v_hat.device.type, enabled=False):
        diff = F.normalize(v_hat.float(), dim=-1) - F.normalize(v.float(), dim=-1)
        return diff.pow(2).sum(dim=-1).mean()
