"""Clip datasets for backbone training: CVRL positive pairs and labelled clips.

A *clip* is ``num_frames`` frames taken ``frame_stride`` source frames apart (the paper's
Slow-D input is 16×4: 16 frames covering 64 source frames, ≈ 2 s at 30 fps). Datasets
index :class:`~movierep.data.sources.VideoSpan` s, are map-style and draw their
randomness from torch's global RNG, which :class:`movierep.data.sampling.SeededItems`
seeds per item (so a resumed run draws exactly what an uninterrupted one would).

CVRL temporal sampling (Qian et al. 2021, §3.2 "Temporal augmentation"; the official
TF implementation ``sample_ssl_sequence``): the gap ``t`` between the start times of the
two clips of a video is drawn from the linearly decreasing density
``P(t) ∝ M − t`` on ``[0, M]`` (their ``P(t) ∝ −t + c`` with ``c = M``), where
``M = duration − clip_duration`` is the largest possible gap; the first start is then
uniform on ``[0, M − t]``, the second is ``t`` later, and the order is shuffled. Nearby
clips are favoured, distant ones still occur.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from movierep.data.augment import ClipAugment
from movierep.data.sources import VideoSpan
from movierep.errors import UserError

ClipTransform = Callable[[Tensor], Tensor]
"""(T, H, W, 3) uint8 frames -> (C, T, S, S) float clip."""


@dataclass(frozen=True)
class ClipConfig:
    """How clips are cut and augmented; defaults are the paper's (Slow-D 16×4, 224²).

    Attributes:
        num_frames: frames per clip (T).
        frame_stride: source frames between consecutive clip frames.
        crop_size: spatial input size S.
        segment_s: a catalog movie is cut into spans of this length (VidSitu clips: 10 s).
        color_strength: CVRL's colour-jitter strength s (SimCLR's colour distortion
            strength: brightness, contrast, saturation 0.8·s, hue 0.2·s; CVRL uses 1.0).
        split: which split of the data to train on (``all``: every movie of a catalog;
            self-supervised pretraining uses no labels).
        view_aspect: width / height of the training crops' view (1: the papers' square
            ``S × S`` crops; 16/9 ≈ 1.78: ``S × 1.78 S`` views).
        eval_view_aspect: width / height of the evaluation view (feature extraction);
            ``None``: ``view_aspect``. The square centre crop drops the outer 44% of a
            16:9 frame; 16/9 keeps the whole frame (as SlowFast's testing covers the
            frame with 3 crops). Slow-D pools globally, so a network trained on square
            crops takes wide views.
        spans_per_video: k > 1 builds every batch from runs of k spans of one movie, so
            a contrastive batch's negatives include other moments of the same movie
            (same places, same characters: appearance cannot tell them apart); 1 is the
            papers' uniform sampling. See :mod:`movierep.data.sampling`.
    """

    num_frames: int = 16
    frame_stride: int = 4
    crop_size: int = 224
    segment_s: float = 10.0
    color_strength: float = 1.0
    split: str = "train"
    view_aspect: float = 1.0
    eval_view_aspect: float | None = None
    spans_per_video: int = 1


def clip_augment(cfg: ClipConfig) -> ClipAugment:
    """CVRL's temporally consistent augmentation at ``cfg.crop_size`` and colour strength."""
    s = cfg.color_strength
    return ClipAugment(
        size=cfg.crop_size,
        brightness=0.8 * s,
        contrast=0.8 * s,
        saturation=0.8 * s,
        hue=0.2 * s,
        view_aspect=cfg.view_aspect,
    )


#: ``(span duration, clip duration) -> (start_1, start_2)`` of a positive pair, seconds.
PairStarts = Callable[[float, float], tuple[float, float]]


