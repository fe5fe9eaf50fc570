"""Held-out movie-pair accuracy: does the shot-adjacency network generalise to unseen movies?

Movies2Scenes trains the shot-adjacency network (Fig. 2) to tell "similar movies or
not" and then uses its scene adjacency B to pick scene pairs. Its training accuracy can
rise by memorising the training movies; what the scene selection needs is a network that
scores pairs of *movies it never saw*. Here the similar pairs S of a source are computed
among held-out movies only (the same source and k as training: co-watch from the watch
log, synopsis neighbours, same-genre draws), as many dissimilar pairs are drawn
(:func:`movierep.similarity.movie_pairs.negative_pairs`), and the network classifies each
pair from the movies' E_fixed shot features. The set is balanced, so chance is 0.5;
the standard error is the binomial one over pairs, ``sqrt(acc (1 − acc) / n)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from movierep.data.movie_pair_data import pad_shots
from movierep.models.shot_adjacency import ShotAdjacencyNet
from movierep.similarity.movie_pairs import negative_pairs
from movierep.similarity.scene_pairs import pair_list


@dataclass(frozen=True)
class PairAccuracy:
    """Accuracy on a balanced set of held-out movie pairs.

    Attributes:
        accuracy: share of pairs classified right.
        se: binomial standard error over the pairs.
        pairs: number of pairs scored (half similar, half not).
        chance: 0.5 (the set is balanced).
        similar_accuracy: accuracy on the similar pairs alone (recall of "similar").
    """

    accuracy: float
    se: float
    pairs: int
    chance: float
    similar_accuracy: float

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready fields."""
        return {
            "accuracy": self.accuracy,
            "se": self.se,
            "pairs": self.pairs,
            "chance": self.chance,
            "similar_accuracy": self.similar_accuracy,
        }


@torch.no_grad()
def pair_logits(
    net: ShotAdjacencyNet,
    features: Mapping[str, Tensor],
    pairs: Sequence[tuple[str, str]],
    *,
    batch_size: int = 32,
) -> Tensor:
    """The network's similar-or-not logits of movie pairs, (P, 2).

    Args:
        net: a trained shot-adjacency network (put in eval mode here).
        features: movie id -> (n, D) E_fixed shot features.
        pairs: (movie_a, movie_b) pairs.
        batch_size: pairs per forward pass.
    """
    net.eval()
    device = next(net.parameters()).device
    out = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        padded = [
            (pad_shots(features[a], net.num_shots), pad_shots(features[b], net.num_shots))
            for a, b in chunk
        ]
        x1 = torch.stack([p[0][0] for p in padded]).to(device)
        x2 = torch.stack([p[1][0] for p in padded]).to(device)
        n1 = torch.tensor([p[0][1] for p in padded], device=device)
        n2 = torch.tensor([p[1][1] for p in padded], device=device)
        logits, _ = net(x1, x2, n1, n2)
        out.append(logits.float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 2)


def heldout_pair_accuracy(
    net: ShotAdjacencyNet,
    features: Mapping[str, Tensor],
    similar: pa.Table,
    *,
    seed: int = 0,
) -> PairAccuracy:
    """Accuracy of ``net`` on the held-out similar pairs and as many random dissimilar ones.

    Args:
        net: the trained shot-adjacency network.
        features: movie id -> (n, D) E_fixed shot features of the held-out movies.
        similar: the held-out movies' similar pairs (a ``PAIRS`` table).
        seed: seed of the dissimilar draws.

    Returns:
        A :class:`PairAccuracy` (NaN accuracy when there is no held-out pair).
    """
    positives = sorted({(a, b) for a, b in pair_list(similar) if a in features and b in features})
    if not positives:
        nan = float("nan")
        return PairAccuracy(nan, nan, 0, 0.5, nan)
    negatives = negative_pairs(similar, sorted(features), len(positives), seed=seed)
    logits = pair_logits(net, features, positives + negatives)
    labels = np.array([1] * len(positives) + [0] * len(negatives))
    right = logits.argmax(1).numpy() == labels
    acc = float(right.mean())
    return PairAccuracy(
        accuracy=acc,
        se=math.sqrt(acc * (1 - acc) / len(right)),
        pairs=len(right),
        chance=0.5,
        similar_accuracy=float(right[: len(positives)].mean()),
    )
