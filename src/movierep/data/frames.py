"""Where the frames of training clips come from: the decoded-frame cache, or the video file.

A clip dataset asks a *frame source* for the clips of one span at the starts its sampler
draws (CVRL's, MoDist's or a labelled clip's), and for their optical flow (MoDist):

- :class:`CachedFrames` (the default): the video is decoded once into
  :class:`~movierep.video.frame_cache.FrameCache` and a clip is a gather of memory-mapped
  frames; a video's flow is computed once from those frames for every clip start
  (:func:`movierep.video.flow.video_flow`). No training step decodes video.
- :class:`DecodedFrames`: every clip is decoded from the file when it is drawn (seek to
  the keyframe before it, decode forward), its flow computed from the decoded clip and
  cached per clip (:class:`movierep.video.flow.FlowCache`). Nothing is written besides
  the flow: for data too large to cache decoded.

Both give the same frames for the same starts (the cache stores exactly the frames the
reader decodes, and the same declared duration and frame rate that decide the starts), so
a recipe samples the same clips whichever it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from movierep.data.sources import VideoSpan
from movierep.video.frame_cache import FrameCache

#: ``(span duration, clip duration) -> starts`` in seconds from the span start.
StartsFn = Callable[[float, float], Sequence[float]]


@dataclass(frozen=True)
class Clip:
    """One clip of a span: where it starts, its frames and (when asked) its flow.

    Attributes:
        start: seconds from the span start.
        frames: (T, H, W, 3) uint8.
        flow: (T−1, H, W, 2) float16 flow between consecutive clip frames, or None.
    """

    start: float
    frames: np.ndarray
    flow: np.ndarray | None = None


def clip_duration(num_frames: int, frame_stride: int, fps: float) -> float:
    """Seconds covered by a clip: ``num_frames · frame_stride / fps``."""
    return num_frames * frame_stride / fps


class FrameSource(Protocol):
    """Reads the clips of a span (see the module docstring)."""

    def clips(
        self,
        span: VideoSpan,
        starts_fn: StartsFn,
        num_frames: int,
        frame_stride: int,
        *,
        flow: bool = False,
    ) -> list[Clip]:
        """The clips of ``span`` at the starts ``starts_fn`` picks (``flow``: with their flow)."""
        ...


class CachedFrames:
    """Clips gathered from the decoded-frame cache; flow computed once per video.

    Args:
        cache: the frame cache (a folder and decode settings).
        flow_method: optical-flow method (:data:`movierep.video.flow.FLOW_METHODS`).
    """

    def __init__(self, cache: FrameCache, flow_method: str = "dis") -> None:
        self.cache = cache
        self.flow_method = flow_method

    def clips(
        self,
        span: VideoSpan,
        starts_fn: StartsFn,
        num_frames: int,
        frame_stride: int,
        *,
        flow: bool = False,
    ) -> list[Clip]:
        """See :class:`FrameSource`."""
        from movierep.video.flow import video_flow

        video = self.cache.open(span.path)
        end = span.end if span.end is not None else video.duration
        length = clip_duration(num_frames, frame_stride, video.fps)
        out = []
        for s in starts_fn(max(0.0, end - span.start), length):
            idx = video.clip_indices(span.start + s, num_frames, frame_stride)
            motion = None
            if flow:
                motion = np.asarray(video_flow(video, frame_stride, self.flow_method)[idx[:-1]])
            out.append(Clip(s, np.ascontiguousarray(video.frames[idx]), motion))
        return out


class DecodedFrames:
    """Clips decoded from the video file when drawn; flow cached per clip under ``flow_root``.

    Args:
        flow_root: folder of the per-clip flow cache (needed when flow is asked for).
        flow_method: optical-flow method.
    """

    def __init__(self, flow_root: str | Path | None = None, flow_method: str = "dis") -> None:
        self.flow_root = None if flow_root is None else Path(flow_root)
        self.flow_method = flow_method

    def clips(
        self,
        span: VideoSpan,
        starts_fn: StartsFn,
        num_frames: int,
        frame_stride: int,
        *,
        flow: bool = False,
    ) -> list[Clip]:
        """See :class:`FrameSource`."""
        from movierep.video.decode import open_video
        from movierep.video.flow import FlowCache

        if flow and self.flow_root is None:
            raise ValueError("DecodedFrames needs a flow_root to compute flow")
        out = []
        with open_video(span.path, threads=1) as reader:
            info = reader.info
            end = span.end if span.end is not None else info.duration
            length = clip_duration(num_frames, frame_stride, info.fps)
            for s in starts_fn(max(0.0, end - span.start), length):
                frames = np.asarray(reader.read_clip(span.start + s, num_frames, frame_stride))
                motion = None
                if flow:
                    assert self.flow_root is not None
                    checksum = int(frames[:, ::8, ::8].astype(np.int64).sum())
                    key = (str(span.path), round((span.start + s) * 1000), frames.shape, checksum)
                    cache = FlowCache(self.flow_root, self.flow_method)
                    motion = cache.get_or_compute(key, partial(np.asarray, frames))
                out.append(Clip(s, frames, motion))
        return out
