"""Movie-similarity learning (Movies2Scenes §3.1): cross-entropy on "similar movies or not".

"During training, we use cross-entropy loss to update E_learnable and L_output while
E_fixed remains unchanged." E_fixed is not part of the objective at all: its features are
computed once per shot and cached (:mod:`movierep.features.shots`), which is what makes
the step cheap at 1,024 shots per movie. The network is
:class:`movierep.models.shot_adjacency.ShotAdjacencyNet` (its sizes are
``ShotAdjacencyConfig``, beside it); pairs and their labels come from
:class:`movierep.similarity.pair_data.MoviePairDataset`.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from movierep.models.shot_adjacency import ShotAdjacencyNet


class MovieSimilarity(nn.Module):
    """Cross-entropy of the shot-adjacency network's similar-or-not logits.

    Args:
        net: the shot-adjacency network (E_learnable and L_output).
    """

    def __init__(self, net: ShotAdjacencyNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Loss of a batch of movie pairs.

        Args:
            batch: ``x1``, ``x2`` (B, S, D) padded E_fixed shot features, ``len1``, ``len2``
                (B,) real shot counts, ``label`` (B,) 1 for similar movies, 0 otherwise.

        Returns:
            ``loss`` (scalar) and, for logging, ``acc`` (pair accuracy) and ``pos_rate``.
        """
        logits, _ = self.net(batch["x1"], batch["x2"], batch["len1"], batch["len2"])
        label = batch["label"]
        loss = F.cross_entropy(logits.float(), label)
        acc = (logits.argmax(dim=1) == label).float().mean()
        return {"loss": loss, "acc": acc, "pos_rate": label.float().mean()}
