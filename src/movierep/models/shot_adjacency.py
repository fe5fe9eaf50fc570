r"""The shot-adjacency network of Movies2Scenes' movie-similarity learning (Fig. 2).

Two movies m₁, m₂ are their shots' frozen image features ``E_fixed(x₁)`` (n₁, D) and
``E_fixed(x₂)`` (n₂, D). The network learns which of their scenes match from the sole
label "similar movies or not" (multiple-instance learning: the adjacency matrix is the
bag, matching scene pairs its positive instances, §3.1):

.. math::

    A_{x_1,x_2} = E_\text{learnable}(E_\text{fixed}(x_1)) \cdot
                  E_\text{learnable}(E_\text{fixed}(x_2))^\top          \qquad (1)

    B = \text{avgpool}_{k_a, s_a}(A), \quad
    V = \text{flatten}(\text{maxpool}_{k_m, s_m}(B)), \quad
    \text{logits} = L_\text{output}(V)

"Using k_a contiguous shots as scenes, we convert the shot-adjacency matrix A into a
scene-adjacency matrix B by applying average-pooling with kernel size k_a and stride s_a
... we apply max-pooling with kernel size k_m and stride s_m on B followed by flattening
the output to get vector V ... each value in V represents the highest similarity of
scene-pair in a neighborhood of k_m × k_m scenes in B." (§3.1)

Sizes (§4.2): "E_learnable comprises of two fully-connected layers each with 512
dimensions, and a dropout layer with 0.5 probability between them ... We keep length of
each movie to be 1,024 shots, and zero-padded the movies that are shorter than that.
Kernel size for both max and average pooling are set to 16×16, with a stride of 8."

====================== ============================ ===========================
tensor                 paper profile                ``cpu`` profile (32 shots, 4/2)
====================== ============================ ===========================
E_fixed(x)             (B, 1024, 512) CLIP ViT-B/16 (B, 32, 256) movierep ViT
E_learnable(·)         (B, 1024, 512)               (B, 32, 512)
A                      (B, 1024, 1024)              (B, 32, 32)
B (scenes of k_a)      (B, 127, 127)                (B, 15, 15)
max pool → V           (B, 14·14 = 196)             (B, 6·6 = 36)
L_output               196 → 2                      36 → 2
====================== ============================ ===========================

Parameters (paper profile): 512·512 + 512 + 512·512 + 512 + 196·2 + 2 = 525,706.

Three readings we had to make:

- The paper names no non-linearity between the two FC layers; without one they would
  collapse into a single linear map, so E_learnable is Linear → ReLU → Dropout → Linear.
- "Zero-padded" movies: padded shots are zeros at the input, and their rows and columns
  of A are set to zero (the FC layers' biases would otherwise give padding a learned
  similarity), so a padded entry of A is exactly 0.
- Eq. 1 is the bare inner product (the default and the ``paper`` profile). The ``cpu``
  profile takes it between L2-normalised E_learnable outputs (``cosine=True``, the
  similarity CLIP's features are compared with), so A lies in [-1, 1]: with the bare
  inner product, A's entries are in the tens at initialisation, L_output saturates, and
  on the ``demo`` corpus the network did not learn the genre source's pairs (train
  accuracy 0.59 after 2,000 steps, against 0.76 after 1,000 with ``cosine``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep import config


def pooled_size(size: int, kernel: int, stride: int) -> int:
    """Output length of a pooling window sweep: ``⌊(size − kernel) / stride⌋ + 1``."""
    if size < kernel:
        raise ValueError(f"a pooling kernel of {kernel} does not fit {size} inputs")
    return (size - kernel) // stride + 1


@dataclass(frozen=True)
class ShotAdjacencyConfig:
    """The network of Fig. 2; the defaults are the paper's (§4.2).

    Attributes:
        input_dim: D, the size of an E_fixed shot feature (CLIP ViT-B/16: 512; a training
            run sets it from E_fixed).
        hidden_dim: width of both FC layers of E_learnable (512).
        dropout: dropout between them (0.5).
        num_shots: S, the fixed movie length in shots (1,024); shorter movies are padded.
        scene_kernel: k_a, shots per scene (16).
        scene_stride: s_a (8).
        pool_kernel: k_m, scenes per max-pooling window (16).
        pool_stride: s_m (8).
        cosine: L2-normalise E_learnable's outputs, so A holds cosine similarities in
            [-1, 1] (the ``cpu`` profile's reading, see the module docstring); ``False``
            (the paper's) is Eq. 1's bare inner product.
        num_classes: outputs of L_output (2: similar or not).
    """

    input_dim: int = 512
    hidden_dim: int = 512
    dropout: float = 0.5
    num_shots: int = 1024
    scene_kernel: int = 16
    scene_stride: int = 8
    pool_kernel: int = 16
    pool_stride: int = 8
    cosine: bool = False
    num_classes: int = 2


#: The paper's network (Fig. 2, §4.2).
SHOT_ADJACENCY_PAPER = ShotAdjacencyConfig()

#: The ``cpu`` profile's network: movies of 32 shots, kernels 4 and strides 2 (a scene is 4
#: shots, B is 15 × 15 and V 6 × 6), and cosine adjacency (see the module docstring).
SHOT_ADJACENCY_CPU = ShotAdjacencyConfig(
    num_shots=32, scene_kernel=4, scene_stride=2, pool_kernel=4, pool_stride=2, cosine=True
)


class ShotAdjacencyNet(nn.Module):
    """E_learnable, the shot and scene adjacency of two movies, and L_output (Fig. 2).

    Args:
        cfg: the sizes and pooling (:class:`ShotAdjacencyConfig`; defaults: the paper's).

    Attributes:
        cfg: the config it was built from.
    """

    def __init__(self, cfg: ShotAdjacencyConfig = SHOT_ADJACENCY_PAPER) -> None:
        super().__init__()
        self.cfg = cfg
        self.cosine = cfg.cosine
        self.num_shots = cfg.num_shots
        self.scene_kernel, self.scene_stride = cfg.scene_kernel, cfg.scene_stride
        self.pool_kernel, self.pool_stride = cfg.pool_kernel, cfg.pool_stride
        self.num_scenes = pooled_size(cfg.num_shots, cfg.scene_kernel, cfg.scene_stride)
        side = pooled_size(self.num_scenes, cfg.pool_kernel, cfg.pool_stride)
        input_dim, hidden_dim = cfg.input_dim, cfg.hidden_dim
        self.e_learnable = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(hidden_dim, hidden_dim),
        )
        self.l_output = nn.Linear(side * side, cfg.num_classes)

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """:attr:`cfg` as plain JSON values: what ``config.json`` stores as ``model_kwargs``."""
        return config.to_dict(self.cfg)

    def shot_adjacency(self, x1: Tensor, x2: Tensor, len1: Tensor, len2: Tensor) -> Tensor:
        """Eq. 1: A = E_learnable(x₁) · E_learnable(x₂)ᵀ, zero at padded shots.

        Args:
            x1: E_fixed features of movie 1, (B, S, D), zero-padded after ``len1`` shots.
            x2: those of movie 2, (B, S, D).
            len1: (B,) number of real shots of movie 1.
            len2: (B,) number of real shots of movie 2.

        Returns:
            A, (B, S, S).
        """
        h1, h2 = self.e_learnable(x1), self.e_learnable(x2)
        if self.cosine:
            h1, h2 = F.normalize(h1, dim=-1), F.normalize(h2, dim=-1)
        positions = torch.arange(x1.shape[1], device=x1.device)
        h1 = h1 * (positions[None, :] < len1[:, None]).unsqueeze(-1).to(h1.dtype)
        h2 = h2 * (positions[None, :] < len2[:, None]).unsqueeze(-1).to(h2.dtype)
        return torch.einsum("bid,bjd->bij", h1, h2)

    def penultimate(self, x: Tensor) -> Tensor:
        """E_learnable before its last FC layer, the space scene pairs are selected in.

        Supplement §1.1 b: "The feature matrix is then passed to E_learnable before the
        last fully-connected layer". Dropout is the identity in eval mode; with ``cosine``
        the rows are L2-normalised as in training.

        Args:
            x: (..., n, D) E_fixed shot features of one or more whole movies.

        Returns:
            (..., n, hidden_dim).
        """
        h = self.e_learnable[:-1](x)
        return F.normalize(h, dim=-1) if self.cosine else h

    def scene_adjacency(self, a: Tensor) -> Tensor:
        """B = average pool (k_a, s_a) of A: scene i of m₁ is shots [i·s_a, i·s_a + k_a).

        Args:
            a: (B, S, S) shot adjacency.

        Returns:
            (B, S', S') with ``S' = ⌊(S − k_a)/s_a⌋ + 1``.
        """
        return F.avg_pool2d(a.unsqueeze(1), self.scene_kernel, self.scene_stride).squeeze(1)

    def forward(self, x1: Tensor, x2: Tensor, len1: Tensor, len2: Tensor) -> tuple[Tensor, Tensor]:
        """Similar-or-not logits of movie pairs, and their scene adjacency.

        Args:
            x1: (B, S, D) padded E_fixed features of the first movies.
            x2: (B, S, D) of the second movies.
            len1: (B,) real shot counts of the first movies.
            len2: (B,) of the second.

        Returns:
            ``logits`` (B, num_classes) and ``B`` (B, S', S').
        """
        scenes = self.scene_adjacency(self.shot_adjacency(x1, x2, len1, len2))
        v = F.max_pool2d(scenes.unsqueeze(1), self.pool_kernel, self.pool_stride).flatten(1)
        return self.l_output(v), scenes
