"""MoDist (MaCLR): CVRL plus motion distillation from an optical-flow pathway, MoCo-style.

The visual pathway ``f_v`` (the Slow-D backbone) reads the two RGB clips of a video, the
motion pathway ``f_m`` (:class:`~movierep.models.motion.MotionNet`, 1/8 of the visual
width) reads the optical flow of the same two clips; each has a projection head (2 linear
layers, 2048 -> 128, no batch norm; L2-normalised in the loss). As in MoCo (He et al.
2020), each pathway and head has a *momentum* copy that encodes the keys,

    θ_k ← m θ_k + (1 − m) θ_q,    m = 0.999,

and a queue of earlier keys per modality (65,536) supplies the negatives. The loss
(:func:`movierep.losses.modist.modist_loss`) is the visual-visual InfoNCE (CVRL's term)
plus the visual→flow and flow→visual cross-modal terms (weight 1.0), whose positive is by
default the flow of the *same* clip (``cross_positive``, argued there); the flow-flow term
is off by default. The motion pathway reads flow with the camera's motion removed
(``camera_compensation``, :mod:`movierep.models.camera_motion`: two-stream practice's
warped flow, so that the pathway learns the actors' motion, not the director's pans).
Hierarchical-SSL (Xiao et al. §3.2, Fig. 2 right) pretrains Slow-D with it. After
pretraining only the visual query backbone is exported;
:func:`movierep.features.motion.load_motion_pathway` reads the motion pathway back from
the saved objective, for probing.

The settings follow the authors' release (amazon-science/self-supervised-maclr,
``slowfast/config/defaults.py``): momentum 0.999, pool 65,536, τ = 0.1, 2-layer heads,
flow weight 1.0, no flow-flow term, positives 0.5-10 s apart
(:func:`movierep.data.clips.sample_shifted_pair_starts`), flow clips 16×4. Left out:
MoCo's shuffled batch norm for the key encoders, which needs several GPUs to mean
anything (within one device a batch's statistics do not depend on its order).

Flow comes from :class:`movierep.data.clips.ClipPairDataset` with a flow provider
(:mod:`movierep.video.flow`, cached on disk, since flow is costly and clips repeat over
epochs).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.losses.modist import CROSS_POSITIVES, modist_loss
from movierep.losses.queue import FeatureQueue
from movierep.models.heads import ProjectionHead
from movierep.pretrain.cvrl import feature_dim, pair_stats


@dataclass(frozen=True)
class MoDistConfig:
    """MoDist objective settings; defaults are the authors' release.

    Attributes:
        temperature: τ of every InfoNCE term.
        proj_hidden_dim: hidden width of both projection heads.
        proj_dim: embedding size of both heads (the terms compare them).
        proj_layers: linear layers per head.
        momentum: m of the momentum key encoders.
        queue_size: K, earlier keys kept per modality as negatives.
        flow_weight: weight of the two cross-modal terms.
        flow_flow: add the flow-flow instance discrimination term.
        min_gap_s: smallest time between the two positive clips (s).
        max_gap_s: largest time between the two positive clips (s).
        motion_arch: motion pathway preset (:data:`movierep.models.MODELS`).
        flow_method: how the motion pathway's flow is computed
            (:data:`movierep.video.flow.FLOW_METHODS`; the release pre-extracts flow and
            does not say with what).
        cross_positive: the cross-modal terms' positive key, the same clip's (``"same"``)
            or the other view's (``"other"``); see :mod:`movierep.losses.modist`.
        camera_compensation: the motion pathway removes each frame pair's affine camera
            motion from its flow (:class:`movierep.models.motion.MotionNet`).
    """

    temperature: float = 0.1
    proj_hidden_dim: int = 2048
    proj_dim: int = 128
    proj_layers: int = 2
    momentum: float = 0.999
    queue_size: int = 65536
    flow_weight: float = 1.0
    flow_flow: bool = False
    min_gap_s: float = 0.5
    max_gap_s: float = 10.0
    motion_arch: str = "motion_net"
    flow_method: str = "dis"
    cross_positive: str = "same"
    camera_compensation: bool = True


class MoDist(nn.Module):
    """The MoDist objective: visual and motion pathways, their momentum copies and queues.

    Args:
        backbone: visual pathway, clips (B, 3, T, H, W) -> (B, D_v); has ``feature_dim``.
        motion: motion pathway, flow (B, 2, T−1, H_f, W_f) -> (B, D_m); has ``feature_dim``.
        cfg: the objective's settings (:class:`MoDistConfig`; the heads have no batch norm).
            Its data-side fields (gaps, flow method, motion preset) are the recipe's.
        gather_distributed: negatives and enqueued keys from every DDP rank.
    """

    def __init__(
        self,
        backbone: nn.Module,
        motion: nn.Module,
        cfg: MoDistConfig = MoDistConfig(),
        *,
        gather_distributed: bool = True,
    ) -> None:
        super().__init__()
        momentum, cross_positive = cfg.momentum, cfg.cross_positive
        proj_hidden_dim, proj_dim, proj_layers = cfg.proj_hidden_dim, cfg.proj_dim, cfg.proj_layers
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if cross_positive not in CROSS_POSITIVES:
            raise ValueError(
                f"cross_positive must be one of {CROSS_POSITIVES}, got {cross_positive!r}"
            )
        self.backbone = backbone
        self.motion = motion
        self.visual_projector = ProjectionHead(
            feature_dim(backbone), proj_hidden_dim, proj_dim, proj_layers, batch_norm=False
        )
        self.motion_projector = ProjectionHead(
            feature_dim(motion), proj_hidden_dim, proj_dim, proj_layers, batch_norm=False
        )
        # momentum (key) encoders: copies that follow the queries' weights, never trained
        self.backbone_k = copy.deepcopy(backbone)
        self.visual_projector_k = copy.deepcopy(self.visual_projector)
        self.motion_k = copy.deepcopy(motion)
        self.motion_projector_k = copy.deepcopy(self.motion_projector)
        for module in self._key_encoders():
            module.requires_grad_(False)
        self.cfg = cfg
        self.visual_queue = FeatureQueue(cfg.queue_size, proj_dim)
        self.motion_queue = FeatureQueue(cfg.queue_size, proj_dim)
        self.temperature = cfg.temperature
        self.momentum = momentum
        self.flow_weight = cfg.flow_weight
        self.flow_flow = cfg.flow_flow
        self.cross_positive = cross_positive
        self.gather_distributed = gather_distributed

    def _key_encoders(self) -> tuple[nn.Module, ...]:
        return (self.backbone_k, self.visual_projector_k, self.motion_k, self.motion_projector_k)

    def _query_encoders(self) -> tuple[nn.Module, ...]:
        return (self.backbone, self.visual_projector, self.motion, self.motion_projector)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """θ_k ← m θ_k + (1 − m) θ_q for every key encoder (batch-norm statistics stay its own)."""
        for q_mod, k_mod in zip(self._query_encoders(), self._key_encoders(), strict=True):
            for q, k in zip(q_mod.parameters(), k_mod.parameters(), strict=True):
                k.mul_(self.momentum).add_(q.detach(), alpha=1.0 - self.momentum)

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Compute the MoDist loss of a batch of clip pairs and their flow.

        Args:
            batch: ``view1``, ``view2`` (B, 3, T, H, W) and ``flow1``, ``flow2``
                (B, 2, T−1, H_f, W_f), the raw flow of the same two clips (the motion
                pathway removes camera motion when built with ``camera_compensation``).

        Returns:
            ``loss`` and its terms (``vv``, ``vm``, ``mv``[, ``mm``]), ``pos_sim`` /
            ``pair_acc`` of the visual queries, and ``queue_filled``.
        """
        B = batch["view1"].shape[0]
        views = torch.cat([batch["view1"], batch["view2"]])  # (2B, ...): view 1 then 2
        flows = torch.cat([batch["flow1"], batch["flow2"]])
        q_v = F.normalize(self.visual_projector(self.backbone(views)), dim=-1)
        q_m = F.normalize(self.motion_projector(self.motion(flows)), dim=-1)
        with torch.no_grad():
            self.momentum_update()
            k_v = F.normalize(self.visual_projector_k(self.backbone_k(views)), dim=-1)
            k_m = F.normalize(self.motion_projector_k(self.motion_k(flows)), dim=-1)
        terms = modist_loss(
            q_v,
            k_v,
            q_m,
            k_m,
            self.visual_queue.negatives(),
            self.motion_queue.negatives(),
            temperature=self.temperature,
            flow_weight=self.flow_weight,
            flow_flow=self.flow_flow,
            cross_positive=self.cross_positive,
            gather_distributed=self.gather_distributed,
        )
        self.visual_queue.enqueue(k_v, gather_distributed=self.gather_distributed)
        self.motion_queue.enqueue(k_m, gather_distributed=self.gather_distributed)
        stats = pair_stats(q_v[:B].detach(), q_v[B:].detach())
        return {**terms, **stats, "queue_filled": self.visual_queue.filled.float()}
