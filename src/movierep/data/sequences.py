"""Sequences of N consecutive event features of one video: the TxE's training inputs.

An event-features table (``movierep.tables.event_features_schema``) holds one row per
event: ``movie_id``, ``event_index``, ``start_time``, ``end_time``, ``feature``. A
*sequence* is N events of the same video taken at a fixed token stride; sequences never
cross videos nor gaps in ``event_index`` (e.g. an event that failed to decode).

Token stride (Xiao et al., Table 2 middle: "'2s' refers to having two neighboring tokens
as features computed from event segments that are 2s apart"): the stride is a time in
seconds between the starts of neighbouring tokens. The table's event *hop* (start-time
step between consecutive events of a video, e.g. 2 s for back-to-back 2 s events, 1 s
when events were extracted with a 1 s hop) must divide it; tokens are then every
``k = stride / hop`` events. So the 1 s / 2 s / 3 s ablation uses one table of 2 s events
extracted every 1 s, with k = 1, 2, 3. ``token_stride=None`` takes consecutive events.

With k > 1 the events of a run split into k interleaved chains (positions r, r+k, r+2k…);
windows are N consecutive chain members, either at every start (``"every_start"``, the
default) or tiling each chain without overlap (``"non_overlapping"``). A third mode,
``"one_per_video"``, makes an epoch one pass over *videos*, each giving one window drawn
at random: our reading of the paper's "100 epochs on VidSitu and 1000 epochs on LVU as
the movie clips are ~10x longer" (Sec. 4); on 10 s VidSitu clips (5 events) all three
modes give the same one window per clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import Dataset

from movierep.errors import UserError
from movierep.tables import read_table, require_columns, to_numpy_embeddings

WindowMode = Literal["every_start", "non_overlapping", "one_per_video"]
COLUMNS = ["movie_id", "event_index", "start_time", "feature"]


@dataclass(frozen=True)
class SequenceConfig:
    """How sequences are cut from event-feature tables (the paper: 2 s stride, N from TxE).

    Attributes:
        token_stride: seconds between neighbouring tokens; ``None``: consecutive events.
        windows: ``"every_start"``, ``"non_overlapping"`` or ``"one_per_video"`` (then an
            item is a random window of the i-th video, drawn with torch's RNG).
    """

    token_stride: float | None = None
    windows: WindowMode = "every_start"


@dataclass(frozen=True)
class EventRuns:
    """An event-features table sorted by (movie_id, event_index) and cut into runs.

    Attributes:
        features: (R, D) float32 event features in sorted order.
        movie_ids: (R,) movie id of every row.
        event_index: (R,) event index of every row.
        start_time: (R,) start time (s) of every row.
        runs: row-index arrays, one per maximal run of consecutive events of one video.
        order: (R,) position in the original table of each sorted row.
    """

    features: np.ndarray
    movie_ids: np.ndarray
    event_index: np.ndarray
    start_time: np.ndarray
    runs: list[np.ndarray]
    order: np.ndarray


def event_runs(table: pa.Table, source: str | Path = "event_features") -> EventRuns:
    """Sort an event-features table and split it into runs of consecutive events.

    Args:
        table: an event-features table.
        source: name of the table's file, for error messages.

    Returns:
        The sorted rows and their runs.
    """
    require_columns(table, COLUMNS, source)
    movie = np.asarray(table.column("movie_id").to_pylist(), dtype=object)
    index = table.column("event_index").to_numpy().astype(np.int64)
    order = np.lexsort((index, movie.astype(str)))
    movie, index = movie[order], index[order]
    start = table.column("start_time").to_numpy().astype(np.float64)[order]
    features = to_numpy_embeddings(table.column("feature"))[order]
    same_movie = movie[1:] == movie[:-1]
    if np.any(same_movie & (index[1:] == index[:-1])):
        dup = int(np.flatnonzero(same_movie & (index[1:] == index[:-1]))[0])
        raise UserError(f"{source}: event {index[dup]} of movie {movie[dup]!r} appears twice")
    breaks = np.flatnonzero(~(same_movie & (index[1:] == index[:-1] + 1))) + 1
    runs = [r for r in np.split(np.arange(len(movie)), breaks) if len(r)]
    return EventRuns(features, movie, index, start, runs, order)


def token_step(runs: EventRuns, token_stride: float | None, source: str | Path) -> dict[str, int]:
    """Events between neighbouring tokens, per movie: ``k = token_stride / hop``.

    The hop of a movie is the median start-time step between its consecutive events.

    Returns:
        ``{movie_id: k}`` (k = 1 for every movie when ``token_stride`` is None).
    """
    diffs: dict[str, list[np.ndarray]] = {}
    for run in runs.runs:
        diffs.setdefault(str(runs.movie_ids[run[0]]), []).append(np.diff(runs.start_time[run]))
    steps: dict[str, int] = {}
    for movie, parts in diffs.items():
        if token_stride is None:
            steps[movie] = 1
            continue
        d = np.concatenate(parts)
        if d.size == 0:
            steps[movie] = 1  # a single event: no sequence either way
            continue
        hop = float(np.median(d))
        k = round(token_stride / hop) if hop > 0 else 0
        if k < 1 or abs(k * hop - token_stride) > 0.05 * hop:
            raise UserError(
                f"{source}: token stride {token_stride}s is not a multiple of the "
                f"{hop:g}s event hop of movie {movie!r}"
            )
        steps[movie] = k
    return steps


def sequence_windows(
    runs: EventRuns,
    num_tokens: int,
    steps: dict[str, int],
    windows: WindowMode = "every_start",
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of every sequence, each N events of one run taken k apart.

    Returns:
        windows (W, N) row indices, and the video number (W,) of each window (videos
        numbered in sorted ``movie_id`` order). ``"one_per_video"`` lists the same windows
        as ``"every_start"``.
    """
    if windows not in ("every_start", "non_overlapping", "one_per_video"):
        raise ValueError(f"unknown window mode {windows!r}")
    hop = num_tokens if windows == "non_overlapping" else 1
    _, video_of_run = np.unique([str(runs.movie_ids[r[0]]) for r in runs.runs], return_inverse=True)
    out: list[np.ndarray] = []
    video: list[np.ndarray] = []
    for run, v in zip(runs.runs, video_of_run, strict=True):
        k = steps[str(runs.movie_ids[run[0]])]
        for r in range(k):
            chain = run[r::k]
            if len(chain) < num_tokens:
                continue
            starts = np.arange(0, len(chain) - num_tokens + 1, hop)
            out.append(chain[starts[:, None] + np.arange(num_tokens)[None, :]])
            video.append(np.full(len(starts), v))
    if not out:
        return np.zeros((0, num_tokens), dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out).astype(np.int64), np.concatenate(video).astype(np.int64)


class EventSequenceDataset(Dataset[dict[str, torch.Tensor]]):
    """Sequences of N event features of one video, for mask-prediction pretraining.

    Args:
        table: an event-features table (any source: VidSitu clips, LVU clips, movies).
        num_tokens: N, events per sequence (TxE's ``num_tokens``; paper: 5).
        cfg: the token stride and the windows (:class:`SequenceConfig`).
        source: the table's file name, for error messages.

    Items are ``{"features": (N, D) float32}``; ``windows`` holds the (W, N) row indices
    into ``runs.features`` of every sequence.
    """

    def __init__(
        self,
        table: pa.Table,
        num_tokens: int,
        cfg: SequenceConfig = SequenceConfig(),
        *,
        source: str | Path = "event_features",
    ) -> None:
        windows = cfg.windows
        self.source = str(source)
        self.runs = event_runs(table, source)
        self.steps = token_step(self.runs, cfg.token_stride, source)
        self.windows, video = sequence_windows(self.runs, num_tokens, self.steps, windows)
        self.num_tokens = num_tokens
        self.per_video: list[np.ndarray] | None = None
        if windows == "one_per_video":
            bounds = np.flatnonzero(np.diff(video)) + 1  # windows are grouped by video
            self.per_video = np.split(np.arange(len(video)), bounds) if len(video) else []

    @classmethod
    def from_parquet(
        cls,
        path: str | Path,
        num_tokens: int,
        cfg: SequenceConfig = SequenceConfig(),
    ) -> EventSequenceDataset:
        """Read an event-features Parquet file and cut it into sequences."""
        return cls(read_table(path, COLUMNS), num_tokens, cfg, source=path)

    @property
    def feature_dim(self) -> int:
        """D, the size of the event features."""
        return int(self.runs.features.shape[1])

    def __len__(self) -> int:
        if self.per_video is not None:
            return len(self.per_video)
        return int(self.windows.shape[0])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if self.per_video is not None:
            choices = self.per_video[i]
            i = int(choices[int(torch.randint(len(choices), ()))])
        return {"features": torch.from_numpy(self.runs.features[self.windows[i]])}


def vidsitu_clips(
    table: pa.Table, events_per_clip: int = 5, source: str | Path = "event_features"
) -> tuple[list[str], np.ndarray]:
    """Group a VidSitu-format table (one ``movie_id`` per 10 s clip) into its 5-event clips.

    Args:
        table: event features whose ``movie_id`` is the clip id (``vid_seg_int``).
        events_per_clip: events per clip (VidSitu: 5 events of 2 s).
        source: the table's file name, for error messages.

    Returns:
        Sorted clip ids and their features, shape (C, events_per_clip, D).
    """
    runs = event_runs(table, source)
    ids: list[str] = []
    clips: list[np.ndarray] = []
    for run in runs.runs:
        clip = str(runs.movie_ids[run[0]])
        if len(run) != events_per_clip or (ids and ids[-1] == clip):
            raise UserError(
                f"{source}: clip {clip!r} does not have {events_per_clip} consecutive events"
            )
        ids.append(clip)
        clips.append(runs.features[run])
    dim = runs.features.shape[1]
    features = np.stack(clips) if clips else np.zeros((0, events_per_clip, dim), np.float32)
    return ids, features
