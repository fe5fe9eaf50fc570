"""Event features: one backbone feature ``v_t`` per 2 s event, written as Parquet.

Hierarchical-SSL (Xiao et al. §3.1): a movie is cut into consecutive 2 s events; the
Slow-D backbone maps one 16×4 clip per event to its 2048-d feature ``v_t``; the
contextualizer (TxE) and every downstream head read these features. This module runs a
frozen backbone over an events table (``movie_id, event_index, start_time, end_time,
video_path``) and writes ``event_features`` (``movie_id, event_index, start_time,
end_time, feature``), see ``docs/contracts.md``.

The clip of an event is centred on it (:func:`movierep.data.clips.centered_start`) and
resized + centre-cropped (:func:`movierep.data.augment.eval_transform`). Events are
batched across one video; videos are processed one at a time through
:mod:`movierep.jobs`, so an interrupted run resumes where it stopped, work can be sharded
over processes, and a video that fails to decode is recorded in ``failures.parquet``
instead of stopping the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch import nn

from movierep import dist, tables
from movierep.checkpoint import read_config, read_inputs, resolve_input
from movierep.data.clips import centered_start
from movierep.data.frames import clip_duration
from movierep.errors import UserError
from movierep.jobs import Job, JobReport, merge_parts, pending_ids, run_jobs
from movierep.models import load_pretrained
from movierep.video.frame_cache import FrameCache, frame_cache_from

#: A decoded clip (T, H, W, 3) uint8 -> an encoder's input tensor.
ClipTransform = Callable[[np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class ClipSpec:
    """How an event becomes a backbone input: T frames, stride, crop height S and aspect."""

    num_frames: int = 16
    frame_stride: int = 4
    crop_size: int = 224
    view_aspect: float = 1.0


def clip_spec_from_checkpoint(
    ckpt: str | Path,
    *,
    num_frames: int | None = None,
    frame_stride: int | None = None,
    crop_size: int | None = None,
    view_aspect: float | None = None,
) -> ClipSpec:
    """The clip shape a backbone was trained with (its checkpoint's inference inputs).

    A given value must agree with what the checkpoint states; one it does not state falls
    back to the given value, else the paper's 16×4 at 224², square view.

    Args:
        ckpt: a backbone checkpoint folder.
        num_frames: the user's T (``--num-frames``; ``None``: not given).
        frame_stride: the user's stride (``--frame-stride``).
        crop_size: the user's S (``--crop-size``).
        view_aspect: the user's view width / height (``--view-aspect``).

    Raises:
        UserError: a given value contradicts the checkpoint.
    """
    stated, paper = read_inputs(ckpt), ClipSpec()
    return ClipSpec(
        num_frames=resolve_input(
            ckpt, "clip_frames", "--num-frames", num_frames, stated.clip_frames, paper.num_frames
        ),
        frame_stride=resolve_input(
            ckpt, "frame_stride", "--frame-stride", frame_stride, stated.frame_stride,
            paper.frame_stride,
        ),
        crop_size=resolve_input(
            ckpt, "crop_size", "--crop-size", crop_size, stated.crop_size, paper.crop_size
        ),
        view_aspect=resolve_input(
            ckpt, "view_aspect", "--view-aspect", view_aspect, stated.view_aspect,
            paper.view_aspect,
        ),
    )  # fmt: skip


@torch.no_grad()
def video_event_features(
    backbone: nn.Module,
    video_path: str | Path,
    events: Sequence[tuple[float, float]],
    spec: ClipSpec,
    *,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    frame_cache: FrameCache | None = None,
    transform: ClipTransform | None = None,
) -> np.ndarray:
    """Features of the events of one video.

    Args:
        backbone: frozen clip encoder, (B, C, T, S, S) -> (B, D), in eval mode.
        video_path: the video.
        events: ``(start_time, end_time)`` of each event, seconds.
        spec: clip shape.
        batch_size: clips per backbone call.
        device: where the backbone runs.
        frame_cache: read clips from this decoded-frame cache (None: decode the file).
        transform: a decoded clip (T, H, W, 3) uint8 -> the encoder's input (C, T', S, W)
            (default: the centre-crop :func:`~movierep.data.augment.eval_transform` at
            ``spec``; a motion pathway gives :func:`movierep.features.motion.flow_input`).

    Returns:
        (N, D) float32 features, one row per event in order.
    """
    from movierep.data.augment import eval_transform
    from movierep.video.decode import probe
    from movierep.video.events import iter_event_clips

    device = torch.device(device)
    length = clip_duration(spec.num_frames, spec.frame_stride, probe(video_path).fps)
    starts = np.array([centered_start(start, end, length) for start, end in events])
    order = np.argsort(starts, kind="stable")  # one sequential decode needs increasing starts
    clips = iter_event_clips(
        video_path, starts[order].tolist(), spec.num_frames, spec.frame_stride, threads=1,
        cache=frame_cache,
    )  # fmt: skip
    feats: list[np.ndarray] = []
    batch: list[torch.Tensor] = []
    for n, clip in enumerate(clips, start=1):
        if transform is None:
            x = torch.from_numpy(np.asarray(clip))
            batch.append(eval_transform(x, spec.crop_size, view_aspect=spec.view_aspect))
        else:
            batch.append(transform(np.asarray(clip)))
        if len(batch) == batch_size or n == len(starts):
            x = torch.stack(batch).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                v = backbone(x)
            feats.append(v.float().cpu().numpy())
            batch = []
    if not feats:
        return np.zeros((0, 0), np.float32)
    sorted_feats = np.concatenate(feats)  # (N, D) in start order
    out = np.empty_like(sorted_feats)
    out[order] = sorted_feats
    return out


def event_rows_by_video(events: pa.Table, source: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Group an events table's rows by ``video_path``, each group sorted by event index."""
    tables.require_columns(
        events, ["movie_id", "event_index", "start_time", "end_time", "video_path"], source
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in events.to_pylist():
        groups.setdefault(row["video_path"], []).append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: r["event_index"])
    return groups


