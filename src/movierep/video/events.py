"""Events: consecutive 2 s windows of a video, each read as a clip of T frames for the backbone.

The hierarchical SSL paper splits a video into consecutive 2 s events, one backbone feature
``v_t`` per event, and ablates the token stride (1 s, 2 s, 3 s; 2 s is best). A clip is T
frames ``frame_stride`` apart at the native rate from the event's start (paper profile 16×4:
16 frames covering 64 source frames ≈ 2 s at 30 fps).

Two readers: :class:`EventClips` (a map-style dataset, one seek per event, for training and
shuffled access) and :func:`iter_event_clips` (one sequential decode of the whole video for
extraction, with the same frames).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import Dataset

from movierep.tables import EVENTS
from movierep.video.decode import VideoReader, open_video
from movierep.video.frame_cache import FrameCache

_TOL = 1e-6


def event_windows(
    duration: float, length: float = 2.0, stride: float = 2.0
) -> list[tuple[float, float]]:
    """Consecutive windows ``[k·stride, k·stride + length)`` that fit in the video.

    A video shorter than one window still gets one window ``[0, length)`` (its clip repeats
    the last frame).

    Args:
        duration: Video length in seconds.
        length: Event length (2 s in the paper).
        stride: Start-to-start distance (1, 2 or 3 s in the paper's ablation).

    Returns:
        ``[(start, end), ...]`` in seconds.
    """
    if stride <= 0 or length <= 0:
        raise ValueError("event length and stride must be positive")
    if duration <= 0:
        return []
    count = max(1, math.floor((duration - length) / stride + _TOL) + 1)
    return [(float(k * stride), float(k * stride + length)) for k in range(count)]


def events_table(
    movie_id: str,
    video_path: str | Path,
    duration: float,
    length: float = 2.0,
    stride: float = 2.0,
) -> pa.Table:
    """The events table of one video (:data:`movierep.tables.EVENTS`)."""
    windows = event_windows(duration, length, stride)
    return pa.Table.from_pydict(
        {
            "movie_id": [movie_id] * len(windows),
            "event_index": list(range(len(windows))),
            "start_time": [s for s, _ in windows],
            "end_time": [e for _, e in windows],
            "video_path": [str(video_path)] * len(windows),
        },
        schema=EVENTS,
    )


class EventClips(Dataset[dict[str, object]]):
    """Map-style dataset over an events table: item i is event i's clip.

    Each worker keeps the last video it opened, so consecutive events of one movie share a
    reader.

    Args:
        events: Events table (``movie_id``, ``event_index``, ``start_time``, ``video_path``).
        num_frames: T frames per clip (16 in the paper profile).
        frame_stride: Native frames between sampled frames (4 in the paper profile).
        size: Output ``(W, H)``; ``None`` keeps the video size.
        root: Folder that relative ``video_path`` values are relative to.

    Items are dicts: ``clip`` uint8 tensor ``(T, H, W, 3)``, ``movie_id`` str,
    ``event_index`` int, ``start_time`` float.
    """

    def __init__(
        self,
        events: pa.Table,
        num_frames: int = 16,
        frame_stride: int = 4,
        size: tuple[int, int] | None = None,
        root: str | Path | None = None,
    ) -> None:
        columns = ["movie_id", "event_index", "start_time", "video_path"]
        self.rows: list[dict[str, Any]] = events.select(columns).to_pylist()
        self.num_frames, self.frame_stride, self.size = num_frames, frame_stride, size
        self.root = Path(root) if root is not None else None
        self._reader: VideoReader | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def _open(self, video_path: str) -> VideoReader:
        path = Path(video_path)
        if self.root is not None and not path.is_absolute():
            path = self.root / path
        if self._reader is None or self._reader.path != path:
            if self._reader is not None:
                self._reader.close()
            self._reader = open_video(path, size=self.size, threads=1)
        return self._reader

    def __getitem__(self, i: int) -> dict[str, object]:
        row = self.rows[i]
        reader = self._open(str(row["video_path"]))
        clip = reader.read_clip(float(row["start_time"]), self.num_frames, self.frame_stride)
        return {
            "clip": torch.from_numpy(clip),
            "movie_id": row["movie_id"],
            "event_index": int(row["event_index"]),
            "start_time": float(row["start_time"]),
        }

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_reader"] = None  # readers do not cross process boundaries
        return state


def iter_event_clips(
    path: str | Path,
    starts: Sequence[float],
    num_frames: int = 16,
    frame_stride: int = 4,
    size: tuple[int, int] | None = None,
    threads: int = 0,
    cache: FrameCache | None = None,
) -> Iterator[np.ndarray]:
    """Yield each event's clip from one sequential decode (the extraction path).

    Gives the same frames as ``VideoReader.read_clip(start, num_frames, frame_stride)`` for
    every start, but decodes the video once; memory holds at most the frames between the
    oldest unfinished event's start and the current frame.

    Args:
        path: The video.
        starts: Event start times in seconds, increasing.
        num_frames: T.
        frame_stride: Native frames between sampled frames.
        size: Output ``(W, H)``.
        threads: Decoder threads.
        cache: read the clips from this decoded-frame cache instead (the video is decoded
            into it on first use; same frames; ``size`` must be None).

    Yields:
        Clips ``(T, H, W, 3)`` uint8, one per start, in order.
    """
    if any(b < a for a, b in itertools.pairwise(starts)):
        raise ValueError("event starts must be increasing")
    if not starts:
        return
    if cache is not None:
        if size is not None:
            raise ValueError("a cached video is read at the cache's size: pass size=None")
        video = cache.open(path)
        for start in starts:
            yield video.read_clip(start, num_frames, frame_stride)
        return
    span = (num_frames - 1) * frame_stride + 1
    buffer: deque[tuple[float, np.ndarray]] = deque()  # (time, image) from the next start on
    last: np.ndarray | None = None
    pending = 0  # next event to emit
    with open_video(path, size=size, threads=threads) as reader:
        for frame in reader.frames(start_time=starts[0]):
            last = frame.image
            buffer.append((frame.time, frame.image))
            while buffer and buffer[0][0] < starts[pending] - _TOL:
                buffer.popleft()
            while len(buffer) >= span:
                yield np.stack([buffer[j][1] for j in range(0, span, frame_stride)])
                pending += 1
                if pending == len(starts):
                    return
                while buffer and buffer[0][0] < starts[pending] - _TOL:
                    buffer.popleft()
    if last is None:
        return
    for _ in range(pending, len(starts)):  # clips running past the end of the video
        while buffer and buffer[0][0] < starts[pending] - _TOL:
            buffer.popleft()
        clip = [image for _, image in list(buffer)[::frame_stride]][:num_frames]
        clip += [last] * (num_frames - len(clip))
        yield np.stack(clip)
        pending += 1
