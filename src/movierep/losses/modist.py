r"""MoDist's loss: visual-visual, motion-motion and the two visual-motion contrastive terms.

Xiao, Tighe and Modolo, "MoDist: Motion Distillation for Self-supervised Video
Representation Learning" (2021). Each video in a batch gives two clips (views 1 and 2);
each clip has a visual embedding ``v`` (projection of the RGB backbone feature) and a
motion embedding ``m`` (projection of the motion pathway's feature on the clip's optical
flow). With :math:`\ell(q, k)` the InfoNCE of :func:`movierep.losses.infonce.info_nce`
(positive ``k_i`` for ``q_i``, the keys ``k_j, j≠i`` of the other videos as negatives,
temperature τ):

.. math::

    \mathcal{L} = w_{vv} \mathcal{L}_{vv} + w_{mm} \mathcal{L}_{mm}
                + w_{vm} \mathcal{L}_{vm} + w_{mv} \mathcal{L}_{mv}

    \mathcal{L}_{vv} = \mathrm{NT\text{-}Xent}(v^1, v^2), \quad
    \mathcal{L}_{mm} = \mathrm{NT\text{-}Xent}(m^1, m^2)

    \mathcal{L}_{vm} = \tfrac12 [\ell(v^1, m^2) + \ell(v^2, m^1)], \quad
    \mathcal{L}_{mv} = \tfrac12 [\ell(m^1, v^2) + \ell(m^2, v^1)]

``vv`` is CVRL's visual instance discrimination ("standard contrastive learning
objectives for RGB video clips", MoDist's abstract) and ``vm``/``mv`` the "cross-modal
learning objective between a Motion pathway and a Visual pathway": a visual query against
motion keys, whose negatives are the motion embeddings of the other videos, and vice
versa. ``mm`` (the motion pathway's own instance discrimination), pairing a view with the
*other* view's key of the other modality, and the unweighted sum follow a public
re-implementation of MoDist (MoCo-style there, in-batch here); MoDist's own loss weights
were not available to us, so every weight is an argument (default 1).
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from movierep.losses.infonce import info_nce, nt_xent

TERMS = ("vv", "mm", "vm", "mv")
DEFAULT_WEIGHTS: Mapping[str, float] = {"vv": 1.0, "mm": 1.0, "vm": 1.0, "mv": 1.0}


def modist_loss(
    v1: Tensor,
    v2: Tensor,
    m1: Tensor,
    m2: Tensor,
    *,
    temperature: float,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    gather_distributed: bool = False,
) -> dict[str, Tensor]:
    """MoDist's weighted sum of within- and cross-modal InfoNCE terms (see module docstring).

    Args:
        v1: visual embeddings of the first clips (B, D).
        v2: visual embeddings of the second clips (B, D); ``(v1[i], v2[i])`` come from video i.
        m1: motion embeddings of the first clips' flow (B, D).
        m2: motion embeddings of the second clips' flow (B, D).
        temperature: τ of every term (CVRL and MoDist use 0.1).
        weights: weight of each term, keys among ``"vv", "mm", "vm", "mv"``; a missing key
            keeps its default weight 1 (``{"mm": 0.0}`` drops the motion-motion term).
        gather_distributed: take negatives from the global batch of all DDP ranks.

    Returns:
        ``{"loss": scalar, "vv": ..., "mm": ..., "vm": ..., "mv": ...}`` (the terms
        unweighted, for logging). Embeddings need not be normalised: the InfoNCE functions
        L2-normalise them.
    """
    unknown = set(weights) - set(TERMS)
    if unknown:
        raise ValueError(f"unknown MoDist loss terms {sorted(unknown)}; known: {TERMS}")
    if not v1.shape == v2.shape == m1.shape == m2.shape:
        raise ValueError(
            f"v1, v2, m1, m2 must all be (B, D); got {[tuple(t.shape) for t in (v1, v2, m1, m2)]}"
        )

    def ell(q: Tensor, k: Tensor) -> Tensor:
        return info_nce(q, k, temperature=temperature, gather_distributed=gather_distributed)

    terms = {
        "vv": nt_xent(v1, v2, temperature=temperature, gather_distributed=gather_distributed),
        "mm": nt_xent(m1, m2, temperature=temperature, gather_distributed=gather_distributed),
        "vm": 0.5 * (ell(v1, m2) + ell(v2, m1)),
        "mv": 0.5 * (ell(m1, v2) + ell(m2, v1)),
    }
    w = {**DEFAULT_WEIGHTS, **weights}
    loss = sum(
        (w[name] * value for name, value in terms.items()),
        start=v1.new_zeros(()),
    )
    return {"loss": loss, **terms}
