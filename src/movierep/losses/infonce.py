r"""InfoNCE, the contrastive loss shared by CVRL, MoDist, mask prediction and scene MoCo.

For a query :math:`q`, its positive key :math:`k^+` and negatives :math:`k^-_j`, all
L2-normalised,

.. math::

    \mathcal{L} = -\log \frac{\exp(q \cdot k^+ / \tau)}
                          {\exp(q \cdot k^+ / \tau) + \sum_j \exp(q \cdot k^-_j / \tau)}

(van den Oord et al. 2018; He et al. 2020 "MoCo" Eq. 1). :func:`nt_xent` is the symmetric
batch form used by SimCLR and CVRL (Qian et al. 2021, Eq. 1): each of the 2B clips is a
query whose positive is the other view of its video and whose negatives are the 2(B-1)
views of the other videos in the (global, across DDP ranks) batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from movierep import dist


def info_nce(
    q: torch.Tensor,
    k: torch.Tensor,
    negatives: torch.Tensor | None = None,
    *,
    temperature: float = 0.1,
    in_batch: bool = True,
    gather_distributed: bool = False,
) -> torch.Tensor:
    """InfoNCE of queries against their positive keys, with batch and/or queue negatives.

    Args:
        q: queries (B, D).
        k: positive keys (B, D); ``k[i]`` is the positive of ``q[i]``.
        negatives: extra negatives (K, D), e.g. a :class:`~movierep.losses.queue.FeatureQueue`.
        temperature: τ.
        in_batch: use the other keys of the batch as negatives too.
        gather_distributed: gather keys from every DDP rank (with gradient) first.

    Returns:
        The mean loss over the B queries (scalar).
    """
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    if in_batch:
        keys = dist.all_gather_with_grad(k) if gather_distributed else k
        offset = dist.rank() * q.shape[0] if gather_distributed else 0
        logits = torch.einsum("bd,cd->bc", q, keys)  # (B, B_global)
        labels = torch.arange(q.shape[0], device=q.device) + offset
    else:
        logits = torch.einsum("bd,bd->b", q, k).unsqueeze(1)  # (B, 1)
        labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    if negatives is not None and negatives.shape[0] > 0:
        neg = F.normalize(negatives.to(q.dtype), dim=-1)
        logits = torch.cat([logits, torch.einsum("bd,kd->bk", q, neg)], dim=1)  # (B, .+K)
    return F.cross_entropy(logits / temperature, labels)


def nt_xent(
    z1: torch.Tensor,
    z2: torch.Tensor,
    *,
    temperature: float = 0.1,
    gather_distributed: bool = False,
) -> torch.Tensor:
    """Symmetric SimCLR/CVRL InfoNCE over two views of a batch.

    Args:
        z1: embeddings of the first views (B, D).
        z2: embeddings of the second views (B, D); ``(z1[i], z2[i])`` is a positive pair.
        temperature: τ (CVRL uses 0.1).
        gather_distributed: use the global batch of all DDP ranks as negatives.

    Returns:
        The mean loss over the 2B queries (scalar); with B_g clips in the global batch each
        query has one positive and 2(B_g - 1) negatives.
    """
    B = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=-1)  # (2B, D) local queries
    if gather_distributed:
        g1 = dist.all_gather_with_grad(F.normalize(z1, dim=-1))
        g2 = dist.all_gather_with_grad(F.normalize(z2, dim=-1))
        offset = dist.rank() * B
    else:
        g1, g2 = z[:B], z[B:]
        offset = 0
    keys = torch.cat([g1, g2])  # (2B_g, D)
    Bg = g1.shape[0]
    logits = torch.einsum("bd,cd->bc", z, keys) / temperature  # (2B, 2B_g)
    local = torch.arange(B, device=z.device) + offset
    self_index = torch.cat([local, local + Bg])
    logits[torch.arange(2 * B, device=z.device), self_index] = float("-inf")
    labels = torch.cat([local + Bg, local])
    return F.cross_entropy(logits, labels)
