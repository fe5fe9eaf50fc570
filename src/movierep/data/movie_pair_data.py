"""Movie pairs as the shot-adjacency network's training items (Movies2Scenes §3.1).

Every similar pair of ``S`` (the pseudo-labels of :mod:`movierep.similarity.movie_pairs`)
is a positive item; as many negative items draw a random movie pair that no source calls
similar ("if x₁ and x₂ are shots from similar movies as defined by S, our target label
is 1, and 0 otherwise"). A negative is drawn from the item's own seed
(:class:`movierep.data.sampling.SeededItems`), so every epoch sees fresh negatives and a
resumed run the same ones. Movies are their cached E_fixed shot features, zero-padded to
the network's fixed length, looked up per item: ``features`` may be a dict of small tables
or a :class:`movierep.features.shot_store.ShotFeatureStore`, which reads both movies of
an item from the Parquet table (each DataLoader worker through its own file handle and
cache of recent movies), so memory does not grow with the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from movierep.errors import UserError


def pad_shots(features: Tensor, num_shots: int) -> tuple[Tensor, int]:
    """Zero-pad (or cut) a movie's shot features to ``num_shots`` rows.

    Args:
        features: (n, D) E_fixed features in shot order.
        num_shots: S.

    Returns:
        (S, D) padded features and the number of real rows kept, ``min(n, S)``.
    """
    n = min(features.shape[0], num_shots)
    out = features.new_zeros(num_shots, features.shape[1])
    out[:n] = features[:n]
    return out, n


class MoviePairDataset(Dataset[dict[str, Tensor]]):
    """Similar movie pairs (label 1) and as many random dissimilar ones (label 0).

    Args:
        features: movie id → (n, D) E_fixed shot features in shot order (read per item;
            a ``ShotFeatureStore`` reads them from Parquet on demand).
        similar: (movie_a, movie_b) pairs called similar by some source (directed; a pair
            counts as similar in both directions).
        num_shots: S, the padded movie length.
        negatives_per_positive: negative items per positive one (1).
    """

    def __init__(
        self,
        features: Mapping[str, Tensor],
        similar: Sequence[tuple[str, str]],
        num_shots: int,
        negatives_per_positive: int = 1,
    ) -> None:
        self.movies = sorted(features)
        self.features = features
        known = set(self.movies)
        self.positives = [(a, b) for a, b in similar if a in known and b in known and a != b]
        if not self.positives:
            raise UserError("no similar movie pair has shot features for both movies")
        self.similar = {frozenset(p) for p in self.positives}
        if len(self.similar) >= len(self.movies) * (len(self.movies) - 1) // 2:
            raise UserError("every movie pair is similar: no negatives to learn from")
        self.num_shots = num_shots
        self.negatives = len(self.positives) * negatives_per_positive

    def __len__(self) -> int:
        return len(self.positives) + self.negatives

    def _negative(self) -> tuple[str, str]:
        n = len(self.movies)
        while True:
            i, j = torch.randint(n, (2,)).tolist()
            a, b = self.movies[i], self.movies[j]
            if a != b and frozenset((a, b)) not in self.similar:
                return a, b

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """``x1``, ``x2`` (S, D), ``len1``, ``len2`` (), ``label`` () long."""
        if index < len(self.positives):
            (a, b), label = self.positives[index], 1
        else:
            (a, b), label = self._negative(), 0
        x1, n1 = pad_shots(self.features[a], self.num_shots)
        x2, n2 = pad_shots(self.features[b], self.num_shots)
        return {
            "x1": x1,
            "x2": x2,
            "len1": torch.tensor(n1),
            "len2": torch.tensor(n2),
            "label": torch.tensor(label),
        }
