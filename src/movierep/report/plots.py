"""The report's figures, each rendered to PNG bytes with matplotlib's Agg canvas.

Every function builds its own :class:`matplotlib.figure.Figure` (no pyplot state, no
global backend switch), so it is safe in threads and in tests, and returns the same bytes
for the same input (the PNG carries no software or date metadata). Empty input raises
:class:`ValueError`.

- :func:`loss_curves`: one small panel per training stage, loss against step.
- :func:`embedding_map`: a 2-D t-SNE (or PCA) map of embeddings, one panel per label kind.
- :func:`keyframe_grid`: rows of images (a query, then its neighbours) with captions.
- :func:`timeline`: tracks of labelled time segments (shots, scenes, predictions).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure as MplFigure
from PIL import Image

from movierep.errors import UserError

DPI = 100
#: Colour of the query image's frame in :func:`keyframe_grid`.
QUERY_COLOR = "#d62728"
#: The two colours alternating along a :func:`timeline` track whose labels do not repeat.
ALTERNATING = ("#5b6b7f", "#aab5c3")
_OTHER = "#bbbbbb"
#: Up to this many points :func:`embedding_map` runs exact t-SNE: plain NumPy, which stays
#: fast on a busy machine, where Barnes-Hut's OpenMP threads can spin for many seconds.
EXACT_TSNE_MAX = 250
_THUMB = 256  # longest side of the images drawn by keyframe_grid, in pixels


def _png(fig: MplFigure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


#: tab20's entries in drawing order: its nine strong colours, then their light pairs; its
#: two greys (14, 15) are left out so no category looks like "other" or a grey bar.
_TAB20_ORDER = (0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19)
#: Distinct category colours; further categories reuse them (embedding_map groups them).
N_COLORS = len(_TAB20_ORDER)


def _tab20(i: int) -> tuple[float, float, float]:
    """The i-th category colour (cycling after :data:`N_COLORS`)."""
    from matplotlib import colormaps

    rgba = colormaps["tab20"](_TAB20_ORDER[i % N_COLORS])
    return (float(rgba[0]), float(rgba[1]), float(rgba[2]))


def _natural(text: str) -> list[tuple[int, int | str]]:
    """Sort key putting "g2" before "g10"."""
    parts = re.split(r"(\d+)", text)
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts if p]


# --------------------------------------------------------------------------------------
# loss curves


def loss_curves(
    curves: dict[str, Sequence[tuple[int, float]]], title: str = "", ylabel: str = "loss"
) -> bytes:
    """Training losses, one small panel per curve (at most 3 panels a row).

    Args:
        curves: Curve name (a training stage, e.g. ``"CVRL"``, ``"TxE mask prediction"``)
            -> its points as (step, loss); points are sorted by step, NaN losses leave gaps.
        title: Title over all panels.
        ylabel: The y axis' label.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: ``curves`` is empty.
    """
    if not curves:
        raise ValueError("loss_curves: no curves")
    n = len(curves)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = MplFigure(figsize=(3.7 * ncols, 2.5 * nrows + (0.4 if title else 0.0)), dpi=DPI)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, (name, points) in enumerate(curves.items()):
        ax = axes[i // ncols][i % ncols]
        pts = sorted((int(s), float(v)) for s, v in points)
        if pts:
            steps = [s for s, _ in pts]
            losses = [v for _, v in pts]
            ax.plot(steps, losses, color="#1f77b4", linewidth=1.3)
            finite = [v for v in losses if math.isfinite(v)]
            last = f"final {finite[-1]:.3g}" if finite else "no finite value"
            ax.set_title(f"{name}\n{last}", fontsize=9)
        else:
            ax.text(0.5, 0.5, "no points", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, linewidth=0.4, alpha=0.5)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return _png(fig)


# --------------------------------------------------------------------------------------
# embedding map


def _pca(X: np.ndarray, k: int) -> np.ndarray:
    """(N, D) -> (N, k) principal component scores, signs fixed, zero-padded if rank < k."""
    centered = X - X.mean(axis=0, keepdims=True)
    U, S, _ = np.linalg.svd(centered, full_matrices=False)
    m = min(k, S.shape[0])
    scores = U[:, :m] * S[:m]
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(m)])
    scores = scores * np.where(signs == 0, 1.0, signs)
    if m < k:
        scores = np.hstack([scores, np.zeros((X.shape[0], k - m))])
    return np.asarray(scores)


def _project(features: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    X = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X = X / np.maximum(norms, 1e-12)
    N = X.shape[0]
    if N < 5:
        return _pca(X, 2), "PCA"
    from sklearn.manifold import TSNE

    X = _pca(X, min(50, X.shape[1], N))
    tsne = TSNE(
        n_components=2,
        perplexity=min(30.0, (N - 1) / 3),
        init="pca",
        random_state=seed,
        method="exact" if N <= EXACT_TSNE_MAX else "barnes_hut",
    )
    return np.asarray(tsne.fit_transform(X)), "t-SNE"


def embedding_map(
    features: np.ndarray, labels: dict[str, Sequence[str]], title: str = "", seed: int = 0
) -> bytes:
    """A 2-D map of embeddings, one panel per label kind, points coloured by category.

    The (N, D) features are L2-normalised, reduced by PCA to at most 50 dimensions, then
    mapped by t-SNE (perplexity ``min(30, (N - 1) / 3)``, PCA init, ``random_state=seed``;
    exact up to :data:`EXACT_TSNE_MAX` points, Barnes-Hut above); with fewer than 5 points
    the map is the first two principal components. Categories
    get tab20 colours (the 17 most frequent when there are more than 18, the rest grey as
    "other"), legend outside.

    Args:
        features: (N, D) embeddings, N >= 1, all finite.
        labels: Label kind (e.g. ``"place"``, ``"genre"``) -> N category names; empty: one
            uncoloured panel.
        title: Title over all panels.
        seed: t-SNE's random state.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: No points, features not 2-D or not finite, or a label list of the
            wrong length.
    """
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] == 0:
        raise ValueError(f"embedding_map: expected (N, D) features, got {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError("embedding_map: features hold NaN or infinity")
    N = features.shape[0]
    for name, labelled in labels.items():
        if len(labelled) != N:
            raise ValueError(f"embedding_map: {len(labelled)} {name!r} labels for {N} points")
    xy, method = _project(features, seed)
    panels: list[tuple[str, Sequence[str] | None]] = list(labels.items()) or [("", None)]
    ncols = min(2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = MplFigure(figsize=(5.6 * ncols, 4.0 * nrows + (0.4 if title else 0.0)), dpi=DPI)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, (kind, values) in enumerate(panels):
        ax = axes[i // ncols][i % ncols]
        if values is None:
            ax.scatter(xy[:, 0], xy[:, 1], s=14, color="#1f77b4", linewidths=0)
        else:
            names = [str(v) for v in values]
            counts = Counter(names)
            ranked = sorted(counts, key=lambda c: (-counts[c], c))
            shown = ranked if len(ranked) <= N_COLORS else ranked[: N_COLORS - 1]
            for j, category in enumerate(sorted(shown, key=_natural)):
                idx = [k for k, v in enumerate(names) if v == category]
                ax.scatter(
                    xy[idx, 0], xy[idx, 1], s=14, color=_tab20(j), linewidths=0, label=category
                )
            rest = [k for k, v in enumerate(names) if v not in set(shown)]
            if rest:
                ax.scatter(
                    xy[rest, 0],
                    xy[rest, 1],
                    s=10,
                    color=_OTHER,
                    linewidths=0,
                    label=f"other ({len(ranked) - len(shown)} kinds)",
                )
            ax.legend(
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=7,
                frameon=False,
                markerscale=1.2,
                handletextpad=0.3,
                borderaxespad=0.0,
            )
        ax.set_title(f"{kind} ({method})" if kind else f"embeddings ({method})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for j in range(len(panels), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return _png(fig)


# --------------------------------------------------------------------------------------
# keyframe grid


def _load_image(image: Path | str | np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 array from a file path or an array, shrunk to at most _THUMB px."""
    if isinstance(image, np.ndarray):
        array = image
        if array.dtype != np.uint8:
            raise ValueError(f"keyframe_grid: image arrays must be uint8, got {array.dtype}")
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4) or 0 in array.shape:
            raise ValueError(f"keyframe_grid: expected an (H, W, 3) image, got {array.shape}")
        pil = Image.fromarray(np.ascontiguousarray(array[:, :, :3]))
    else:
        try:
            with Image.open(image) as opened:
                pil = opened.convert("RGB")
        except (OSError, ValueError) as err:
            raise UserError(f"{image}: cannot read the image ({err})") from None
    if max(pil.size) > _THUMB:
        scale = _THUMB / max(pil.size)
        size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
        pil = pil.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(pil)


