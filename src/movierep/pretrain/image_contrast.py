"""Contrastive image pretraining of movierep's stand-in for CLIP's image encoder.

Movies2Scenes takes CLIP's ViT-B/16 (400M image-text pairs) as E_fixed and as the scene
encoder's initialisation. Where no CLIP weights are at hand (none can be downloaded
here), ``movierep train image-encoder`` pretrains the same ViT on the catalog's shot
keyframes with SimCLR (Chen et al., ICML 2020): two augmentations of one keyframe are a
positive pair, the other 2(B−1) views of the (global) batch its negatives, through a
projection MLP and NT-Xent (their Eq. 1; :func:`movierep.losses.infonce.nt_xent`). We
follow SimCLR's choices: random resized crop, flip, strong colour jitter, grayscale and
blur (:class:`movierep.data.augment.ClipAugment` with one frame), a 2-layer projection
head whose input (the ViT's output) is the representation kept, and τ = 0.1.
It sees images only, no text and no movie-level signal: what scene contrast adds on top
of it is what the Movies2Scenes tables measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from movierep.losses.infonce import nt_xent
from movierep.models.heads import ProjectionHead
from movierep.pretrain.cvrl import pair_stats


@dataclass(frozen=True)
class ImageContrastConfig:
    """SimCLR's objective settings (projection MLP 2 layers, 128-d output, τ = 0.1).

    Attributes:
        temperature: τ.
        proj_hidden_dim: hidden width of the projection MLP.
        proj_dim: its output width.
        proj_layers: its number of linear layers.
    """

    temperature: float = 0.1
    proj_hidden_dim: int = 2048
    proj_dim: int = 128
    proj_layers: int = 2


class ImageContrast(nn.Module):
    """SimCLR around an image encoder.

    Args:
        encoder: maps images (B, C, H, W) to (B, D); exposes ``embed_dim``.
        cfg: τ and the projection MLP's sizes (:class:`ImageContrastConfig`).
        gather_distributed: negatives from every DDP rank.
    """

    def __init__(
        self,
        encoder: nn.Module,
        cfg: ImageContrastConfig = ImageContrastConfig(),
        *,
        gather_distributed: bool = True,
    ) -> None:
        super().__init__()
        embed_dim = vars(encoder).get("embed_dim")
        if not isinstance(embed_dim, int):
            raise ValueError(f"{type(encoder).__name__} has no integer embed_dim attribute")
        self.cfg = cfg
        self.encoder = encoder
        self.projector = ProjectionHead(
            input_dim=embed_dim,
            hidden_dim=cfg.proj_hidden_dim,
            output_dim=cfg.proj_dim,
            num_layers=cfg.proj_layers,
        )
        self.temperature = cfg.temperature
        self.gather_distributed = gather_distributed

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """NT-Xent of a batch of image pairs.

        Args:
            batch: ``view1`` and ``view2``, each (B, C, H, W), two views of image i.

        Returns:
            ``loss`` (scalar), ``pos_sim`` and ``pair_acc`` (see
            :func:`movierep.pretrain.cvrl.pair_stats`).
        """
        B = batch["view1"].shape[0]
        z = self.projector(self.encoder(torch.cat([batch["view1"], batch["view2"]])))
        z1, z2 = z[:B], z[B:]
        loss = nt_xent(
            z1, z2, temperature=self.temperature, gather_distributed=self.gather_distributed
        )
        return {"loss": loss, **pair_stats(z1.detach(), z2.detach())}
