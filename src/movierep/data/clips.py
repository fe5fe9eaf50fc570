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
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from movierep.data.augment import ClipAugment
from movierep.data.batch_augment import augment_batch, augment_flow_batch
from movierep.data.frames import CachedFrames, DecodedFrames, FrameSource
from movierep.data.sources import VideoSpan
from movierep.errors import UserError
from movierep.video.frame_cache import DecodeSettings, FrameCache, frame_cache_from

ClipTransform = Callable[[Tensor], Tensor]
"""(T, H, W, 3) uint8 frames -> (C, T, S, S) float clip."""

#: Where clip augmentation runs: in the data-loader worker, item by item, or on the
#: training device, batch by batch (:mod:`movierep.data.batch_augment`).
AugmentOn = Literal["device", "worker"]


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
        frame_cache: where clips are read: ``auto`` (the decoded-frame cache in its
            default folder, ``$MOVIEREP_CACHE_DIR/frames`` or ``~/.cache/movierep/frames``),
            a folder (the cache there), or ``decode`` (decode every clip from its file when it
            is drawn, the slow path; see :mod:`movierep.data.frames`).
        cache_short_side: decode into the cache at this short side (None: the videos' own
            size, as on-the-fly decoding reads them).
        augment_on: ``device`` (augment each batch on the training device,
            :mod:`movierep.data.batch_augment`) or ``worker`` (each clip in the loader).
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
    frame_cache: str = "auto"
    cache_short_side: int | None = None
    augment_on: AugmentOn = "device"


def frame_source(
    cfg: ClipConfig, flow_root: str | Path | None = None, flow_method: str = "dis"
) -> FrameSource:
    """The frame source ``cfg.frame_cache`` names.

    ``flow_root``: where ``decode`` caches each drawn clip's flow; ``flow_method``: the
    optical flow a motion pathway reads (:data:`movierep.video.flow.FLOW_METHODS`).
    """
    cache = frame_cache_from(cfg.frame_cache, DecodeSettings(cfg.cache_short_side))
    if cache is None:
        return DecodedFrames(flow_root, flow_method)
    return CachedFrames(cache, flow_method)


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


def read_span_clips(
    span: VideoSpan,
    starts_fn: Callable[[float, float], Sequence[float]],
    num_frames: int,
    frame_stride: int,
) -> list[np.ndarray]:
    """Decode the clips of ``span`` whose starts ``starts_fn`` chooses (one open of the file).

    Args:
        span: the video span.
        starts_fn: ``(span_duration, clip_duration) -> starts`` in seconds from the span start.
        num_frames: T.
        frame_stride: source frames between clip frames.

    Returns:
        One (T, H, W, 3) uint8 array per start.
    """
    return [c.frames for c in DecodedFrames().clips(span, starts_fn, num_frames, frame_stride)]


_RAW = ("frames", "flow")  # item keys collated with padding (raw frames and flow)


