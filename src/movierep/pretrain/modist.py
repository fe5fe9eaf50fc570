"""MoDist: CVRL plus motion distillation from an optical-flow network (Xiao et al. 2021).

The visual pathway ``f_v`` (the Slow-D backbone) reads the two RGB clips of a video, the
motion pathway ``f_m`` (:class:`~movierep.models.motion.MotionNet`) reads the optical flow
of the same two clips; each has its own projection MLP. The loss
(:func:`movierep.losses.modist.modist_loss`) sums the visual-visual InfoNCE (CVRL's term)
and the visual→motion and motion→visual cross-modal InfoNCE terms, which pull a clip's
visual embedding towards the motion embedding of its video and so make the visual
features motion-sensitive (Hierarchical-SSL, Xiao et al. §3.2, Fig. 2 right). After
pretraining only the visual backbone is kept (:attr:`MoDist.backbone`).

Flow comes from :class:`movierep.data.clips.ClipPairDataset` with a flow provider
(:mod:`movierep.video.flow`, cached on disk, since flow is costly and clips repeat over
epochs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from movierep.losses.modist import modist_loss
from movierep.models.heads import ProjectionHead
from movierep.pretrain.cvrl import feature_dim, pair_stats


@dataclass(frozen=True)
class MoDistConfig:
    """MoDist objective settings: CVRL's head and τ, and the motion network preset."""

    temperature: float = 0.1
    proj_hidden_dim: int = 2048
    proj_dim: int = 128
    proj_layers: int = 3
    motion_arch: str = "motion_net"


class MoDist(nn.Module):
    """The MoDist objective: visual and motion pathways with cross-modal contrast.

    Args:
        backbone: visual pathway, clips (B, 3, T, H, W) -> (B, D_v); has ``feature_dim``.
        motion: motion pathway, flow (B, 2, T−1, H_f, W_f) -> (B, D_m); has ``feature_dim``.
        temperature: τ of every InfoNCE term.
        proj_hidden_dim: hidden width of both projection MLPs.
        proj_dim: shared embedding size of both projection MLPs (the terms compare them).
        proj_layers: linear layers per projection MLP.
        gather_distributed: negatives from every DDP rank (no-op in one process).
    """

    def __init__(
        self,
        backbone: nn.Module,
        motion: nn.Module,
        *,
        temperature: float = 0.1,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
        proj_layers: int = 3,
        gather_distributed: bool = True,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.motion = motion
        self.visual_projector = ProjectionHead(
            input_dim=feature_dim(backbone),
            hidden_dim=proj_hidden_dim,
            output_dim=proj_dim,
            num_layers=proj_layers,
        )
        self.motion_projector = ProjectionHead(
            input_dim=feature_dim(motion),
            hidden_dim=proj_hidden_dim,
            output_dim=proj_dim,
            num_layers=proj_layers,
        )
        self.temperature = temperature
        self.gather_distributed = gather_distributed

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Compute the MoDist loss of a batch of clip pairs and their flow.

        Args:
            batch: ``view1``, ``view2`` (B, 3, T, H, W) and ``flow1``, ``flow2``
                (B, 2, T−1, H_f, W_f), the flow of the same two clips.

        Returns:
            ``loss`` and its terms as returned by ``modist_loss`` (``vv``, ``vm``, ``mv``,
            ...), plus ``pos_sim`` / ``pair_acc`` of the visual embeddings.
        """
        B = batch["view1"].shape[0]
        v = self.visual_projector(self.backbone(torch.cat([batch["view1"], batch["view2"]])))
        m = self.motion_projector(self.motion(torch.cat([batch["flow1"], batch["flow2"]])))
        terms = modist_loss(
            v[:B],
            v[B:],
            m[:B],
            m[B:],
            temperature=self.temperature,
            gather_distributed=self.gather_distributed,
        )
        return {**terms, **pair_stats(v[:B].detach(), v[B:].detach())}
