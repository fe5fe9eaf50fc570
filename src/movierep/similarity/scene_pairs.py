r"""Scene-pair selection: the similar scene pairs of every similar movie pair → ``P_scene``.

Movies2Scenes §3.2: "Given a similar movie-pair as defined by S, we apply
E_learnable(E_fixed(·)) to their constituent shots, followed by successive pooling
operations to find the scene adjacency matrix B, which is used to select the top 50%
similar scene-pairs." The supplement (§1.1 b) fixes how:

    "the movie is represented as a matrix of M × 512 ... the length of the movie is no
    longer restricted to 1024, so that all shots can be considered ... The feature matrix
    is then passed to E_learnable before the last fully-connected layer ... the shot
    adjacency matrix A of these two movies takes the size of M × N. We then go through
    all 9×9 windows in A with stride 1, and calculate the average value in each window to
    represent the scene-level similarity of the two movies. Finally, we pop the
    scene-pairs with top 50% highest scene-level similarity scores while keeping the
    selected scenes to be non-overlapping in each movie."

So, for one similar movie pair with M and N shots and scenes of w shots (9; the scene
encoder's ``shots_per_scene``):

1. :meth:`ShotAdjacencyNet.penultimate` of every shot of both whole movies: h₁ (M, H),
   h₂ (N, H); ``A = h₁ h₂ᵀ`` (M, N), cosine when the network was trained with cosine.
2. ``B = avgpool_{w×w, stride 1}(A)`` (M − w + 1, N − w + 1): every w-shot window of one
   movie against every w-shot window of the other (:func:`window_adjacency`).
3. The candidates are the top 50% entries of B (:func:`top_fraction`); they are popped
   best first, and a candidate is kept only if neither of its windows overlaps a window
   already kept *for this movie pair* in the same movie (:func:`greedy_non_overlapping`).
   A movie of M shots thus gives at most ⌊M / w⌋ scenes to a movie pair: the paper's
   2.5M pairs are ~28 per movie pair.

Our reading where the text is silent: "non-overlapping in each movie" holds within a
movie pair (a scene may be selected again for another similar movie), and a movie with
fewer than w shots is one scene of all its shots. Ties are broken by position, so the
selection is deterministic.

The ablation "selection" of Table 3 picks pairs in E_fixed's space instead: A is the
cosine similarity of the frozen features (``space="fixed"``), pooled and popped the same
way. ``greedy=False`` keeps the plain top ``fraction`` of B's entries (overlapping
windows allowed; at ``fraction=1`` every window pair, the baseline a selection's
place-sharing rate is compared with).

Selection streams: each movie pair becomes one Arrow record batch, written to Parquet as
it is made (:func:`select_pairs`), so ``P_scene`` never lives in Python lists. The shot
features are read per movie pair from the Parquet table
(:class:`~movierep.features.shot_store.ShotFeatureStore`), and the last
:data:`EMBEDDED_MOVIES` movies embedded on the given device (a GPU when there is one) are
kept for the next pairs, so memory is a few movies' worth at any catalog size (a pairs
table lists each movie's neighbours together, so a movie is rarely embedded twice).

``P_scene`` columns: ``movie_a, a_start, a_end, movie_b, b_start, b_end`` (shot ranges,
end exclusive), ``score`` (the entry of B), ``space``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from torch import Tensor

from movierep import files, tables
from movierep.errors import UserError
from movierep.features.shot_store import ShotFeatureStore
from movierep.models import load_pretrained
from movierep.models.shot_adjacency import ShotAdjacencyNet

Space = Literal["learned", "fixed"]

#: Shots per scene of the supplement's selection windows (and of the scene encoder).
SCENE_SHOTS = 9

#: Scene pairs per Parquet row group of a streamed ``P_scene``.
ROW_GROUP = 65_536

#: Movies whose selection-space rows :func:`iter_scene_pairs` keeps for the next pairs.
EMBEDDED_MOVIES = 8

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


def window_adjacency(a: Tensor, window: int) -> Tensor:
    """B: the mean of A over every ``window × window`` block at stride 1.

    A movie shorter than ``window`` shots is one window of all its shots.

    Args:
        a: (M, N) shot adjacency of two whole movies.
        window: w, shots per scene.

    Returns:
        (max(M − w, 0) + 1, max(N − w, 0) + 1); entry (i, j) scores shots [i, i + w) of
        the first movie against shots [j, j + w) of the second.
    """
    kernel = (min(window, a.shape[0]), min(window, a.shape[1]))
    return F.avg_pool2d(a[None, None], kernel, stride=1)[0, 0]


def greedy_non_overlapping(scores: Tensor, window: int, fraction: float = 0.5) -> Tensor:
    """The supplement's pop: best-first over the top ``fraction`` of B, no scene overlapping.

    Among the candidates (:func:`top_fraction` of ``scores``), repeatedly keep the best
    one whose row window overlaps no kept row window and whose column window overlaps no
    kept column window (windows of ``window`` shots at stride 1: rows i and i' overlap
    when |i − i'| < window). Taking the arg-max of the still-allowed candidates and then
    masking the ``2·window − 1`` rows and columns around it is the same as walking the
    sorted candidates and skipping overlaps, and needs at most ⌈rows / window⌉ steps of
    tensor work (on the scores' device).

    Args:
        scores: (rows, cols) B of one movie pair.
        window: w, the scenes' length in shots.
        fraction: share of B's entries that are candidates (0.5).

    Returns:
        (K, 2) long tensor of kept ``(row, col)``, best first.
    """
    rows, cols = scores.shape
    allowed = torch.full_like(scores, float("-inf")).flatten()
    candidates = top_fraction(scores, fraction)
    allowed[candidates] = scores.flatten()[candidates]
    allowed = allowed.view(rows, cols)
    kept: list[tuple[int, int]] = []
    while True:
        flat = int(torch.argmax(allowed))  # the first of equal maxima: ties by position
        i, j = divmod(flat, cols)
        if allowed[i, j] == float("-inf"):
            break
        kept.append((i, j))
        allowed[max(i - window + 1, 0) : i + window] = float("-inf")
        allowed[:, max(j - window + 1, 0) : j + window] = float("-inf")
    return torch.tensor(kept, dtype=torch.long).view(-1, 2)


def selection_space(net: ShotAdjacencyNet, x: Tensor, space: Space) -> Tensor:
    """The rows A is made of: E_learnable before its last FC layer, or E_fixed normalised.

    Args:
        net: the trained network (eval mode); unused in ``fixed`` space.
        x: (n, D) E_fixed features of a whole movie.
        space: ``learned`` or ``fixed``.

    Returns:
        (n, H) for ``learned``, (n, D) for ``fixed``.
    """
    if space == "learned":
        return net.penultimate(x)
    if space == "fixed":
        return F.normalize(x, dim=-1)
    raise UserError(f"unknown selection space {space!r} (learned or fixed)")


@torch.no_grad()
def scene_adjacency(
    net: ShotAdjacencyNet,
    x1: Tensor,
    x2: Tensor,
    space: Space = "learned",
    window: int = SCENE_SHOTS,
) -> Tensor:
    """B of two whole movies: every ``window``-shot scene of one against the other's.

    Args:
        net: the trained network (eval mode); unused in ``fixed`` space.
        x1: (M, D) E_fixed features of movie 1 (all its shots).
        x2: (N, D) of movie 2.
        space: ``learned`` (E_learnable before its last FC layer) or ``fixed`` (E_fixed).
        window: w, shots per scene (9).

    Returns:
        B, (max(M − w, 0) + 1, max(N − w, 0) + 1).
    """
    net = net.eval()
    h1, h2 = selection_space(net, x1, space), selection_space(net, x2, space)
    return window_adjacency(h1 @ h2.T, window)


def _batch(
    a: str, b: str, kept: Tensor, scores: Tensor, window: int, n1: int, n2: int, space: str
) -> pa.RecordBatch:
    i, j = kept[:, 0], kept[:, 1]
    columns = {
        "movie_a": pa.array([a] * len(kept), pa.string()),
        "a_start": pa.array(i.numpy(), pa.int32()),
        "a_end": pa.array((i + min(window, n1)).numpy(), pa.int32()),
        "movie_b": pa.array([b] * len(kept), pa.string()),
        "b_start": pa.array(j.numpy(), pa.int32()),
        "b_end": pa.array((j + min(window, n2)).numpy(), pa.int32()),
        "score": pa.array(scores[i, j].float().numpy(), pa.float32()),
        "space": pa.array([space] * len(kept), pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=P_SCENE)


@torch.no_grad()
def iter_scene_pairs(
    net: ShotAdjacencyNet,
    features: Mapping[str, Tensor],
    similar: Sequence[tuple[str, str]],
    *,
    window: int = SCENE_SHOTS,
    fraction: float = 0.5,
    space: Space = "learned",
    greedy: bool = True,
    device: torch.device | str | None = None,
) -> Iterator[pa.RecordBatch]:
    """``P_scene`` one movie pair at a time (a pair given in both directions counts once).

    Args:
        net: the trained shot-adjacency network.
        features: movie id → (n, D) E_fixed shot features (a dict, or a
            :class:`~movierep.features.shot_store.ShotFeatureStore` read movie by movie).
        similar: similar movie pairs.
        window: w, shots per scene (9; the scene encoder's ``shots_per_scene``).
        fraction: share of B's entries that are candidates (0.5).
        space: ``learned`` (the method) or ``fixed`` (Table 3's ablation-selection).
        greedy: the supplement's non-overlapping pop; ``False`` keeps every candidate.
        device: where movies are embedded and scored (default: the network's).

    Yields:
        One record batch of schema :data:`P_SCENE` per movie pair, best pairs first.
    """
    if window < 1:
        raise UserError(f"a scene needs at least one shot, got window={window}")
    net = net.eval()
    device = torch.device(device) if device is not None else next(net.parameters()).device
    net = net.to(device)
    embedded: OrderedDict[str, Tensor] = OrderedDict()  # the last EMBEDDED_MOVIES movies

    def embed(movie: str) -> Tensor:
        if movie in embedded:
            embedded.move_to_end(movie)
            return embedded[movie]
        h = embedded[movie] = selection_space(net, features[movie].float().to(device), space)
        if len(embedded) > EMBEDDED_MOVIES:
            embedded.popitem(last=False)
        return h

    seen: set[frozenset[str]] = set()
    for a, b in similar:
        key = frozenset((a, b))
        if a == b or key in seen or a not in features or b not in features:
            continue
        seen.add(key)
        h1, h2 = embed(a), embed(b)
        scores = window_adjacency(h1 @ h2.T, window)
        if greedy:
            kept = greedy_non_overlapping(scores, window, fraction)
        else:
            flat = top_fraction(scores, fraction)
            kept = torch.stack([flat // scores.shape[1], flat % scores.shape[1]], dim=1)
        yield _batch(a, b, kept.cpu(), scores.cpu(), window, len(h1), len(h2), space)


def select_scene_pairs(
    net: ShotAdjacencyNet,
    features: Mapping[str, Tensor],
    similar: Sequence[tuple[str, str]],
    *,
    window: int = SCENE_SHOTS,
    fraction: float = 0.5,
    space: Space = "learned",
    greedy: bool = True,
) -> pa.Table:
    """``P_scene`` as one table, for small catalogs (:func:`select_pairs` streams to a file).

    Args:
        net: the trained shot-adjacency network.
        features: movie id → (n, D) E_fixed shot features.
        similar: similar movie pairs.
        window: w, shots per scene (9).
        fraction: share of B's entries that are candidates (0.5).
        space: ``learned`` or ``fixed``.
        greedy: the supplement's non-overlapping pop (``False``: every candidate).
    """
    batches = iter_scene_pairs(
        net, features, similar, window=window, fraction=fraction, space=space, greedy=greedy
    )
    return pa.Table.from_batches(list(batches), schema=P_SCENE)


@dataclass(frozen=True)
class Selection:
    """What :func:`select_pairs` wrote: scene pairs, movie pairs, the file."""

    num_rows: int
    movie_pairs: int
    path: Path

    @property
    def per_movie_pair(self) -> float:
        """Mean scene pairs per movie pair."""
        return self.num_rows / max(self.movie_pairs, 1)


def select_pairs(
    moviesim: str | Path,
    shot_features: str | Path,
    out: str | Path,
    *,
    pairs: str | Path | None = None,
    window: int = SCENE_SHOTS,
    fraction: float = 0.5,
    space: Space = "learned",
    greedy: bool = True,
    device: torch.device | str | None = None,
) -> Selection:
    """``movierep select-pairs``: ``P_scene`` from a ``train moviesim`` run, streamed to ``out``.

    Args:
        moviesim: the run folder (or its ``last`` checkpoint).
        shot_features: the E_fixed shot features the network was trained on, read one
            movie pair at a time (:class:`~movierep.features.shot_store.ShotFeatureStore`).
        out: the ``P_scene`` Parquet file (written atomically, one row group per flush).
        pairs: similar movie pairs (default: the run's ``pairs.parquet``).
        window: w, shots per scene (9; use the scene encoder's ``shots_per_scene``).
        fraction: share of each movie pair's window pairs that are candidates (0.5).
        space: ``learned`` or ``fixed`` (ablation-selection).
        greedy: the supplement's non-overlapping pop (``False``: every candidate).
        device: where to score (default: CUDA when available).

    Returns:
        Counts of what was written.
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
    features = ShotFeatureStore(shot_features)
    if not features:
        raise UserError(f"{shot_features}: no shot features")
    expected = net.e_learnable[0].in_features
    if features.dim != expected:
        raise UserError(
            f"{shot_features}: features of size {features.dim}, the network takes {expected}"
        )
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    batches = iter_scene_pairs(
        net, features, pair_list(table), window=window, fraction=fraction, space=space,
        greedy=greedy, device=device,
    )  # fmt: skip
    rows = movie_pairs = 0
    # Buffered so a row group holds ~64k pairs, not one, as Python values: thousands of
    # small Arrow batches held between torch's per-pair temporaries (tens of MB, from
    # glibc's heap) kept the heap from being reused, and RSS grew ~5 MB per movie pair.
    pending: dict[str, list[object]] = {name: [] for name in P_SCENE.names}
    with files.atomic_path(Path(out)) as tmp, pq.ParquetWriter(tmp, P_SCENE) as writer:
        for batch in batches:
            rows, movie_pairs = rows + batch.num_rows, movie_pairs + 1
            for name, column in zip(P_SCENE.names, batch.columns, strict=True):
                pending[name].extend(column.to_pylist())
            if len(pending["score"]) >= ROW_GROUP:
                writer.write_batch(pa.RecordBatch.from_pydict(pending, schema=P_SCENE))
                pending = {name: [] for name in P_SCENE.names}
        if pending["score"] or not rows:
            writer.write_batch(pa.RecordBatch.from_pydict(pending, schema=P_SCENE))
    return Selection(rows, movie_pairs, Path(out))