def sample_pair_starts(
    duration: float, clip_duration: float, generator: torch.Generator | None = None
) -> tuple[float, float]:
    """Sample the start times of CVRL's two clips in a video of ``duration`` seconds.

    The gap ``t`` follows ``P(t) = 2(M − t)/M²`` on ``[0, M]``, ``M = duration −
    clip_duration``, sampled by inverting its CDF ``F(t) = 1 − (1 − t/M)²``:
    ``t = M (1 − √(1 − u))``, ``u ~ U[0, 1)``. A video shorter than one clip gives two
    clips starting at 0 (the reader pads the end).

    Returns:
        ``(start_1, start_2)`` in seconds from the span start, in random order.
    """
    M = duration - clip_duration
    if M <= 0:
        return 0.0, 0.0
    u = torch.rand(3, generator=generator, dtype=torch.float64).tolist()
    gap = M * (1.0 - math.sqrt(1.0 - u[0]))
    first = u[1] * (M - gap)
    starts = (first, first + gap)
    return starts if u[2] < 0.5 else (starts[1], starts[0])


def sample_shifted_pair_starts(
    duration: float,
    clip_duration: float,
    generator: torch.Generator | None = None,
    *,
    min_gap: float = 0.5,
    max_gap: float = 10.0,
) -> tuple[float, float]:
    """Sample the starts of MoDist's two positive clips: 0.5-10 s apart, uniformly.

    The authors' release bounds the temporal shift between the two clips of a positive
    pair (``CONTRASTIVE_TEMPORAL_SHIFT_MIN/MAX = 500/10000`` ms). The gap is uniform on
    ``[min_gap, min(max_gap, M)]``, ``M = duration − clip_duration``; a video too short for
    ``min_gap`` gives the largest gap it has (``M``, or 0). The first start is uniform on
    ``[0, M − gap]`` and the order is random.

    Returns:
        ``(start_1, start_2)`` in seconds from the span start.
    """
    M = max(0.0, duration - clip_duration)
    u = torch.rand(3, generator=generator, dtype=torch.float64).tolist()
    low, high = min(min_gap, M), min(max_gap, M)
    gap = low + (high - low) * u[0]
    first = u[1] * (M - gap)
    starts = (first, first + gap)
    return starts if u[2] < 0.5 else (starts[1], starts[0])


def centered_start(start: float, end: float, clip_duration: float) -> float:
    """Start time of the clip centred on ``[start, end)`` (never before 0).

    Used to read one clip per 2 s event for feature extraction: a 16×4 clip at 25 fps
    lasts 2.56 s, so it overhangs the event equally on both sides.
    """
    return max(0.0, (start + end - clip_duration) / 2.0)


def clip_duration(num_frames: int, frame_stride: int, fps: float) -> float:
    """Seconds covered by a clip: ``num_frames · frame_stride / fps``."""
    return num_frames * frame_stride / fps


def read_span_clips(
    span: VideoSpan,
    starts_fn: Callable[[float, float], Sequence[float]],
    num_frames: int,
    frame_stride: int,
) -> list[np.ndarray]:
    """Open ``span``'s video once and read the clips whose starts ``starts_fn`` chooses.

    Args:
        span: the video span.
        starts_fn: ``(span_duration, clip_duration) -> starts`` in seconds from the span start.
        num_frames: T.
        frame_stride: source frames between clip frames.

    Returns:
        One (T, H, W, 3) uint8 array per start.
    """
    from movierep.video.decode import open_video

    with open_video(span.path, threads=1) as reader:
        info = reader.info
        end = span.end if span.end is not None else info.duration
        length = clip_duration(num_frames, frame_stride, info.fps)
        starts = starts_fn(max(0.0, end - span.start), length)
        return [
            np.asarray(reader.read_clip(span.start + s, num_frames, frame_stride)) for s in starts
        ]


