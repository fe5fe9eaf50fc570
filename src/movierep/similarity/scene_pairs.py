"""Scene-pair selection: the top 50% scene pairs of every similar movie pair → ``P_scene``.

Movies2Scenes §3.2: "Given a similar movie-pair as defined by S, we apply
E_learnable(E_fixed(·)) to their constituent shots, followed by successive pooling
operations to find the scene adjacency matrix B, which is used to select the top 50%
similar scene-pairs. We apply this selection process to all pairs of similar movies to get
a collection of paired scenes P_scene." §4.2: "we select the top 50% of most-similar
scene-pairs from each movie-pair".

A scene is a window of k_a contiguous shots at stride s_a (a row or column of B). Only
windows on real shots compete (:meth:`ShotAdjacencyNet.scene_windows`): the zero padding
that makes every movie 1,024 shots long is not a scene. Of the n₁·n₂ real entries of B,
the ``⌊fraction · n₁n₂⌋`` largest are kept (at least one; ties broken by position).

The ablation "selection" of Table 3 picks pairs in E_fixed's space instead: A is the
cosine similarity of the frozen features (``space="fixed"``), pooled the same way.

``P_scene`` columns: ``movie_a, a_start, a_end, movie_b, b_start, b_end`` (shot ranges,
end exclusive), ``score`` (the entry of B), ``space``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import pyarrow as pa
import torch
import torch.nn.functional as F
from torch import Tensor

from movierep import tables
from movierep.data.movie_pair_data import pad_shots
from movierep.errors import UserError
from movierep.features.scenes import movie_features
from movierep.models import load_pretrained
from movierep.models.shot_adjacency import ShotAdjacencyNet

Space = Literal["learned", "fixed"]

P_SCENE = pa.schema(
    [
        ("movie_a", pa.string()),
        ("a_start", pa.int32()),
        ("a_end", pa.int32()),
        ("movie_b", pa.string()),
        ("b_start", pa.int32()),
        ("b_end", pa.int32()),
        ("score", pa.float32()),
        ("space", pa.string()),
    ]
)


def pair_list(pairs: pa.Table) -> list[tuple[str, str]]:
    """The ``(movie_a, movie_b)`` rows of a similar-movie pairs table."""
    a, b = pairs.column("movie_a").to_pylist(), pairs.column("movie_b").to_pylist()
    return list(zip(a, b, strict=True))


def top_fraction(scores: Tensor, fraction: float) -> Tensor:
    """Flat indices of the ``max(1, ⌊fraction · numel⌋)`` largest entries, best first.

    Ties are broken by the lower flat index (a stable sort), so the choice is deterministic.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    flat = scores.flatten()
    keep = max(1, int(fraction * flat.numel()))
    order = torch.sort(flat, descending=True, stable=True).indices
    return order[:keep]


@torch.no_grad()
def scene_adjacency(
    net: ShotAdjacencyNet, x1: Tensor, x2: Tensor, space: Space = "learned"
) -> Tensor:
    """B of two movies restricted to their real scenes: (n₁ scenes, n₂ scenes).

    Args:
        net: the trained network (eval mode); in ``fixed`` space only its sizes are used.
        x1: (shots₁, D) E_fixed features of movie 1.
        x2: (shots₂, D) of movie 2.
        space: ``learned`` (Eq. 1 through E_learnable) or ``fixed`` (cosine of E_fixed).
    """
    S = net.num_shots
    p1, n1 = pad_shots(x1, S)
    p2, n2 = pad_shots(x2, S)
    lengths = (torch.tensor([n1]), torch.tensor([n2]))
    if space == "learned":
        a = net.shot_adjacency(p1[None], p2[None], *lengths)
    elif space == "fixed":
        a = torch.einsum("id,jd->ij", F.normalize(p1, dim=-1), F.normalize(p2, dim=-1))[None]
    else:
        raise UserError(f"unknown selection space {space!r} (learned or fixed)")
    b = net.scene_adjacency(a)[0]
    return b[: net.scene_windows(n1), : net.scene_windows(n2)]


def select_scene_pairs(
    net: ShotAdjacencyNet,
    features: Mapping[str, Tensor],
    similar: Sequence[tuple[str, str]],
    *,
    fraction: float = 0.5,
    space: Space = "learned",
) -> pa.Table:
    """``P_scene``: the top ``fraction`` scene pairs of every similar movie pair.

    Args:
        net: the trained shot-adjacency network.
        features: movie id → (n, D) E_fixed shot features.
        similar: similar movie pairs (a pair given in both directions is selected once).
        fraction: share of each movie pair's scene pairs kept (0.5).
        space: ``learned`` (the method) or ``fixed`` (Table 3's ablation-selection).

    Returns:
        The ``P_scene`` table, movie pairs in order, best scene pairs first.
    """
    net = net.eval()
    rows: dict[str, list[object]] = {name: [] for name in P_SCENE.names}
    seen: set[frozenset[str]] = set()
    for a, b in similar:
        key = frozenset((a, b))
        if a == b or key in seen or a not in features or b not in features:
            continue
        seen.add(key)
        x1, x2 = features[a], features[b]
        scores = scene_adjacency(net, x1.float(), x2.float(), space)
        cols = scores.shape[1]
        for flat in top_fraction(scores, fraction).tolist():
            i, j = divmod(flat, cols)
            a_start, a_end = net.scene_range(i, min(len(x1), net.num_shots))
            b_start, b_end = net.scene_range(j, min(len(x2), net.num_shots))
            for name, value in zip(
                P_SCENE.names,
                (a, a_start, a_end, b, b_start, b_end, float(scores[i, j]), space),
                strict=True,
            ):
                rows[name].append(value)
    return pa.Table.from_pydict(rows, schema=P_SCENE)


def select_pairs(
    moviesim: str | Path,
    shot_features: str | Path,
    out: str | Path,
    *,
    pairs: str | Path | None = None,
    fraction: float = 0.5,
    space: Space = "learned",
) -> pa.Table:
    """``movierep select-pairs``: ``P_scene`` from a ``train moviesim`` run, written to ``out``.

    Args:
        moviesim: the run folder (or its ``last`` checkpoint).
        shot_features: the E_fixed shot features the network was trained on.
        out: the ``P_scene`` Parquet file.
        pairs: similar movie pairs (default: the run's ``pairs.parquet``).
        fraction: share of each movie pair's scene pairs kept (0.5).
        space: ``learned`` or ``fixed`` (ablation-selection).

    Returns:
        The table written.
    """
    moviesim = Path(moviesim)
    ckpt = moviesim / "last" if (moviesim / "last").is_dir() else moviesim
    net = load_pretrained(ckpt)
    if not isinstance(net, ShotAdjacencyNet):
        raise UserError(f"{ckpt}: not a shot-adjacency network ({type(net).__name__})")
    pairs_path = Path(pairs) if pairs is not None else ckpt.parent / "pairs.parquet"
    if not pairs_path.is_file():
        raise UserError(f"{pairs_path}: no similar-movie pairs table")
    table = tables.read_table(pairs_path)
    tables.require_columns(table, ["movie_a", "movie_b"], pairs_path)
    similar = pair_list(table)
    features = movie_features(tables.read_table(shot_features))
    dims = {int(f.shape[1]) for f in features.values()}
    expected = net.e_learnable[0].in_features
    if dims != {expected}:
        raise UserError(f"{shot_features}: features of size {dims}, the network takes {expected}")
    selected = select_scene_pairs(net, features, similar, fraction=fraction, space=space)
    tables.write_table(out, selected)
    return selected
