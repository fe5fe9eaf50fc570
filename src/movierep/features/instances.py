r"""Instance features for the Object Transformer: backbone features pooled in tracked boxes.

LVU's OT reads one feature per detected instance per second: a person box, found about once
per second and linked into tracklets within shots, pooled from an action backbone by
RoIAlign (../shared/benchmarks/lvu_movienet.md §A.5). movierep does the same with any
Slow-D checkpoint:

1. boxes and tracklets come from an LVU ``instance_meta`` file
   (:func:`movierep.data.benchmarks.lvu.load_instance_meta`); the synthetic corpus writes
   one from its ground-truth character boxes (``lvu/instance_meta.json``), which stands in
   for LVU's person detector and tracker;
2. for each second ``s`` with instances, the backbone's clip is centred on ``s + 0.5`` (the
   frame the boxes were taken at) and goes through the evaluation view of event features
   (:func:`movierep.data.augment.eval_transform`); the boxes follow the same resize and
   crop (:func:`movierep.data.augment.eval_crop`);
3. the chosen stage's feature map (default ``res5``, as AVA heads) is averaged over time and
   each box pooled by RoIAlign (:func:`movierep.models.roi_align.roi_features`).

A box outside the view (cropped away by a square view) keeps its feature from the border
cells, as RoIAlign's clamping gives. One job per video (:mod:`movierep.jobs`): resumable,
shardable, failures recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor, nn

from movierep import dist, tables
from movierep.data.augment import eval_crop, eval_transform
from movierep.data.benchmarks.lvu import Instance, load_instance_meta
from movierep.data.clips import centered_start
from movierep.data.frames import clip_duration
from movierep.errors import UserError
from movierep.features.extract import ClipSpec, clip_spec_from_checkpoint
from movierep.jobs import Job, JobReport, run_into_table
from movierep.models.factory import load_pretrained
from movierep.models.roi_align import roi_features
from movierep.video.frame_cache import FrameCache, frame_cache_from


class FeatureMaps(Protocol):
    """A backbone that exposes its stages' maps (Slow-D's ``forward_features``)."""

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:
        """(B, C, T, H, W) clips -> ``{stage: (B, C', T', H', W')}``."""
        ...


def instance_features_schema(dim: int) -> pa.Schema:
    """``movie_id`` (the LVU video id), ``second``, box, ``shot``, ``link``, ``feature``."""
    return pa.schema(
        [
            ("movie_id", pa.string()),
            ("second", pa.int32()),
            ("x1", pa.float32()),
            ("y1", pa.float32()),
            ("x2", pa.float32()),
            ("y2", pa.float32()),
            ("shot", pa.int32()),
            ("link", pa.int32()),
            ("feature", tables.embedding_type(dim)),
        ]
    )


@torch.no_grad()
def video_instance_features(
    backbone: nn.Module,
    video_path: str | Path,
    seconds: Mapping[int, Sequence[Instance]],
    spec: ClipSpec,
    *,
    stage: str = "res5",
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    frame_cache: FrameCache | None = None,
) -> np.ndarray:
    """RoI features of every instance of one video.

    Args:
        backbone: a Slow-D (anything with ``forward_features(x) -> {stage: (B, C, T, h, w)}``).
        video_path: the video.
        seconds: second -> its instances (boxes in [0, 1] of the frame).
        spec: clip shape (frames, stride, crop height, aspect).
        stage: the feature map to pool.
        batch_size: clips per backbone call.
        device: where the backbone runs.
        frame_cache: read clips from this decoded-frame cache (None: decode the file).

    Returns:
        (K, C) float32, one row per instance in (second, file order) order.
    """
    from movierep.video.decode import probe
    from movierep.video.events import iter_event_clips

    if not hasattr(backbone, "forward_features"):
        raise UserError(f"{type(backbone).__name__}: instance features need a Slow-D backbone")
    device = torch.device(device)
    info = probe(video_path)
    length = clip_duration(spec.num_frames, spec.frame_stride, info.fps)
    order = sorted(s for s in seconds if seconds[s])
    starts = [centered_start(s, s + 1.0, length) for s in order]
    clips = iter_event_clips(
        video_path, starts, spec.num_frames, spec.frame_stride, threads=1, cache=frame_cache
    )
    feats: list[np.ndarray] = []
    batch: list[torch.Tensor] = []
    batch_boxes: list[list[float]] = []
    for n, (sec, clip) in enumerate(zip(order, clips, strict=True), start=1):
        frames = torch.from_numpy(np.asarray(clip))
        h, w = frames.shape[1:3]
        crop = eval_crop(h, w, spec.crop_size, view_aspect=spec.view_aspect)
        batch.append(eval_transform(frames, spec.crop_size, view_aspect=spec.view_aspect))
        for inst in seconds[sec]:
            batch_boxes.append([len(batch) - 1, *crop.box_to_view(inst.box)])
        if len(batch) == batch_size or n == len(order):
            x = torch.stack(batch).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                fmap = (
                    cast(FeatureMaps, backbone).forward_features(x)[stage].float()
                )  # (B, C, T, h', w')
            boxes = torch.tensor(batch_boxes, dtype=torch.float32, device=device)
            # view pixels -> feature cells, per axis (the map's stride need not divide the view)
            boxes[:, [1, 3]] *= fmap.shape[-1] / crop.width
            boxes[:, [2, 4]] *= fmap.shape[-2] / crop.size
            feats.append(roi_features(fmap, boxes, spatial_scale=1.0).cpu().numpy())
            batch, batch_boxes = [], []
    if not feats:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(feats).astype(np.float32)


def extract_instance_features(
    backbone: str | Path | nn.Module,
    videos_dir: str | Path,
    instance_meta: str | Path,
    out: str | Path,
    *,
    spec: ClipSpec | None = None,
    stage: str = "res5",
    batch_size: int = 8,
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    show_progress: bool = True,
    frame_cache: str = "auto",
) -> JobReport:
    """Instance features of every video of an ``instance_meta`` file → Parquet at ``out``.

    Args:
        backbone: a backbone checkpoint folder, or a loaded Slow-D (then ``spec`` is needed).
        videos_dir: folder of ``<video_id>.mp4`` (LVU's ``videos/``).
        instance_meta: LVU ``instance_meta`` JSON (boxes, shots, tracklets per second).
        out: the instance-features table (``.parquet``); parts go beside it.
        spec: clip shape; default: the one the checkpoint was trained with.
        stage: Slow-D stage whose map is pooled (``res4`` or ``res5``).
        batch_size: clips per backbone call.
        device: ``auto``, ``cpu``, ``cuda``...
        shard: ``(i, n)``; default the torchrun rank.
        show_progress: progress bar.
        frame_cache: ``auto``, a folder or ``decode``: where clips are read
            (:func:`movierep.video.frame_cache.frame_cache_from`).

    Returns:
        This worker's report; ``out`` is written once every video is accounted for.
    """
    out, videos_dir = Path(out), Path(videos_dir)
    if out.suffix != ".parquet":
        raise UserError(f"{out}: the features file must end in .parquet")
    where = dist.device(device)
    if isinstance(backbone, nn.Module):
        if spec is None:
            raise UserError("a loaded backbone needs its clip spec")
        model = backbone.to(where).eval()
    else:
        spec = spec or clip_spec_from_checkpoint(backbone)
        model = load_pretrained(backbone, map_location=where)
    meta = load_instance_meta(Path(instance_meta))
    jobs = []
    for vid in sorted(meta):
        path = videos_dir / f"{vid}.mp4"
        if not path.is_file():
            raise UserError(f"{instance_meta}: video {vid} has no file {path}")
        jobs.append(Job(id=vid, path=path))
    dim = _feature_dim(model, stage)
    schema = instance_features_schema(dim)
    cache = frame_cache_from(frame_cache)

    def work(job: Job) -> pa.Table:
        per_second = meta[job.id]
        feats = video_instance_features(
            model, job.path, per_second, spec, stage=stage, batch_size=batch_size, device=where,
            frame_cache=cache,
        )  # fmt: skip
        rows = [(s, inst) for s in sorted(per_second) for inst in per_second[s]]
        return pa.Table.from_pydict(
            {
                "movie_id": [job.id] * len(rows),
                "second": [s for s, _ in rows],
                "x1": [i.box[0] for _, i in rows],
                "y1": [i.box[1] for _, i in rows],
                "x2": [i.box[2] for _, i in rows],
                "y2": [i.box[3] for _, i in rows],
                "shot": [i.shot for _, i in rows],
                "link": [i.link for _, i in rows],
                "feature": tables.embedding_array(feats.reshape(len(rows), dim)),
            },
            schema=schema,
        )

    return run_into_table(jobs, work, out, shard, schema=schema, show_progress=show_progress)


def _feature_dim(model: nn.Module, stage: str) -> int:
    """Channels of ``stage``'s map (a dry run on a tiny clip)."""
    p = next(model.parameters())
    x = torch.zeros(1, 3, 2, 32, 32, device=p.device, dtype=p.dtype)
    with torch.no_grad():
        maps = cast(FeatureMaps, model).forward_features(x)
    if stage not in maps:
        raise UserError(f"unknown backbone stage {stage!r}; known: {', '.join(maps)}")
    return int(maps[stage].shape[1])
