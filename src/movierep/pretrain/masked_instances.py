r"""Masked-instance pretraining of the Object Transformer (LVU §4, "masked instance prediction").

LVU pretrains OT by masking instance tokens and predicting what was there, like BERT's
masked tokens (../shared/benchmarks/lvu_movienet.md §A.5, from LVU's ``run_pretrain.sh``):

1. **What is masked: tracklets.** 15% of a span's tracklets (at least one) are chosen and
   *every* token of a chosen tracklet is masked, so the model cannot copy the same person
   from the next second.
2. **How: 80/10/10.** A masked token's feature is replaced by the learned mask vector with
   probability 0.8, by the feature of a random token of the batch with 0.1, and left as it
   is with 0.1 (BERT's rule).
3. **The target.** LVU distils the AVA action head's soft labels of the original feature
   (sigmoid KL, weight 80). movierep's instance features come from a self-supervised
   backbone with no action head, so the target is the original feature itself, compared by
   hier-SSL's Eq. 1 (:func:`movierep.losses.maskpred.maskpred_loss`): the L2-normalised
   prediction ``Linear(H → D_inst)`` of a masked token against its true feature, with the
   batch's other (unmasked) instance features as distractors, τ = 0.1. That replaces a
   teacher we do not have with the contrastive feature prediction our TxE already uses;
   LVU's second pretraining loss (span compatibility) is not implemented.

The objective follows the ``objective(batch) -> {"loss": ...}`` contract of
:func:`movierep.train.loop.fit` (a batch is a :class:`SpanBatch`'s fields as a dict), which
trains it for LVU (:func:`movierep.tasks.protocols.lvu_ot.pretrain_instances`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from movierep.losses.maskpred import maskpred_loss
from movierep.models.object_transformer import ObjectTransformer, SpanBatch


@dataclass(frozen=True)
class MaskedInstanceConfig:
    """LVU's masking (15% of tracklets, 80/10/10) and Eq. 1's temperature."""

    ratio: float = 0.15
    replace_mask: float = 0.8
    replace_random: float = 0.1
    temperature: float = 0.1


def mask_tracklets(
    link: Tensor, valid: Tensor, ratio: float, generator: torch.Generator | None = None
) -> Tensor:
    """Choose ``ratio`` of each span's tracklets (at least one) and mask all their tokens.

    Args:
        link: (B, N) long tracklet ids.
        valid: (B, N) bool real tokens.
        ratio: share of tracklets to mask.
        generator: random source (CPU).

    Returns:
        (B, N) bool, the masked tokens (all tokens of the chosen tracklets; none where the
        span has no token).
    """
    masked = torch.zeros_like(valid)
    for i in range(link.shape[0]):
        links = torch.unique(link[i][valid[i]])
        if links.numel() == 0:
            continue
        count = max(1, round(ratio * links.numel()))
        order = torch.randperm(links.numel(), generator=generator)[:count]
        chosen = links[order.to(links.device)]
        masked[i] = valid[i] & torch.isin(link[i], chosen)
    return masked


class MaskedInstancePrediction(nn.Module):
    """OT plus a feature predictor; ``forward(batch) -> {"loss", "masked"}``.

    Args:
        model: an :class:`ObjectTransformer` with an instance pathway.
        config: masking and loss options.
        seed: seed of the masking choices.
    """

    def __init__(
        self, model: ObjectTransformer, config: MaskedInstanceConfig | None = None, seed: int = 0
    ) -> None:
        super().__init__()
        if model.instance_dim <= 0:
            raise ValueError("masked-instance pretraining needs an instance pathway")
        self.model = model
        self.config = config or MaskedInstanceConfig()
        self.predictor = nn.Linear(model.hidden, model.instance_dim)
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, batch: SpanBatch | Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Mask tracklets, encode, predict the masked features; Eq. 1 loss over the batch.

        ``batch`` is a :class:`SpanBatch` or its fields as a dict (what ``fit`` passes).
        """
        if not isinstance(batch, SpanBatch):
            batch = SpanBatch(**batch)
        cfg, g = self.config, self.generator
        masked = mask_tracklets(batch.inst_link, batch.inst_valid, cfg.ratio, g)
        draw = torch.rand(masked.shape, generator=g).to(masked.device)
        to_mask = masked & (draw < cfg.replace_mask)
        to_random = (
            masked & (draw >= cfg.replace_mask) & (draw < cfg.replace_mask + cfg.replace_random)
        )
        feats = batch.inst_feat
        pool = feats[batch.inst_valid]  # (V, D)
        if to_random.any():
            pick = torch.randint(pool.shape[0], (int(to_random.sum()),), generator=g)
            feats = feats.clone()
            feats[to_random] = pool[pick.to(pool.device)]
        corrupted = dataclasses.replace(batch, inst_feat=feats)
        out = self.model.instance_outputs(corrupted, masked=to_mask)  # (B, N, H)
        v_hat = self.predictor(out[masked])  # (M, D)
        v = batch.inst_feat[masked]
        others = batch.inst_feat[batch.inst_valid & ~masked]
        distractors = nn.functional.normalize(others.float(), dim=-1)
        loss = maskpred_loss(v_hat, v, distractors, cfg.temperature)
        return {"loss": loss, "masked": masked.sum().float()}