def _short(text: str, width: int = 24, lines: int = 2) -> str:
    return "\n".join(textwrap.wrap(text, width, max_lines=lines, placeholder="…"))


def keyframe_grid(
    rows: Sequence[tuple[str, Sequence[tuple[Path | str | np.ndarray, str]]]], title: str = ""
) -> bytes:
    """Rows of images with small captions; each row's first image (the query) is framed.

    Args:
        rows: (row label, images); each image is (a file path or an (H, W, 3) uint8 array,
            caption). Rows may differ in length; the first image of a row is the query
            (e.g. a shot) and the others its results (e.g. nearest neighbours).
        title: Title over the grid.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: No rows, a row without images, or a malformed array.
        UserError: An image file is missing or unreadable.
    """
    if not rows:
        raise ValueError("keyframe_grid: no rows")
    for label, images in rows:
        if not images:
            raise ValueError(f"keyframe_grid: row {label!r} has no image")
    ncols = max(len(images) for _, images in rows)
    nrows = len(rows)
    fig = MplFigure(figsize=(1.9 * ncols + 0.6, 1.75 * nrows + (0.4 if title else 0.0)), dpi=DPI)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(images):
                ax.set_axis_off()
                continue
            image, caption = images[c]
            ax.imshow(_load_image(image), interpolation="bilinear")
            ax.set_xlabel(_short(caption), fontsize=7)
            for spine in ax.spines.values():
                if c == 0:
                    spine.set_edgecolor(QUERY_COLOR)
                    spine.set_linewidth(3.0)
                else:
                    spine.set_visible(False)
            if c == 0:
                ax.set_ylabel(_short(label, 18, 3), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return _png(fig)


# --------------------------------------------------------------------------------------
# timeline


def _text_color(color: tuple[float, float, float]) -> str:
    r, g, b = to_rgb(color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _timeline_bars(
    tracks: Sequence[tuple[str, Sequence[tuple[float, float, str]]]], duration: float
) -> list[list[tuple[float, float, str, tuple[float, float, float]]]]:
    """Per track, its segments as (start, end, label, RGB colour), sorted and clipped."""
    uses = Counter(s[2] for _, segs in tracks for s in segs)
    by_label = [any(uses[s[2]] > 1 for s in segs) for _, segs in tracks]
    repeating = [segs for (_, segs), rep in zip(tracks, by_label, strict=True) if rep]
    shared = sorted({s[2] for segs in repeating for s in segs}, key=_natural)
    palette = {label: _tab20(i) for i, label in enumerate(shared)}
    out: list[list[tuple[float, float, str, tuple[float, float, float]]]] = []
    for (_, segments), repeat in zip(tracks, by_label, strict=True):
        bars = []
        ordered = sorted(segments, key=lambda s: (s[0], s[1]))
        for k, (start, end, label) in enumerate(ordered):
            lo, hi = max(0.0, float(start)), min(float(duration), float(end))
            if hi > lo:
                color = palette[label] if repeat else to_rgb(ALTERNATING[k % 2])
                bars.append((lo, hi, label, color))
        out.append(bars)
    return out


def timeline(
    tracks: Sequence[tuple[str, Sequence[tuple[float, float, str]]]],
    duration: float,
    title: str = "",
) -> bytes:
    """Horizontal tracks of labelled time segments, e.g. true vs. detected shots and scenes.

    A track holding a label that occurs more than once in the plot (places, scene ids) is
    coloured by label, with one colour map shared by all such tracks so the same label has
    the same colour on every track; other tracks alternate two greys so neighbouring
    segments stay distinct. A label is written inside its bar when the bar is wide enough.

    Args:
        tracks: (track name, segments), drawn top to bottom; a segment is
            (start_s, end_s, label), clipped to [0, duration].
        duration: Length of the x axis in seconds (> 0).
        title: Title over the plot.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: No tracks, a non-positive duration, or a segment ending before it starts.
    """
    if not tracks:
        raise ValueError("timeline: no tracks")
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"timeline: duration must be > 0, got {duration}")
    for name, segments in tracks:
        for start, end, _ in segments:
            if not (end >= start):
                raise ValueError(f"timeline: track {name!r}: segment ({start}, {end}) is reversed")
    n = len(tracks)
    fig = MplFigure(figsize=(11.0, 0.55 * n + 1.0 + (0.3 if title else 0.0)), dpi=DPI)
    fig.set_layout_engine("constrained")
    ax = fig.subplots()
    bars: list[tuple[float, float, int, str, tuple[float, float, float]]] = []
    for i, track in enumerate(_timeline_bars(tracks, duration)):
        y = n - 1 - i
        for lo, hi, label, color in track:
            ax.barh(y, hi - lo, left=lo, height=0.7, color=color, edgecolor="white", linewidth=0.5)
            bars.append((lo, hi, y, label, color))
    ax.set_yticks(range(n), [name for name, _ in reversed(tracks)], fontsize=8)
    ax.set_xlim(0.0, float(duration))
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(True, axis="x", linewidth=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    if title:
        ax.set_title(title, fontsize=11)
    fig.draw_without_rendering()
    px_per_s = ax.get_window_extent().width / float(duration)
    for lo, hi, y, label, color in bars:
        if label and (hi - lo) * px_per_s > 5.2 * len(label) + 6:
            ax.text(
                (lo + hi) / 2,
                y,
                label,
                ha="center",
                va="center",
                fontsize=7,
                color=_text_color(color),
                clip_on=True,
            )
    return _png(fig)
