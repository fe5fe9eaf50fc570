"""CVRL: contrastive video representation learning (Qian et al., CVPR 2021).

Two clips of the same video, each with temporally consistent spatial augmentation
(:mod:`movierep.data.clips`), go through the backbone ``f`` and a projection MLP ``g``;
the symmetric InfoNCE (NT-Xent) over the global batch pulls the two clips of a video
together and pushes clips of other videos apart:

    z = g(f(x)),   L = −½ Σ_i [ log softmax_j(z1_i·z2_j/τ) + log softmax_j(z2_i·z1_j/τ) ]

(each softmax also runs over the other views of the same side, excluding the query
itself; :func:`movierep.losses.infonce.nt_xent`). Hierarchical-SSL (Xiao et al. §3.2)
uses it to pretrain the Slow-D backbone.

What we follow from CVRL (paper §4.1 and its official TF Model Garden implementation,
``official/projects/video_ssl``): τ = 0.1; a 3-layer projection MLP, hidden 2048, output
128; LARS with lr 0.32 for a global batch of 1024 (linear scaling), weight decay 1e-6,
linear warm-up then cosine decay. The paper profile trains the backbone for 400 epochs
on K400 (Xiao et al.).

CVRL's two other ingredients live on the data side, where the clips are made: its
temporal sampling (the gap between the two clips' starts drawn from a decreasing density)
is :func:`movierep.data.clips.sample_pair_starts`, and its temporally consistent spatial
augmentation is :class:`movierep.data.augment.ClipAugment`. The recipe that wires them
together is :mod:`movierep.recipes.cvrl`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from movierep.losses.infonce import nt_xent
from movierep.models.heads import ProjectionHead


@dataclass(frozen=True)
class CVRLConfig:
    """CVRL objective hyper-parameters; the defaults are CVRL's (§4.1 and its release).

    Attributes:
        temperature: τ of NT-Xent (0.1).
        proj_hidden_dim: hidden width of the projection MLP g (2048).
        proj_dim: output width of the projection MLP (128).
        proj_layers: number of linear layers in the projection MLP (3).
    """

    temperature: float = 0.1
    proj_hidden_dim: int = 2048
    proj_dim: int = 128
    proj_layers: int = 3


class CVRL(nn.Module):
    """The CVRL objective around a clip backbone.

    Args:
        backbone: maps clips (B, C, T, H, W) to features (B, D); exposes ``feature_dim``.
        cfg: τ and the projection MLP's sizes (:class:`CVRLConfig`; defaults: CVRL's).
        gather_distributed: use every DDP rank's clips as negatives (no-op in one process).

    Example:
        >>> objective = CVRL(slow_d_tiny(), CVRLConfig(proj_hidden_dim=256))  # doctest: +SKIP
        >>> objective({"view1": x1, "view2": x2})["loss"]  # doctest: +SKIP
    """

    def __init__(
        self,
        backbone: nn.Module,
        cfg: CVRLConfig = CVRLConfig(),
        *,
        gather_distributed: bool = True,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = backbone
        self.projector = ProjectionHead(
            input_dim=feature_dim(backbone),
            hidden_dim=cfg.proj_hidden_dim,
            output_dim=cfg.proj_dim,
            num_layers=cfg.proj_layers,
        )
        self.temperature = cfg.temperature
        self.gather_distributed = gather_distributed

    def embed(self, clips: Tensor) -> Tensor:
        """Projected embeddings ``g(f(x))`` (B, proj_dim) of clips (B, C, T, H, W)."""
        out: Tensor = self.projector(self.backbone(clips))
        return out

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Compute the CVRL loss of a batch of clip pairs.

        Args:
            batch: ``view1`` and ``view2``, each (B, C, T, H, W); ``view1[i]`` and
                ``view2[i]`` are two clips of video i.

        Returns:
            ``loss`` (scalar) and, for logging, ``pos_sim`` (mean cosine similarity of the
            positive pairs) and ``pair_acc`` (fraction of ``view1`` clips whose nearest
            ``view2`` embedding in the local batch is their own pair).
        """
        B = batch["view1"].shape[0]
        # One pass over both views: batch-norm statistics cover the 2B clips, as in CVRL.
        z = self.embed(torch.cat([batch["view1"], batch["view2"]]))
        z1, z2 = z[:B], z[B:]
        loss = nt_xent(
            z1, z2, temperature=self.temperature, gather_distributed=self.gather_distributed
        )
        return {"loss": loss, **pair_stats(z1.detach(), z2.detach())}


def feature_dim(module: nn.Module) -> int:
    """The size D of a backbone's pooled feature (its ``feature_dim`` attribute)."""
    dim = vars(module).get("feature_dim")
    if not isinstance(dim, int):
        raise ValueError(f"{type(module).__name__} has no integer feature_dim attribute")
    return dim


def pair_stats(z1: Tensor, z2: Tensor) -> dict[str, Tensor]:
    """Positive-pair cosine similarity and top-1 pair retrieval accuracy, for logging.

    Args:
        z1: (B, D) embeddings of the first views.
        z2: (B, D) embeddings of the second views.
    """
    z1 = nn.functional.normalize(z1.float(), dim=-1)
    z2 = nn.functional.normalize(z2.float(), dim=-1)
    sim = torch.einsum("bd,cd->bc", z1, z2)
    target = torch.arange(z1.shape[0], device=z1.device)
    return {
        "pos_sim": sim.diagonal().mean(),
        "pair_acc": (sim.argmax(dim=1) == target).float().mean(),
    }
