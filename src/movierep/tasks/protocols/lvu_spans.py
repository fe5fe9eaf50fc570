r"""LVU's 60-second spans as token batches: the input side of the Object Transformer.

Inputs are two optional tables keyed by LVU video id (``movie_id``):

- **instances** (:mod:`movierep.features.instances`): one row per box per second with
  ``second, x1, y1, x2, y2, shot, link, feature`` — the top pathway of Fig. 3;
- **scene**: an event-features table (``start_time, end_time`` and ``context_feature``
  from TxE, or ``feature`` for pooled backbone features, the paper's 'Sup') — the bottom
  pathway.

:class:`TokenTables` indexes them by video, :class:`VideoTokens` holds one video's tokens
and enumerates its evaluated spans, :func:`collate_spans` pads spans into a
:class:`~movierep.models.object_transformer.SpanBatch`, and :func:`span_batches` draws the
training minibatches (random spans of random videos) that the OT protocol
(:mod:`movierep.tasks.protocols.lvu_ot`) trains on, both its fine-tuning and its
masked-instance pretraining. The enumeration follows LVU's ``run.py``
(../shared/benchmarks/lvu_movienet.md §A.4): one token-second, a span's last second runs
from ``first + 59`` to ``last``; a video shorter than 60 s is one span over all its seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from movierep.errors import UserError
from movierep.models.object_transformer import SpanBatch
from movierep.tables import read_table, require_columns, row_groups, to_numpy_embeddings

SPAN_SECONDS = 60
INSTANCE_COLUMNS = ["movie_id", "second", "x1", "y1", "x2", "y2", "shot", "link", "feature"]


@dataclass
class VideoTokens:
    """One video's tokens: instances (``second, box, shot, link, feature``) and events."""

    inst_second: np.ndarray  # (N,) int
    inst_box: np.ndarray  # (N, 4) float32
    inst_shot: np.ndarray  # (N,) int
    inst_link: np.ndarray  # (N,) int
    inst_feat: np.ndarray  # (N, D_inst) float32
    scene_second: np.ndarray  # (M,) int, the event's middle second
    scene_feat: np.ndarray  # (M, D_scene) float32

    def seconds(self) -> tuple[int, int]:
        """First and last second with a token."""
        both = np.concatenate([self.inst_second, self.scene_second])
        return int(both.min()), int(both.max())

    def spans(self, stride: int) -> list[tuple[int, int]]:
        """Every evaluated span ``[start, end]`` (inclusive seconds), LVU's enumeration."""
        first, last = self.seconds()
        ends = list(range(first + SPAN_SECONDS - 1, last + 1, stride)) or [last]
        out = [(max(first, end - SPAN_SECONDS + 1), end) for end in ends]
        return [s for s in out if self._has_tokens(*s)] or [(first, last)]

    def _has_tokens(self, start: int, end: int) -> bool:
        inside = ((self.inst_second >= start) & (self.inst_second <= end)).any()
        return bool(inside or ((self.scene_second >= start) & (self.scene_second <= end)).any())


