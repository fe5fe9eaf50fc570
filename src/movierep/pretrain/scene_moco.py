r"""Scene contrastive learning with momentum contrast (Movies2Scenes §3.2.2, Fig. 3).

A query scene q of one movie and its positive key k₀, the matching scene of a similar
movie (a row of ``P_scene``), go through the query encoder f and the momentum key
encoder g; the K keys of past batches in a queue are the negatives (Eq. 2):

.. math::

    \mathcal{L}_q = -\log \frac{\exp(f(q|\theta_q) \cdot g(k_0|\theta_k)/\tau)}
                               {\sum_{i=0}^{K} \exp(f(q|\theta_q) \cdot g(k_i|\theta_k)/\tau)}

"We follow the implementation in [22] (MoCo) for momentum contrastive learning and use
the ViT from pre-trained CLIP as our scene encoder ... Moreover, we optimize with Adam."
What we take from MoCo (He et al., CVPR 2020, §3.2-3.3 and Algorithm 1): f and g are the
encoder followed by one FC layer to a 128-d embedding, both L2-normalised; g starts as a
copy of f and follows it by ``θ_k ← m θ_k + (1 − m) θ_q`` with m = 0.999 before the keys
are computed; the loss is the (K+1)-way cross-entropy at τ = 0.07 against the queue only
(no in-batch negatives), and the batch's keys are enqueued afterwards (K = 65,536).
MoCo's shuffling BN is not needed: the ViT has no batch normalisation. "E_scene is the
query encoder q without the last fully-connected layer": :attr:`SceneMoCo.encoder_q`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.losses.infonce import info_nce
from movierep.losses.queue import FeatureQueue


@dataclass(frozen=True)
class SceneMoCoConfig:
    """MoCo's hyper-parameters (He et al. 2020): 128-d keys, K = 65,536, m = 0.999, τ = 0.07.

    Attributes:
        dim: size of the contrastive embedding (the last FC layer's output).
        queue_size: K.
        momentum: m.
        temperature: τ.
    """

    dim: int = 128
    queue_size: int = 65536
    momentum: float = 0.999
    temperature: float = 0.07


class SceneMoCo(nn.Module):
    """MoCo around a scene encoder: query encoder f, momentum key encoder g, key queue.

    Args:
        encoder: the scene encoder (a ViT taking (B, F, C, H, W)); exposes ``embed_dim``.
        cfg: MoCo's settings (:class:`SceneMoCoConfig`; defaults: MoCo's).
    """

    def __init__(self, encoder: nn.Module, cfg: SceneMoCoConfig = SceneMoCoConfig()) -> None:
        super().__init__()
        embed_dim = vars(encoder).get("embed_dim")
        if not isinstance(embed_dim, int):
            raise ValueError(f"{type(encoder).__name__} has no integer embed_dim attribute")
        self.cfg = cfg
        self.encoder_q = encoder
        self.fc_q = nn.Linear(embed_dim, cfg.dim)
        self.encoder_k = copy.deepcopy(encoder)
        self.fc_k = copy.deepcopy(self.fc_q)
        for p in [*self.encoder_k.parameters(), *self.fc_k.parameters()]:
            p.requires_grad_(False)
        self.queue = FeatureQueue(cfg.queue_size, cfg.dim)
        self.momentum = cfg.momentum
        self.temperature = cfg.temperature

    def query_params(self) -> list[nn.Parameter]:
        """θ_q, in the order that matches :meth:`key_params`."""
        return [*self.encoder_q.parameters(), *self.fc_q.parameters()]

    def key_params(self) -> list[nn.Parameter]:
        """θ_k."""
        return [*self.encoder_k.parameters(), *self.fc_k.parameters()]

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``θ_k ← m θ_k + (1 − m) θ_q`` (MoCo Eq. 2)."""
        for k, q in zip(self.key_params(), self.query_params(), strict=True):
            k.mul_(self.momentum).add_(q.detach(), alpha=1.0 - self.momentum)

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Eq. 2 for a batch of scene pairs, then the momentum update and the enqueue.

        Args:
            batch: ``query`` and ``key``, each (B, F, C, H, W): F = n shots × k frames;
                ``key[i]`` is the scene matched with ``query[i]``.

        Returns:
            ``loss`` (scalar), and for logging ``pos_sim`` (mean q·k₀) and ``queue_fill``.
        """
        q = F.normalize(self.fc_q(self.encoder_q(batch["query"])).float(), dim=-1)
        with torch.no_grad():
            if self.training:
                self.momentum_update()
            k = F.normalize(self.fc_k(self.encoder_k(batch["key"])).float(), dim=-1)
        loss = info_nce(q, k, self.queue.negatives(), temperature=self.temperature, in_batch=False)
        if self.training:
            self.queue.enqueue(k)
        return {
            "loss": loss,
            "pos_sim": (q.detach() * k).sum(-1).mean(),
            "queue_fill": self.queue.filled.float() / self.queue.size,
        }