class CachedFlow:
    """Flow provider for :class:`ClipPairDataset`: optical flow of a clip, cached on disk.

    The key is the file, the clip start (ms), the clip's shape and a checksum of its
    pixels, so a clip drawn again in a later epoch reuses its flow
    (:class:`movierep.video.flow.FlowCache`, OpenCV DIS flow).

    Args:
        root: cache folder.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __call__(self, span: VideoSpan, start: float, frames: np.ndarray) -> np.ndarray:
        """Flow (T−1, H, W, 2) of ``frames`` (T, H, W, 3), the clip at ``start`` in ``span``."""
        from movierep.video.flow import FlowCache

        checksum = int(frames[:, ::8, ::8].astype(np.int64).sum())
        key = (str(span.path), round((span.start + start) * 1000), frames.shape, checksum)
        return FlowCache(self.root).get_or_compute(key, lambda: frames)


class ClipPairDataset(Dataset[dict[str, Tensor]]):
    """CVRL positive pairs: two augmented clips of the same span (one item per span).

    Item ``i`` holds ``view1``/``view2`` (C, T, S, S) and ``index`` (the span index). With a
    flow provider (MoDist) it also holds ``flow1``/``flow2`` (2, T−1, S, S): the optical flow
    of the same two clips under the same crop and flip as their RGB view
    (:meth:`ClipAugment.apply_flow`).

    Args:
        spans: the videos.
        augment: CVRL's temporally consistent spatial augmentation, drawn independently
            for each view.
        num_frames: T.
        frame_stride: source frames between clip frames.
        flow: ``(span, clip_start, frames (T, H, W, 3)) -> flow (T−1, H, W, 2)``, or None.
        pair_starts: ``(duration, clip_duration) -> (start_1, start_2)``: CVRL's
            :func:`sample_pair_starts` (default) or MoDist's
            :func:`sample_shifted_pair_starts`.
    """

    def __init__(
        self,
        spans: Sequence[VideoSpan],
        augment: ClipAugment,
        *,
        num_frames: int = 16,
        frame_stride: int = 4,
        flow: Callable[[VideoSpan, float, np.ndarray], np.ndarray] | None = None,
        pair_starts: PairStarts = sample_pair_starts,
    ) -> None:
        self.spans = list(spans)
        self.augment = augment
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.flow = flow
        self.pair_starts = pair_starts

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        span = self.spans[i]
        starts: list[float] = []

        def pick(duration: float, length: float) -> list[float]:
            starts.extend(self.pair_starts(duration, length))
            return starts

        clips = read_span_clips(span, pick, self.num_frames, self.frame_stride)
        item = {"index": torch.tensor(i)}
        for k, (start, frames) in enumerate(zip(starts, clips, strict=True), start=1):
            clip = torch.from_numpy(frames)
            params = self.augment.sample_params(torch.default_generator, *frames.shape[1:3])
            item[f"view{k}"] = self.augment.apply(clip, params)
            if self.flow is not None:
                flow = torch.from_numpy(np.asarray(self.flow(span, start, frames), np.float32))
                item[f"flow{k}"] = self.augment.apply_flow(flow, params)
        return item


class LabelledClipDataset(Dataset[dict[str, Tensor]]):
    """One clip per labelled span, for the supervised baseline (the paper's "Sup" rows).

    Training draws the clip start uniformly inside the span; evaluation takes the centred
    clip. Item: ``clip`` (C, T, S, S) and ``label`` (int64).
    """

    def __init__(
        self,
        spans: Sequence[VideoSpan],
        transform: ClipTransform,
        *,
        num_frames: int = 16,
        frame_stride: int = 4,
        random_start: bool = True,
    ) -> None:
        unlabelled = [s.video_id for s in spans if s.label < 0]
        if unlabelled:
            raise UserError(f"{unlabelled[0]}: a supervised dataset needs labelled spans")
        self.spans = list(spans)
        self.transform = transform
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.random_start = random_start

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        span = self.spans[i]

        def pick(duration: float, length: float) -> list[float]:
            if self.random_start:
                return [max(0.0, duration - length) * float(torch.rand(()))]
            return [centered_start(0.0, duration, length)]

        (clip,) = read_span_clips(span, pick, self.num_frames, self.frame_stride)
        return {"clip": self.transform(torch.from_numpy(clip)), "label": torch.tensor(span.label)}