class TokenTables:
    """The instance and scene tables of a comparison row, indexed by video id.

    Args:
        instances: instance-features table (path or Arrow), or None.
        scene: event-features table (path or Arrow), or None.
        scene_column: ``context_feature`` or ``feature``; default the first present.
        standardize: z-score each feature dimension over the table's rows (label-free, as
            the MLP heads standardise their inputs); raw Slow-D features are non-negative
            with a common offset larger than their spread, which a few hundred steps of
            training from scratch do not get past.
    """

    def __init__(
        self,
        instances: str | Path | pa.Table | None,
        scene: str | Path | pa.Table | None,
        scene_column: str | None = None,
        standardize: bool = True,
    ) -> None:
        if instances is None and scene is None:
            raise UserError("an Object Transformer needs instance or scene features (or both)")
        self.inst_source = _name(instances)
        self.scene_source = _name(scene)
        self.inst = _load(instances)
        self.scene = _load(scene)
        self.inst_rows: dict[str, np.ndarray] = {}
        self.scene_rows: dict[str, np.ndarray] = {}
        self.inst_dim = self.scene_dim = 0
        if self.inst is not None:
            require_columns(self.inst, INSTANCE_COLUMNS, self.inst_source)
            self.inst_rows = row_groups(self.inst)
            self.inst_x = _standardized(
                to_numpy_embeddings(self.inst.column("feature")), standardize
            )
            self.inst_dim = self.inst_x.shape[1]
            self._inst_cols = {c: self.inst.column(c).to_numpy() for c in INSTANCE_COLUMNS[1:-1]}
        if self.scene is not None:
            names = self.scene.column_names
            self.scene_column = scene_column or (
                "context_feature" if "context_feature" in names else "feature"
            )
            require_columns(
                self.scene,
                ["movie_id", "start_time", "end_time", self.scene_column],
                self.scene_source,
            )
            self.scene_rows = row_groups(self.scene)
            self.scene_x = _standardized(
                to_numpy_embeddings(self.scene.column(self.scene_column)), standardize
            )
            self.scene_dim = self.scene_x.shape[1]
            mid = (
                self.scene.column("start_time").to_numpy()
                + self.scene.column("end_time").to_numpy()
            ) / 2
            self._scene_second = np.floor(mid).astype(np.int64)

    def video(self, vid: str) -> VideoTokens:
        """The tokens of one video (a UserError naming the table when it has none)."""
        d_i, d_s = max(self.inst_dim, 1), max(self.scene_dim, 1)
        inst = self.inst_rows.get(vid, np.zeros(0, np.int64))
        scene = self.scene_rows.get(vid, np.zeros(0, np.int64))
        if self.inst is not None and vid not in self.inst_rows:
            raise UserError(f"{self.inst_source}: no instance row for LVU video {vid!r}")
        if self.scene is not None and vid not in self.scene_rows:
            raise UserError(f"{self.scene_source}: no feature row for LVU video {vid!r}")
        c = getattr(self, "_inst_cols", {})
        return VideoTokens(
            inst_second=c["second"][inst].astype(np.int64) if inst.size else np.zeros(0, np.int64),
            inst_box=np.stack([c[k][inst] for k in ("x1", "y1", "x2", "y2")], 1).astype(np.float32)
            if inst.size
            else np.zeros((0, 4), np.float32),
            inst_shot=c["shot"][inst].astype(np.int64) if inst.size else np.zeros(0, np.int64),
            inst_link=c["link"][inst].astype(np.int64) if inst.size else np.zeros(0, np.int64),
            inst_feat=self.inst_x[inst] if inst.size else np.zeros((0, d_i), np.float32),
            scene_second=self._scene_second[scene] if scene.size else np.zeros(0, np.int64),
            scene_feat=self.scene_x[scene] if scene.size else np.zeros((0, d_s), np.float32),
        )


def _standardized(x: np.ndarray, on: bool) -> np.ndarray:
    """(R, D) rows z-scored per dimension (``on``), else unchanged."""
    if not on or len(x) == 0:
        return x
    out: np.ndarray = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    return out


def _name(x: str | Path | pa.Table | None) -> str:
    return "feature table" if isinstance(x, pa.Table) or x is None else str(x)


def _load(x: str | Path | pa.Table | None) -> pa.Table | None:
    if x is None or isinstance(x, pa.Table):
        return x
    path = Path(x)
    if not path.is_file():
        raise UserError(f"{path}: no such feature table")
    return read_table(path)