def features_table(rows: Sequence[dict[str, Any]], features: np.ndarray) -> pa.Table:
    """An ``event_features`` table from event rows and their (N, D) features."""
    if len(rows) != len(features):
        raise ValueError(f"{len(rows)} events but {len(features)} features")
    dim = features.shape[1]
    return pa.table(
        {
            "movie_id": pa.array([r["movie_id"] for r in rows], pa.string()),
            "event_index": pa.array([r["event_index"] for r in rows], pa.int32()),
            "start_time": pa.array([r["start_time"] for r in rows], pa.float64()),
            "end_time": pa.array([r["end_time"] for r in rows], pa.float64()),
            "feature": tables.embedding_array(features),
        },
        schema=tables.event_features_schema(dim),
    )


def events_from_videos(paths: Sequence[str | Path], *, length: float = 2.0) -> pa.Table:
    """An events table of consecutive ``length``-second windows over each video file.

    The movie id is the file stem; durations come from probing each file.
    """
    from movierep.video.decode import probe
    from movierep.video.events import event_windows

    rows: list[dict[str, Any]] = []
    for path in paths:
        duration = probe(path).duration
        for i, (start, end) in enumerate(event_windows(duration, length=length, stride=length)):
            rows.append(
                {
                    "movie_id": Path(path).stem,
                    "event_index": i,
                    "start_time": float(start),
                    "end_time": float(end),
                    "video_path": str(path),
                }
            )
    if not rows:
        raise UserError(f"{paths[0] if paths else '(no videos)'}: no event fits in the video(s)")
    return pa.Table.from_pylist(rows, schema=tables.EVENTS)


def events_from_corpus(root: str | Path, *, split: str | None = None) -> pa.Table:
    """The annotated events of a corpus (``truth/events.parquet``) as an events table.

    Args:
        root: corpus folder (``catalog.parquet``, ``truth/events.parquet``).
        split: keep the movies of this catalog split (``None``: all).
    """
    root = Path(root)
    catalog = tables.read_table(root / "catalog.parquet").to_pylist()
    paths = {
        r["movie_id"]: str(root / r["path"])
        for r in catalog
        if split is None or r["split"] == split
    }
    truth = tables.read_table(root / "truth" / "events.parquet")
    rows = [
        {
            "movie_id": r["movie_id"],
            "event_index": r["event_index"],
            "start_time": r["start_time"],
            "end_time": r["end_time"],
            "video_path": paths[r["movie_id"]],
        }
        for r in truth.select(["movie_id", "event_index", "start_time", "end_time"]).to_pylist()
        if r["movie_id"] in paths
    ]
    return pa.Table.from_pylist(rows, schema=tables.EVENTS)


