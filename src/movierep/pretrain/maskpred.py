"""Event mask-prediction pretraining of the TxE contextualizer (Xiao et al., Sec. 3.3).

One training step, for a batch of B sequences of N frozen backbone event features:

1. choose one span of tokens to mask per sequence (uniform, or "max discrepancy");
2. run TxE with those inputs replaced by its [MASK] token;
3. compare, at every masked position t, the L2-normalised output ``v̂_t`` with the true
   event feature ``v_t`` by Eq. 1 against the queue's K distractors ``p_i`` (or by the
   L2 loss of the Table 2 ablation);
4. push the batch's B·N L2-normalised event features into the FIFO queue (gathered over
   DDP ranks, so every rank keeps the same queue).

The comparison space is the backbone's feature space, L2-normalised: TxE projects its
output back to D_in (``TxE.output_dim == input_dim``) and the targets ``v_t`` and queue
entries ``p_i`` are the frozen features themselves, normalised. Because the targets never
change, queue entries never go stale (unlike MoCo keys), and a queue entry can be an exact
copy of a target; those copies are excluded (see ``maskpred_loss``). The queue is pushed
a fixed B·N rows per step, so its DDP gather has the same shape on every rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.losses.maskpred import (
    COPY_COSINE,
    MaskSpanSampler,
    maskpred_l2_loss,
    maskpred_loss,
)
from movierep.losses.queue import FeatureQueue
from movierep.models.txe import TxE

LossName = Literal["infonce", "l2"]
SamplingName = Literal["uniform", "max_discrepancy"]


@dataclass(frozen=True)
class MaskPredConfig:
    """Mask-prediction options; defaults are the paper's (Sec. 4: α = 0.6, τ = 0.1, K = 65536).

    ``mask_sizes`` overrides α with an explicit set (Table 2 top); ``loss="l2"`` and
    ``sampling="max_discrepancy"`` are the Table 2 bottom ablations.

    Attributes:
        alpha: α, largest mask size ⌊αN⌋ (paper: 0.6).
        mask_sizes: explicit mask-size set, overriding α.
        temperature: τ of Eq. 1 (paper: 0.1).
        queue_size: K distractors (paper: 65536).
        loss: ``"infonce"`` (Eq. 1) or ``"l2"``.
        sampling: ``"uniform"`` or ``"max_discrepancy"``.
        exclude_copies: leave queue copies of a target out of its distractors.
    """

    alpha: float = 0.6
    mask_sizes: tuple[int, ...] | None = None
    temperature: float = 0.1
    queue_size: int = 65536
    loss: LossName = "infonce"
    sampling: SamplingName = "uniform"
    exclude_copies: bool = True


@torch.no_grad()
def token_discrepancy(txe: nn.Module, x: Tensor) -> Tensor:
    """How far each token's output moves when that token alone is masked (Sec. 4.1).

    Runs TxE once unmasked (``v̂_i``) and N more times with exactly token i masked
    (``v̂'_i``), all in one batch of B·(N+1) sequences, in eval mode (no dropout noise)
    and without gradients. The discrepancy is ``1 − cos(v̂_i, v̂'_i)``.

    Args:
        txe: the contextualizer, ``forward(x (B,N,D), mask (B,N)) -> (B,N,D')``.
        x: event features (B, N, D).

    Returns:
        (B, N) discrepancy of every token.
    """
    B, N, _ = x.shape
    was_training = txe.training
    txe.eval()
    try:
        one_hot = torch.eye(N, dtype=torch.bool, device=x.device)  # row i masks token i
        masks = torch.cat([torch.zeros(1, N, dtype=torch.bool, device=x.device), one_hot])
        xs = x.repeat_interleave(N + 1, dim=0)  # (B·(N+1), N, D)
        out = txe(xs, masks.repeat(B, 1)).reshape(B, N + 1, N, -1)
        out = F.normalize(out.float(), dim=-1)
        full = out[:, 0]  # (B, N, D'): v̂_i, nothing masked
        alone = out[:, 1:].diagonal(dim1=1, dim2=2).transpose(1, 2)  # (B, N, D'): v̂'_i
        return 1.0 - torch.einsum("bnd,bnd->bn", full, alone)
    finally:
        txe.train(was_training)


class MaskPredObjective(nn.Module):
    """TxE + FIFO queue + mask sampling: the training objective of mask prediction.

    Args:
        txe: the contextualizer to pretrain; its ``output_dim`` must equal ``input_dim``.
        cfg: α, τ, K and the ablations (:class:`MaskPredConfig`; defaults: the paper's).
    """

    def __init__(self, txe: TxE, cfg: MaskPredConfig = MaskPredConfig()) -> None:
        super().__init__()
        loss, sampling = cfg.loss, cfg.sampling
        if txe.output_dim != txe.input_dim:
            raise ValueError(
                f"mask prediction compares TxE outputs with its inputs: output_dim "
                f"{txe.output_dim} must equal input_dim {txe.input_dim}"
            )
        if loss not in ("infonce", "l2"):
            raise ValueError(f"unknown loss {loss!r}; expected 'infonce' or 'l2'")
        if sampling not in ("uniform", "max_discrepancy"):
            raise ValueError(
                f"unknown sampling {sampling!r}; expected 'uniform' or 'max_discrepancy'"
            )
        self.cfg = cfg
        self.txe = txe
        self.queue = FeatureQueue(cfg.queue_size, txe.input_dim)
        self.sampler = MaskSpanSampler(txe.num_tokens, cfg.alpha, cfg.mask_sizes)
        self.temperature = cfg.temperature
        self.loss_name = loss
        self.sampling = sampling
        self.exclude_copies = cfg.exclude_copies

    def sample_mask(self, x: Tensor) -> Tensor:
        """The (B, N) bool mask for a batch of event features (B, N, D)."""
        if self.sampling == "max_discrepancy":
            return self.sampler.max_discrepancy(token_discrepancy(self.txe, x))
        return self.sampler.sample(x.shape[0], device=x.device)

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """One mask-prediction step.

        Args:
            batch: ``{"features": (B, N, D)}`` frozen backbone event features.

        Returns:
            ``loss`` (scalar), ``acc`` (fraction of masked events whose output is nearest to
            their true feature among the batch's masked events and the queue),
            ``mask_ratio`` and ``queue_filled``.
        """
        x = batch["features"]  # (B, N, D)
        B, N, D = x.shape
        if self.sampler.num_tokens != N:
            raise ValueError(
                f"sequences of {N} tokens, but TxE was built for {self.sampler.num_tokens}"
            )
        mask = self.sample_mask(x)  # (B, N)
        out = self.txe(x, mask)  # (B, N, D)
        v_hat, v = out[mask], x[mask]  # (M, D) each
        queue = self.queue.negatives()  # (K, D), L2-normalised (a copy: enqueue below is safe)
        if self.loss_name == "infonce":
            loss = maskpred_loss(v_hat, v, queue, self.temperature, self.exclude_copies)
        else:
            loss = maskpred_l2_loss(v_hat, v)
        with torch.no_grad():
            acc = self._retrieval_accuracy(v_hat, v, queue)
            filled = self.queue.filled.clone().float()
            self.queue.enqueue(F.normalize(x.reshape(B * N, D).float(), dim=-1))
        return {"loss": loss, "acc": acc, "mask_ratio": mask.float().mean(), "queue_filled": filled}

    def _retrieval_accuracy(self, v_hat: Tensor, v: Tensor, queue: Tensor) -> Tensor:
        """Fraction of rows where ``v̂_t`` is nearest to ``v_t`` among batch targets + queue."""
        v_hat = F.normalize(v_hat.float(), dim=-1)
        v = F.normalize(v.float(), dim=-1)
        candidates = torch.cat([v, queue.float()])  # (M + K, D)
        sims = torch.einsum("md,cd->mc", v_hat, candidates)  # (M, M + K)
        own = torch.arange(v.shape[0], device=v.device)
        pos = sims[own, own]
        copies = torch.einsum("md,cd->mc", v, candidates) > COPY_COSINE  # incl. itself
        best_other = sims.masked_fill(copies, float("-inf")).amax(dim=1)
        return (pos > best_other).float().mean()
