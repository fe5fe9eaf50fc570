r"""MoDist's loss as its authors built it: visual-visual plus visual-flow cross-modal InfoNCE.

Xiao, Tighe and Modolo, "MoDist: Motion Distillation for Self-supervised Video
Representation Learning" (2021), renamed MaCLR, "Motion-aware contrastive video
representation learning via foreground-background merging" (ECCV 2022, arXiv 2106.09703).
What we follow is the authors' release (amazon-science/self-supervised-maclr,
``slowfast/config/defaults.py`` and ``tools/train_net.py``): MoCo-style momentum key
encoders and negative queues (``CONTRASTIVE_MOMENTUM = 0.999``,
``CONTRASTIVE_POOL_SIZE = 65536``), InfoNCE at τ = 0.1 (``INFONCE_TEMPERATURE``), the total
loss ``contrastive + CONTRASTIVE_FLOW_WEIGHT · flow_contrastive`` with weight 1.0, and the
flow-flow instance discrimination off by default (``FLOW_INST_DISC = False``).

Each video gives two clips (views 1 and 2, 0.5-10 s apart); each view has a visual query
``q_v`` (RGB pathway + projection, L2-normalised) and a flow query ``q_m`` (motion
pathway on the view's optical flow), and the momentum encoders give the keys ``k_v``,
``k_m``. With :math:`\ell(q, k; Q)` the InfoNCE of query ``q`` against its positive key
``k`` and the negatives ``Q`` (:func:`movierep.losses.infonce.info_nce`: the other keys of
the batch and a queue of earlier keys), ``k^{\bar{v}}`` the key of the *other* view and
``k^{c}`` the key a cross-modal term pairs with (see below):

.. math::

    \mathcal{L} = \mathcal{L}_{vv} + w\,(\mathcal{L}_{vm} + \mathcal{L}_{mv})
                  \; [+\, \mathcal{L}_{mm}]

    \mathcal{L}_{vv} = \ell(q_v, k_v^{\bar{v}}; Q_v), \quad
    \mathcal{L}_{vm} = \ell(q_v, k_m^{c}; Q_m), \quad
    \mathcal{L}_{mv} = \ell(q_m, k_v^{c}; Q_v), \quad
    \mathcal{L}_{mm} = \ell(q_m, k_m^{\bar{v}}; Q_m)

averaged over both views as queries (the release's model file, which would say whether
the loss is symmetrised, is not in the repository; we symmetrise, as MoCo v3 does:
``ctr(q_1, k_2) + ctr(q_2, k_1)``).

**The cross-modal positive** (``cross_positive``). MaCLR's abstract and project page say
the cross-modal objective is "between a Motion pathway and a Visual pathway" and that the
visual representation then "focuses more on foreground motion regions"; the text we could
reach does not say whether a visual query's positive flow key is that of the *same* clip
or of the other, time-shifted view, and the release withholds its model file. ``"same"``
(``k^{c} = k``: the flow of the very frames the query saw) asks the visual pathway to
encode *this* clip's motion; ``"other"`` (``k^{c} = k^{\bar{v}}``) asks it only for what
the two views share, which on movies 0.5-10 s apart is mostly the place and the cast,
not the action (a movie's 2 s events change verb). ``"same"`` is our default, the reading
that makes the term distil motion; both are measured in
``benchmarks/results/hierarchy_learning.json``.

In-batch negatives: each view's queries meet only keys of the half their positives come
from (for the other-view terms, the other view's keys; for same-clip cross-modal terms,
the same view's keys of the other videos). Pooling both views' keys into one 2B × 2B
matrix would make each query's own clip, encoded by the momentum encoder, one of its
negatives (the key nearest to the query, pushed away: on the demo corpus the loss then
rose from 14 to 18 over 300 steps as every embedding collapsed onto one point, positive
cosine 0.98).
``vv`` is CVRL's visual instance discrimination, ``vm``/``mv`` the cross-modal terms that
distil motion into the visual pathway.
"""

