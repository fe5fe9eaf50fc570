"""Precision@k of label retrieval: Movies2Scenes Table 2 (place retrieval on LVU scenes).

"Using query scenes each with a particular place-label from the validation-set, we
retrieve 1, 5 and 10 nearest neighbors from the training-set using their L2 distances.
Precision results ..." (Chen et al. 2023, §4.3.1 a). For a query q with label y_q and its
k retrieved gallery items g_1..g_k,

    P@k(q) = |{i ≤ k : y_{g_i} = y_q}| / k,

averaged over the queries of each label (the per-place rows) and over all queries (the
"all queries" row). Each query is one independent unit: :func:`precision_per_query` keeps
every query's P@k so a caller can give the mean its standard error, ``sd / √Q``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def precision_per_query(
    query_labels: Sequence[str],
    gallery_labels: Sequence[str],
    neighbours: np.ndarray,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, dict[int, np.ndarray]]:
    """Every query's precision@k, grouped by the query's label.

    Each query is one independent unit of the evaluation: the mean of its group is the
    P@k of :func:`precision_at_k`, and ``sd / √Q`` over the group its standard error.

    Args:
        query_labels: (Q,) label of every query.
        gallery_labels: (G,) label of every gallery item.
        neighbours: (Q, K) gallery indices, nearest first, K ≥ max(ks).
        ks: retrieved-set sizes.

    Returns:
        ``{label: {k: (Q_label,) P@k of each query with that label}}`` for every query
        label (sorted), plus ``"all"``: ``{k: (Q,)}`` in query order.
    """
    neighbours = np.asarray(neighbours)
    if neighbours.shape[0] != len(query_labels) or neighbours.shape[1] < max(ks):
        raise ValueError(
            f"neighbours {neighbours.shape} for {len(query_labels)} queries, k={max(ks)}"
        )
    gallery = np.asarray(gallery_labels, dtype=object)
    queries = np.asarray(query_labels, dtype=object)
    hits = gallery[neighbours] == queries[:, None]  # (Q, K)
    per_query = {k: hits[:, :k].mean(axis=1) for k in ks}
    out = {
        str(label): {k: per_query[k][queries == label] for k in ks}
        for label in sorted(set(queries.tolist()))
    }
    out["all"] = per_query
    return out


def precision_at_k(
    query_labels: Sequence[str],
    gallery_labels: Sequence[str],
    neighbours: np.ndarray,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, dict[int, float]]:
    """Per-label and overall precision@k of ranked retrievals.

    Args:
        query_labels: (Q,) label of every query.
        gallery_labels: (G,) label of every gallery item.
        neighbours: (Q, K) gallery indices, nearest first, K ≥ max(ks).
        ks: retrieved-set sizes.

    Returns:
        ``{label: {k: P@k}}`` for every query label, plus ``"all"``, the mean over queries.
    """
    groups = precision_per_query(query_labels, gallery_labels, neighbours, ks)
    return {label: {k: float(v.mean()) for k, v in by_k.items()} for label, by_k in groups.items()}