def collate_spans(
    videos: Sequence[VideoTokens],
    spans: Sequence[tuple[int, int]],
    max_instances: int,
    generator: torch.Generator | None = None,
) -> SpanBatch:
    """Pad spans into a :class:`SpanBatch`.

    Link ids are renumbered per span (permuted when ``generator`` is given, as LVU does in
    training), shots counted from the span's first shot, seconds from its start.
    """
    b = len(spans)
    parts = []
    for v, (start, end) in zip(videos, spans, strict=True):
        keep = np.flatnonzero((v.inst_second >= start) & (v.inst_second <= end))[:max_instances]
        sc = np.flatnonzero((v.scene_second >= start) & (v.scene_second <= end))
        links, link_idx = np.unique(v.inst_link[keep], return_inverse=True)
        if generator is not None and links.size:
            perm = torch.randperm(links.size, generator=generator).numpy()
            link_idx = perm[link_idx]
        shots = v.inst_shot[keep]
        first_shot = int(shots.min()) if shots.size else 0
        parts.append((v, keep, sc, link_idx, shots - first_shot, start, end))
    n = max([len(p[1]) for p in parts] + [1])
    m = max([len(p[2]) for p in parts] + [1])
    d_i, d_s = videos[0].inst_feat.shape[1], videos[0].scene_feat.shape[1]
    out = SpanBatch(
        inst_feat=torch.zeros(b, n, d_i),
        inst_box=torch.zeros(b, n, 4),
        inst_second=torch.zeros(b, n, dtype=torch.long),
        inst_shot=torch.zeros(b, n, dtype=torch.long),
        inst_link=torch.zeros(b, n, dtype=torch.long),
        inst_valid=torch.zeros(b, n, dtype=torch.bool),
        scene_feat=torch.zeros(b, m, d_s),
        scene_second=torch.zeros(b, m, dtype=torch.long),
        scene_valid=torch.zeros(b, m, dtype=torch.bool),
        span_seconds=torch.zeros(b, dtype=torch.long),
        span_shots=torch.ones(b, dtype=torch.long),
    )
    for i, (v, keep, sc, link_idx, shot_idx, start, end) in enumerate(parts):
        k, j = len(keep), len(sc)
        out.inst_feat[i, :k] = torch.from_numpy(v.inst_feat[keep])
        out.inst_box[i, :k] = torch.from_numpy(v.inst_box[keep])
        out.inst_second[i, :k] = torch.from_numpy(v.inst_second[keep] - start)
        out.inst_shot[i, :k] = torch.from_numpy(shot_idx)
        out.inst_link[i, :k] = torch.from_numpy(np.asarray(link_idx, dtype=np.int64))
        out.inst_valid[i, :k] = True
        out.scene_feat[i, :j] = torch.from_numpy(v.scene_feat[sc])
        out.scene_second[i, :j] = torch.from_numpy(v.scene_second[sc] - start)
        out.scene_valid[i, :j] = True
        out.span_seconds[i] = end - start + 1
        out.span_shots[i] = int(shot_idx.max()) + 1 if k else 1
    return out


def random_span(v: VideoTokens, rng: np.random.Generator) -> tuple[int, int]:
    """A training span: a random 60 s window with tokens (the whole video when shorter)."""
    first, last = v.seconds()
    if last - first + 1 <= SPAN_SECONDS:
        return first, last
    for _ in range(10):
        start = int(rng.integers(first, last - SPAN_SECONDS + 2))
        if v._has_tokens(start, start + SPAN_SECONDS - 1):
            return start, start + SPAN_SECONDS - 1
    return first, first + SPAN_SECONDS - 1


def span_batches(
    videos: Sequence[VideoTokens],
    batch_size: int,
    max_instances: int,
    rng: np.random.Generator,
    generator: torch.Generator,
) -> Iterator[tuple[np.ndarray, SpanBatch]]:
    """Training minibatches, endlessly: ``(picked video indices (B,), their spans' batch)``.

    Each draws ``batch_size`` videos with replacement and a :func:`random_span` of each from
    ``rng``, and permutes the spans' link ids with ``generator`` (:func:`collate_spans`);
    a run that owns both streams gets the same batches however it consumes them.
    """
    while True:
        pick = rng.integers(len(videos), size=batch_size)
        chosen = [videos[i] for i in pick]
        spans = [random_span(v, rng) for v in chosen]
        yield pick, collate_spans(chosen, spans, max_instances, generator)


def stack_spans(batches: Sequence[SpanBatch]) -> dict[str, torch.Tensor]:
    """R batches of B spans -> their fields stacked (R, B, ...), tokens padded to the longest.

    Padded tokens are invalid (``inst_valid``/``scene_valid`` False), as in
    :func:`collate_spans`.
    """
    n = max(b.inst_valid.shape[1] for b in batches)
    m = max(b.scene_valid.shape[1] for b in batches)
    out = {}
    for name in vars(batches[0]):
        parts = [getattr(b, name) for b in batches]
        width = n if name.startswith("inst_") else m if name.startswith("scene_") else None
        if width is not None:
            padded = []
            for t in parts:
                full = t.new_zeros((t.shape[0], width, *t.shape[2:]))
                full[:, : t.shape[1]] = t
                padded.append(full)
            parts = padded
        out[name] = torch.stack(parts)
    return out