from __future__ import annotations

from torch import Tensor

from movierep.losses.infonce import info_nce

TERMS = ("vv", "vm", "mv", "mm")
#: What a cross-modal term's positive key is: the same clip's, or the other view's.
CROSS_POSITIVES = ("same", "other")


def other_view(keys: Tensor) -> Tensor:
    """Rows reordered so row i is the key of the other view of row i's video, (2B, D)."""
    return keys.roll(keys.shape[0] // 2, dims=0)


def modist_loss(
    q_v: Tensor,
    k_v: Tensor,
    q_m: Tensor,
    k_m: Tensor,
    queue_v: Tensor | None = None,
    queue_m: Tensor | None = None,
    *,
    temperature: float = 0.1,
    flow_weight: float = 1.0,
    flow_flow: bool = False,
    cross_positive: str = "same",
    gather_distributed: bool = False,
) -> dict[str, Tensor]:
    """MoDist's loss (see the module docstring) for the queries and keys of both views.

    Args:
        q_v: visual queries (N, D), N = 2B: view 1 of the B videos, then view 2.
        k_v: visual momentum keys (N, D) of the same clips: ``k_v[i]`` encodes query
            ``i``'s own clip (the loss pairs each query with the other view's key itself).
        q_m: flow queries (N, D).
        k_m: flow momentum keys (N, D), in the same order.
        queue_v: earlier visual keys (K, D), negatives of the terms whose keys are visual.
        queue_m: earlier flow keys (K, D), negatives of the terms whose keys are flow.
        temperature: τ of every term (0.1).
        flow_weight: weight of the two cross-modal terms (1.0).
        flow_flow: add the flow-flow term ``mm`` (off in the release).
        cross_positive: ``"same"`` (a cross-modal positive is the same clip's key) or
            ``"other"`` (the other view's key).
        gather_distributed: in-batch negatives from every DDP rank.

    Returns:
        ``{"loss": scalar, "vv", "vm", "mv"[, "mm"]}`` (terms unweighted, for logging).
    """
    if not q_v.shape == k_v.shape == q_m.shape == k_m.shape:
        shapes = [tuple(t.shape) for t in (q_v, k_v, q_m, k_m)]
        raise ValueError(f"q_v, k_v, q_m, k_m must all be (N, D); got {shapes}")

    half = q_v.shape[0] // 2
    if 2 * half != q_v.shape[0]:
        raise ValueError(f"queries must be both views of B videos (2B rows), got {q_v.shape[0]}")
    if cross_positive not in CROSS_POSITIVES:
        raise ValueError(f"cross_positive must be one of {CROSS_POSITIVES}, got {cross_positive!r}")
    k_v_other, k_m_other = other_view(k_v), other_view(k_m)
    k_v_cross, k_m_cross = (k_v, k_m) if cross_positive == "same" else (k_v_other, k_m_other)

    def ell(q: Tensor, k: Tensor, queue: Tensor | None) -> Tensor:
        """Mean over the two views; each view's queries against the keys of one half."""
        one, two = slice(0, half), slice(half, None)
        return 0.5 * (nce(q[one], k[one], queue) + nce(q[two], k[two], queue))

    def nce(q: Tensor, k: Tensor, queue: Tensor | None) -> Tensor:
        return info_nce(q, k, queue, temperature=temperature, gather_distributed=gather_distributed)

    terms = {
        "vv": ell(q_v, k_v_other, queue_v),
        "vm": ell(q_v, k_m_cross, queue_m),
        "mv": ell(q_m, k_v_cross, queue_v),
    }
    loss = terms["vv"] + flow_weight * (terms["vm"] + terms["mv"])
    if flow_flow:
        terms["mm"] = ell(q_m, k_m_other, queue_m)
        loss = loss + terms["mm"]
    return {"loss": loss, **terms}