def extract_event_features(
    backbone: nn.Module,
    events: pa.Table,
    out: str | Path,
    spec: ClipSpec,
    *,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    source: str | Path = "events",
    shard: tuple[int, int] | None = None,
    show_progress: bool = True,
    frame_cache: FrameCache | None = None,
    transform: ClipTransform | None = None,
) -> JobReport:
    """Run ``backbone`` over every event of ``events`` and write ``event_features`` to ``out``.

    One job per video (:mod:`movierep.jobs`): each finished video is written to
    ``<out dir>/parts/<out stem>/`` at once, so a rerun skips it (resume); under
    ``torchrun`` (or with ``shard``) each worker takes its share of the videos. A video that
    fails to decode is recorded in ``<out stem>.failures.parquet`` beside ``out`` and the
    run goes on. Once every video is accounted for, the parts are merged into ``out``.

    Args:
        backbone: frozen clip encoder (B, C, T, S, S) -> (B, D).
        events: an events table (``movie_id, event_index, start_time, end_time, video_path``).
        out: the features Parquet file to write (``.parquet``).
        spec: clip shape the backbone expects.
        batch_size: clips per backbone call.
        device: where the backbone runs.
        source: name of the events table, for error messages.
        shard: ``(i, n)`` to run only every n-th video (default: the torchrun rank).
        show_progress: show a progress bar.
        frame_cache: read clips from this decoded-frame cache (None: decode each video).
        transform: decoded clip -> encoder input (default: centre crop at ``spec``).

    Returns:
        This worker's report (done, skipped and failed videos). ``out`` is written once
        every video has a part or a failure record (the last worker to finish merges).
    """
    out = Path(out)
    if out.suffix != ".parquet":
        raise UserError(f"{out}: the features file must end in .parquet")
    groups = event_rows_by_video(events, source)
    jobs = [Job(id=rows[0]["movie_id"], path=Path(video)) for video, rows in groups.items()]
    backbone = backbone.to(device).eval()

    def work(job: Job) -> pa.Table:
        rows = groups[str(job.path)]
        feats = video_event_features(
            backbone,
            job.path,
            [(r["start_time"], r["end_time"]) for r in rows],
            spec,
            batch_size=batch_size,
            device=device,
            frame_cache=frame_cache,
            transform=transform,
        )
        return features_table(rows, feats)

    stage = out.stem
    report = run_jobs(jobs, work, out.parent, stage, shard, show_progress=show_progress)
    if shard is None:
        dist.barrier()
    ids = [job.id for job in jobs]
    if dist.is_main() and not pending_ids(out.parent, stage, ids):
        merge_parts(out.parent, stage, ids, failures_file=f"{stage}.failures.parquet")
    dist.barrier()
    return report


def extract_with_checkpoint(
    backbone: str | Path,
    events: pa.Table,
    out: str | Path,
    *,
    source: str | Path = "events",
    spec: ClipSpec | None = None,
    batch_size: int = 16,
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    contextualizer: str | Path | None = None,
    frame_cache: str = "auto",
) -> JobReport:
    """Extract event features with a backbone checkpoint (``movierep extract events``).

    Args:
        backbone: backbone checkpoint folder (``movierep train backbone``).
        events: events table (``movie_id, event_index, start_time, end_time, video_path``).
        out: the features Parquet file.
        source: name of the events' origin, for error messages.
        spec: clip shape; default: the one the backbone was trained with.
        batch_size: clips per backbone call.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        shard: ``(i, n)`` to run only every n-th video (default: the torchrun rank).
        contextualizer: a TxE checkpoint; its contextual features are added as the
            ``context_feature`` column once the table is merged.
        frame_cache: ``auto`` (the default decoded-frame cache: clips a backbone recipe
            trained on are not decoded again, and several backbones over the same videos
            decode them once), a cache folder, or ``decode``
            (:func:`movierep.video.frame_cache.frame_cache_from`).

    Returns:
        This worker's report.
    """
    if batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {batch_size}")
    spec = spec or clip_spec_from_checkpoint(backbone)
    if contextualizer is not None:
        read_config(contextualizer)  # a bad checkpoint fails before the long extraction
    where = dist.device(device)
    model = load_pretrained(backbone, map_location=where)
    report = extract_event_features(
        model,
        events,
        out,
        spec,
        batch_size=batch_size,
        device=where,
        source=source,
        shard=shard,
        frame_cache=frame_cache_from(frame_cache),
    )
    out = Path(out)
    if contextualizer is not None and dist.is_main() and out.is_file():
        from movierep.features.contextualize import contextualize

        table = contextualize(tables.read_table(out), contextualizer, where, source=out)
        tables.write_table(out, table)
    return report
