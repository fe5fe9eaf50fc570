"""Moderation clips from their own frames: E_scene over the clip as one scene, or E_fixed per frame.

Movies2Scenes §4.4 scores moderation on short clips (MCD: "a mean duration of 5 seconds"),
and its supplement §1.4 fixes what each encoder sees: "For the CLIP model, we used ViT-B/16
based visual encoder, and it takes the same 9 frames as the input to our model from each
video clip. We first extracted the embeddings with 512 dimensions from each frame and then
do an average pooling across all 9 frames". So every clip gives F = 9 frames, and

- ``mode="scene"`` (the scene encoder, "our model"): the F frames are one F-image scene
  input, (B, F, 3, H, W) through the ViT with interpolated positions
  (:class:`movierep.models.vit.ViT`): one embedding per clip;
- ``mode="frames"`` (E_fixed, CLIP's role): each frame alone, (B·F, 3, H, W), and the
  clip's feature is the mean of its F frame embeddings (not normalised before the mean;
  the supplement says average pooling, nothing more).

The frames are **evenly spaced inside** ``[start_time, end_time)``: the middles of F
equal parts, ``t_i = start + (i + ½)·(end − start)/F`` (:func:`frame_times`; the paper does
not say where its 9 frames fall). Each is the frame on screen at ``t_i``
(:meth:`movierep.video.decode.VideoReader.read_frames_at`), decoded at the shot keyframes'
height (240 p, MovieNet's ``keyf_240p``, like :func:`movierep.video.keyframes.write_keyframes`)
and given CLIP's evaluation view (:func:`movierep.data.shot_images.to_model_input`).

The clips are the corpus' ``moderation.parquet`` rows (``clip_id, movie_id, start_time,
end_time, label``), the video of each movie from its catalog. One job per movie through
:mod:`movierep.jobs` (resumable, shardable, failures recorded); the output, one row per
clip, is ``clip_id, movie_id, start_time, end_time, feature[D]`` (:func:`clip_features_schema`),
which :func:`movierep.tasks.protocols.moderation.run_moderation` reads by ``clip_id``.

Example:
    >>> extract_clip_features("runs/scenes/last", "corpus", "clips.parquet")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from movierep import dist, tables
from movierep.data.corpus import Corpus
from movierep.data.shot_images import to_model_input
from movierep.errors import UserError
from movierep.features.image_encoder import load_image_encoder
from movierep.jobs import Job, JobReport, run_into_table
from movierep.models.vit import CLIP_MEAN, CLIP_STD, ViT
from movierep.video.decode import open_video, size_at_height

Mode = Literal["scene", "frames"]
MODES: tuple[Mode, ...] = ("scene", "frames")

#: Frames per clip (Movies2Scenes supplement §1.4: "the same 9 frames").
NUM_FRAMES = 9

#: Decoded frame height, as the shot keyframes' (``movierep ingest shots``; MovieNet's 240 p).
FRAME_HEIGHT = 240


def clip_features_schema(dim: int) -> pa.Schema:
    """``clip_id, movie_id, start_time, end_time, feature[dim]``."""
    return pa.schema(
        [
            ("clip_id", pa.string()),
            ("movie_id", pa.string()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("feature", tables.embedding_type(dim)),
        ]
    )


def frame_times(start: float, end: float, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """F times evenly spaced inside ``[start, end)``: the middles of F equal parts.

    ``t_i = start + (i + ½)·(end − start)/F`` for i = 0..F−1, so ``start < t_0`` and
    ``t_{F−1} < end``, and the gaps between neighbours (and twice the margins) are equal.

    Returns:
        (F,) float64 seconds, increasing.

    Raises:
        UserError: ``end <= start`` or ``num_frames < 1``.

    Example:
        >>> frame_times(0.0, 9.0, 3).tolist()
        [1.5, 4.5, 7.5]
    """
    if num_frames < 1:
        raise UserError(f"frames per clip must be at least 1, got {num_frames}")
    if not end > start:
        raise UserError(f"a clip [{start:g}, {end:g}) has no duration")
    return start + (np.arange(num_frames) + 0.5) * (end - start) / num_frames


@torch.no_grad()
def embed_clip_frames(model: ViT, x: Tensor, mode: Mode) -> Tensor:
    """One embedding per clip from its F frames (see the module docstring).

    Args:
        model: the image / scene ViT (eval mode, on ``x``'s device).
        x: (B, F, 3, H, W) model input, frames in time order.
        mode: ``"scene"``: the F frames as one scene input; ``"frames"``: each frame alone,
            then the mean over F.

    Returns:
        (B, D) embeddings.
    """
    if mode == "scene":
        out: Tensor = model(x)  # (B, D)
        return out
    if mode == "frames":
        B, F = x.shape[:2]
        per_frame: Tensor = model(x.flatten(0, 1))  # (B·F, D)
        return per_frame.reshape(B, F, -1).mean(1)
    raise UserError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")


def embed_movie_clips(
    model: ViT,
    video: Path,
    starts: Sequence[float],
    ends: Sequence[float],
    *,
    mode: Mode,
    num_frames: int = NUM_FRAMES,
    height: int | None = FRAME_HEIGHT,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Embed M clips of one video from their own frames.

    Clips are decoded ``batch_size`` at a time in time order (runs of nearby frames share
    one seek), so memory holds at most ``batch_size · F`` frames.

    Args:
        model: the ViT (eval mode, on ``device``).
        video: the movie's video file.
        starts: (M,) clip starts, seconds.
        ends: (M,) clip ends (exclusive), seconds.
        mode: ``"scene"`` or ``"frames"``.
        num_frames: F.
        height: decode at this height (``None``: the video's own size).
        batch_size: clips per forward pass.
        device: where the model runs.

    Returns:
        (M, D) float32, in the order of ``starts``.
    """
    times = [frame_times(a, b, num_frames) for a, b in zip(starts, ends, strict=True)]
    order = np.argsort(np.asarray(starts, dtype=np.float64), kind="stable")
    out = np.zeros((len(times), model.embed_dim), dtype=np.float32)
    with open_video(video, size=size_at_height(video, height)) as reader:
        for j in range(0, len(order), batch_size):
            chunk = order[j : j + batch_size]
            frames = reader.read_frames_at(np.concatenate([times[i] for i in chunk]).tolist())
            frames = frames.reshape(len(chunk), num_frames, *frames.shape[1:])  # (b, F, H, W, 3)
            x = torch.stack(
                [to_model_input(f, model.image_size, mean=CLIP_MEAN, std=CLIP_STD) for f in frames]
            ).to(device)  # (b, F, 3, H, W)
            out[chunk] = embed_clip_frames(model, x, mode).float().cpu().numpy()
    return out


def check_clips(clips: pa.Table, source: str | Path, num_frames: int) -> None:
    """Refuse a clips table without its columns, with a repeated ``clip_id`` or an empty clip.

    Raises:
        UserError: naming ``source`` and the clip.
    """
    tables.require_columns(clips, ["clip_id", "movie_id", "start_time", "end_time"], source)
    ids = [str(c) for c in clips.column("clip_id").to_pylist()]
    seen: set[str] = set()
    for clip, a, b in zip(
        ids, clips.column("start_time").to_pylist(), clips.column("end_time").to_pylist(),
        strict=True,
    ):  # fmt: skip
        if clip in seen:
            raise UserError(f"{source}: clip {clip!r} appears twice")
        seen.add(clip)
        try:
            frame_times(a, b, num_frames)
        except UserError as err:
            raise UserError(f"{source}: clip {clip!r}: {err}") from None


def extract_clip_features(
    encoder: str | Path | ViT,
    corpus: str | Path,
    out: str | Path,
    *,
    mode: Mode = "scene",
    num_frames: int = NUM_FRAMES,
    clips: pa.Table | None = None,
    height: int | None = FRAME_HEIGHT,
    batch_size: int = 16,
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    show_progress: bool = True,
) -> JobReport:
    """Every moderation clip's feature from its own frames → a clip features table at ``out``.

    Args:
        encoder: CLIP file, ViT checkpoint folder, or a loaded ViT.
        corpus: the corpus folder (``moderation.parquet``, ``catalog.parquet``: the videos).
        out: the features table (``.parquet``); parts go to ``<out dir>/parts/<stem>/``
            (a rerun resumes there: give another ``out`` for another encoder or mode).
        mode: ``"scene"`` (E_scene: the F frames as one scene) or ``"frames"`` (E_fixed:
            each frame alone, then the mean).
        num_frames: F, frames per clip (9: the supplement's).
        clips: ``clip_id, movie_id, start_time, end_time`` rows to embed (default: the
            corpus' ``moderation.parquet``); the movies must be in the catalog.
        height: decode at this height (``None``: the video's size).
        batch_size: clips per forward pass.
        device: ``auto``, ``cpu``, ``cuda``...
        shard: ``(i, n)``; default the torchrun rank.
        show_progress: progress bar.

    Returns:
        This worker's report; ``out`` is written once every movie is accounted for.

    Raises:
        UserError: an unknown mode, a bad clips table, a movie missing from the catalog or
            an ``out`` that is not ``.parquet``.
    """
    out = Path(out)
    if out.suffix != ".parquet":
        raise UserError(f"{out}: the features file must end in .parquet")
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    data = Corpus(corpus)
    source: str | Path = "clips table"
    if clips is None:
        clips, source = data.moderation, data.root / "moderation.parquet"
    check_clips(clips, source, num_frames)
    rows = tables.row_groups(clips)
    videos = {movie: data.movie_path(movie) for movie in rows}
    where = dist.device(device)
    model = encoder if isinstance(encoder, ViT) else load_image_encoder(encoder, where)
    model = model.to(where).eval()
    schema = clip_features_schema(model.embed_dim)
    ids = [str(c) for c in clips.column("clip_id").to_pylist()]
    t0 = np.asarray(clips.column("start_time").to_numpy(), dtype=np.float64)
    t1 = np.asarray(clips.column("end_time").to_numpy(), dtype=np.float64)

    def work(job: Job) -> pa.Table:
        r = rows[job.id]
        feats = embed_movie_clips(
            model, job.path, t0[r].tolist(), t1[r].tolist(), mode=mode,
            num_frames=num_frames, height=height, batch_size=batch_size, device=where,
        )  # fmt: skip
        return pa.Table.from_pydict(
            {
                "clip_id": [ids[i] for i in r],
                "movie_id": [job.id] * len(r),
                "start_time": t0[r],
                "end_time": t1[r],
                "feature": tables.embedding_array(feats),
            },
            schema=schema,
        )

    jobs = [Job(id=movie, path=path) for movie, path in videos.items()]
    return run_into_table(jobs, work, out, shard, schema=schema, show_progress=show_progress)