def collate_clips(items: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Stack a list of items (a loader's ``collate_fn``).

    Raw ``frames*`` / ``flow*`` tensors (N, H, W, C) of videos of several sizes are
    zero-padded to a common H × W first; every crop box lies inside its own clip, so the
    padding is never read.
    """
    out: dict[str, Tensor] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if key.startswith(_RAW) and len({tuple(v.shape) for v in values}) > 1:
            H = max(v.shape[1] for v in values)
            W = max(v.shape[2] for v in values)
            values = [F.pad(v, (0, 0, 0, W - v.shape[2], 0, H - v.shape[1])) for v in values]
        out[key] = torch.stack(values)
    return out


class ClipPairDataset(Dataset[dict[str, Tensor]]):
    """CVRL positive pairs: two augmented clips of the same span (one item per span).

    Item ``i`` holds ``index`` (the span index) and, after :meth:`prepare_batch`,
    ``view1``/``view2`` (C, T, S, S) and with ``flow`` (MoDist) ``flow1``/``flow2``
    (2, T−1, S, S): the optical flow of the same two clips under the same crop and flip as
    their RGB view (:meth:`ClipAugment.apply_flow`).

    With ``augment_on="device"`` (the recipes' default, ``data.augment_on``) an item holds
    the raw clips ``frames1``/``frames2`` (T, H, W, 3) uint8, the augmentation draws
    ``aug1``/``aug2`` (17,) (:meth:`ClipAugmentParams.to_vector`) and raw
    ``flow1``/``flow2`` (T−1, H, W, 2) float16; :meth:`prepare_batch` augments the whole
    batch where the model runs. With ``"worker"`` (the default here) the item is augmented
    when loaded. The random draws (starts, then each view's parameters) come from the
    same RNG in the same order either way.

    Args:
        spans: the videos.
        augment: CVRL's temporally consistent spatial augmentation, drawn independently
            for each view.
        num_frames: T.
        frame_stride: source frames between clip frames.
        frames: where clips are read (default: the decoded-frame cache at its default
            folder, :class:`~movierep.data.frames.CachedFrames`).
        flow: also give each clip's optical flow (MoDist).
        pair_starts: ``(duration, clip_duration) -> (start_1, start_2)``: CVRL's
            :func:`sample_pair_starts` (default) or MoDist's
            :func:`sample_shifted_pair_starts`.
        augment_on: ``"worker"`` or ``"device"`` (see above).
    """

    def __init__(
        self,
        spans: Sequence[VideoSpan],
        augment: ClipAugment,
        *,
        num_frames: int,
        frame_stride: int,
        augment_on: AugmentOn,
        frames: FrameSource | None = None,
        flow: bool = False,
        pair_starts: PairStarts = sample_pair_starts,
    ) -> None:
        self.spans = list(spans)
        self.augment = augment
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.frames = frames if frames is not None else CachedFrames(FrameCache())
        self.flow = flow
        self.pair_starts = pair_starts
        self.augment_on = augment_on
        self.collate = collate_clips

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        span = self.spans[i]
        clips = self.frames.clips(
            span, self.pair_starts, self.num_frames, self.frame_stride, flow=self.flow
        )
        item = {"index": torch.tensor(i)}
        for k, clip in enumerate(clips, start=1):
            frames = torch.from_numpy(clip.frames)
            params = self.augment.sample_params(torch.default_generator, *clip.frames.shape[1:3])
            flow = None if clip.flow is None else torch.from_numpy(clip.flow)
            if self.augment_on == "device":
                item[f"frames{k}"], item[f"aug{k}"] = frames, params.to_vector()
                if flow is not None:
                    item[f"flow{k}"] = flow
            else:
                item[f"view{k}"] = self.augment.apply(frames, params)
                if flow is not None:
                    item[f"flow{k}"] = self.augment.apply_flow(flow.float(), params)
        return item

    def prepare_batch(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Augment a collated batch on its device (``augment_on="device"``; else unchanged).

        ``frames{k}`` (B, T, H, W, 3) uint8 + ``aug{k}`` (B, 17) -> ``view{k}``
        (B, 3, T, S, W); raw ``flow{k}`` (B, T−1, H, W, 2) -> (B, 2, T−1, S, W).
        """
        if self.augment_on != "device":
            return batch
        out = {k: v for k, v in batch.items() if not k.startswith((*_RAW, "aug"))}
        for k in (1, 2):
            params = batch[f"aug{k}"]
            out[f"view{k}"] = augment_batch(batch[f"frames{k}"], params, self.augment)
            if f"flow{k}" in batch:
                out[f"flow{k}"] = augment_flow_batch(batch[f"flow{k}"], params, self.augment)
        return out


class LabelledClipDataset(Dataset[dict[str, Tensor]]):
    """One clip per labelled span, for the supervised baseline (the paper's "Sup" rows).

    Training draws the clip start uniformly inside the span; evaluation takes the centred
    clip. Item: ``clip`` (C, T, S, S) and ``label`` (int64). With a :class:`ClipAugment`
    as ``transform`` and ``augment_on="device"``, items hold the raw ``frames`` and draws
    ``aug`` and :meth:`prepare_batch` makes ``clip`` on the training device (as
    :class:`ClipPairDataset`).
    """

    def __init__(
        self,
        spans: Sequence[VideoSpan],
        transform: ClipTransform,
        *,
        num_frames: int,
        frame_stride: int,
        augment_on: AugmentOn,
        random_start: bool = True,
        frames: FrameSource | None = None,
    ) -> None:
        unlabelled = [s.video_id for s in spans if s.label < 0]
        if unlabelled:
            raise UserError(f"{unlabelled[0]}: a supervised dataset needs labelled spans")
        if augment_on == "device" and not isinstance(transform, ClipAugment):
            raise ValueError("augment_on='device' needs a ClipAugment transform")
        self.spans = list(spans)
        self.transform = transform
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.random_start = random_start
        self.frames = frames if frames is not None else CachedFrames(FrameCache())
        self.augment_on = augment_on
        self.collate = collate_clips

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        span = self.spans[i]

        def pick(duration: float, length: float) -> list[float]:
            if self.random_start:
                return [max(0.0, duration - length) * float(torch.rand(()))]
            return [centered_start(0.0, duration, length)]

        (clip,) = self.frames.clips(span, pick, self.num_frames, self.frame_stride)
        frames, label = torch.from_numpy(clip.frames), torch.tensor(span.label)
        if self.augment_on == "device":
            assert isinstance(self.transform, ClipAugment)
            params = self.transform.sample_params(torch.default_generator, *frames.shape[1:3])
            return {"frames": frames, "aug": params.to_vector(), "label": label}
        return {"clip": self.transform(frames), "label": label}

    def prepare_batch(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``frames`` + ``aug`` -> ``clip`` (B, 3, T, S, W) on the batch's device (device mode)."""
        if self.augment_on != "device":
            return batch
        assert isinstance(self.transform, ClipAugment)
        clip = augment_batch(batch["frames"], batch["aug"], self.transform)
        return {"clip": clip, "label": batch["label"]}
