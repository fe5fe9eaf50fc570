"""The encoder of each store level, and one ingested movie's rows at that level.

Each level is embedded by the function its feature stage uses, so a stored embedding is
the one ``movierep extract`` would give for the same item:

- ``event``: the backbone over each 2 s event's clip
  (:func:`movierep.features.extract.video_event_features`: centred clip, evaluation view),
  optionally followed by the TxE contextualizer
  (:func:`movierep.features.contextualize.contextualize`: the event's output in a window
  of N events centred on it);
- ``shot``: E_fixed over each shot's middle keyframe, ``scene``: E_scene over windows of
  ``shots_per_scene`` consecutive shots, one keyframe per shot
  (:func:`movierep.features.image_encoder.embed_scenes` over
  :class:`~movierep.data.shot_images.ShotImages`; Movies2Scenes §3.3, §4.3.2).

Every level's encoder is recorded in ``store.json`` (:class:`movierep.store.layout.LevelInfo`)
by its architecture, its path and ``checkpoint_id``, the first 16 hex of the sha256 of its
weights file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import nn

from movierep import tables
from movierep.checkpoint import MODEL, read_config, read_inputs
from movierep.data.shot_images import ShotImages
from movierep.errors import UserError
from movierep.features.contextualize import CONTEXT_COLUMN, contextualize
from movierep.features.extract import (
    ClipSpec,
    clip_spec_from_checkpoint,
    features_table,
    video_event_features,
)
from movierep.features.image_encoder import embed_scenes, load_image_encoder
from movierep.features.scene_features import shot_ranges, shots_per_scene_of, spread
from movierep.models import load_pretrained
from movierep.models.txe import TxE
from movierep.models.vit import ViT
from movierep.store.layout import LevelInfo, check_level, keyframes_dir, level_table
from movierep.video.damage import DecodeDamage
from movierep.video.frame_cache import FrameCache, frame_cache_from
from movierep.video.keyframes import SHOT_IMAGE_K, keyframe_name


def checkpoint_id(path: str | Path) -> str:
    """First 16 hex of the sha256 of a checkpoint's weights (``model.safetensors``, or the file).

    Raises:
        UserError: no weights file there.
    """
    path = Path(path)
    weights = path / MODEL if path.is_dir() else path
    if not weights.is_file():
        raise UserError(f"{weights}: no weights file to identify the checkpoint by")
    digest = hashlib.sha256()
    with weights.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class EventEncoder:
    """The event level's encoder: a clip backbone, optionally followed by a TxE.

    Attributes:
        backbone: (B, C, T, S, S') -> (B, D) clip encoder, eval mode.
        spec: the clip shape the backbone was trained with.
        txe: the contextualizer, or ``None`` for backbone features.
        token_stride: seconds between the TxE's tokens (``None``: consecutive events).
        info: what ``store.json`` records.
        frame_cache: read the clips from this decoded-frame cache (None: decode the file).
    """

    backbone: nn.Module
    spec: ClipSpec
    txe: TxE | None
    token_stride: float | None
    info: LevelInfo
    frame_cache: FrameCache | None = None


@dataclass(frozen=True)
class ImageEncoder:
    """The shot or scene level's encoder: an image / scene ViT (E_fixed or E_scene).

    Attributes:
        model: the ViT, eval mode.
        info: what ``store.json`` records (``shots_per_scene`` for scenes).
    """

    model: ViT
    info: LevelInfo


Encoder = EventEncoder | ImageEncoder


def load_event_encoder(
    backbone: str | Path, contextualizer: str | Path | None, device: torch.device
) -> EventEncoder:
    """Load a backbone checkpoint (and a TxE checkpoint) as the event level's encoder.

    Raises:
        UserError: a path is not a checkpoint, the contextualizer is not a TxE, or its
            input size is not the backbone's D.
    """
    meta = read_config(backbone)
    model = load_pretrained(backbone, map_location=device)
    spec = clip_spec_from_checkpoint(backbone)
    with torch.no_grad():  # D of whatever the backbone returns, as extraction uses it
        probe_clip = torch.zeros(1, 3, spec.num_frames, spec.crop_size, spec.crop_size)
        dim = int(model(probe_clip.to(device)).shape[-1])
    info = LevelInfo(meta["arch"], str(Path(backbone).resolve()), checkpoint_id(backbone), dim)
    if contextualizer is None:
        return EventEncoder(model, spec, None, None, info)
    txe_meta = read_config(contextualizer)
    txe = load_pretrained(contextualizer, map_location=device)
    if not isinstance(txe, TxE):
        raise UserError(f"{contextualizer}: not a TxE checkpoint (arch {txe_meta['arch']!r})")
    if txe.input_dim != dim:
        raise UserError(
            f"{contextualizer}: the TxE takes D={txe.input_dim}, "
            f"the backbone {backbone} gives D={dim}"
        )
    stride = read_inputs(contextualizer).token_stride
    info = replace(
        info,
        encoder=f"{info.encoder}+txe",
        checkpoint_id=f"{info.checkpoint_id}+{checkpoint_id(contextualizer)}",
        dim=txe.output_dim,
        contextualizer=str(Path(contextualizer).resolve()),
    )
    return EventEncoder(model, spec, txe, stride, info)


def load_level_image_encoder(
    path: str | Path, device: torch.device, shots_per_scene: int | None = None
) -> ImageEncoder:
    """Load E_fixed (``shots_per_scene=None``) or E_scene: a ViT checkpoint folder or CLIP file."""
    model = load_image_encoder(path, device)
    arch = "vit" if Path(path).is_dir() else "clip_vit"
    info = LevelInfo(
        arch, str(Path(path).resolve()), checkpoint_id(path), model.embed_dim,
        shots_per_scene=shots_per_scene,
    )  # fmt: skip
    return ImageEncoder(model, info)


def load_encoders(
    levels: Sequence[str],
    *,
    event_checkpoint: str | Path | None = None,
    contextualizer: str | Path | None = None,
    shot_encoder: str | Path | None = None,
    scene_encoder: str | Path | None = None,
    shots_per_scene: int | None = None,
    device: torch.device | str = "cpu",
    frame_cache: str = "decode",
) -> dict[str, Encoder]:
    """Load the encoder of every level in ``levels``.

    ``shots_per_scene``: shots per scene; ``None`` takes the scene encoder's own
    (``shots_per_scene`` of its checkpoint, :func:`shots_per_scene_of`).

    ``frame_cache``: where the event level reads its clips (``decode``: from each file, one
    sequential decode; ``auto`` or a folder: the decoded-frame cache, worth it when the
    videos were decoded into it before, e.g. by training or ``extract events``).

    Raises:
        UserError: a requested level has no encoder, or ``shots_per_scene`` < 1.
    """
    device = torch.device(device)
    given = {"event": event_checkpoint, "shot": shot_encoder, "scene": scene_encoder}
    flags = {"event": "--backbone", "shot": "--shot-encoder", "scene": "--scene-encoder"}
    for level in levels:
        if given[check_level(level)] is None:
            raise UserError(f"level {level!r} needs an encoder ({flags[level]} CKPT)")
    encoders: dict[str, Encoder] = {}
    if "event" in levels and event_checkpoint is not None:
        event = load_event_encoder(event_checkpoint, contextualizer, device)
        encoders["event"] = replace(event, frame_cache=frame_cache_from(frame_cache))
    if "shot" in levels and shot_encoder is not None:
        encoders["shot"] = load_level_image_encoder(shot_encoder, device)
    if "scene" in levels and scene_encoder is not None:
        shots = shots_per_scene_of(scene_encoder, shots_per_scene)
        encoders["scene"] = load_level_image_encoder(scene_encoder, device, shots)
    return encoders


@dataclass(frozen=True)
class Ingested:
    """One movie after ingestion.

    Attributes:
        movie_id: the movie.
        video: its file.
        events: its 2 s events (:data:`movierep.tables.EVENTS`).
        shots: its shots (:data:`movierep.tables.SHOTS`), or ``None`` when not detected.
        images: its shot keyframes in the work folder (``None`` without shots).
        times: ``(movie_id, shot) -> (start, end)`` seconds.
        damage: what undecodable packets took from the video while its shots were
            detected, or ``None``.
    """

    movie_id: str
    video: Path
    events: pa.Table
    shots: pa.Table | None = None
    images: ShotImages | None = None
    times: dict[tuple[str, int], tuple[float, float]] | None = None
    damage: DecodeDamage | None = None


def _keyframe(movie_id: str, shot: int) -> str:
    """Path, relative to the store (and to the work folder), of a shot's middle keyframe."""
    return (keyframes_dir("", movie_id) / keyframe_name(shot, SHOT_IMAGE_K)).as_posix()


def item_at(starts: Sequence[float], seconds: float) -> int:
    """Index of the last item starting at or before ``seconds`` (items in time order)."""
    return max(int(np.searchsorted(np.asarray(starts), seconds, side="right")) - 1, 0)


def embed_events(
    encoder: EventEncoder,
    movie: Ingested,
    indices: Sequence[int] | None = None,
    *,
    device: torch.device | str = "cpu",
) -> pa.Table:
    """The event rows of a movie: backbone features (or their TxE context features).

    Args:
        encoder: the event encoder.
        movie: the ingested movie.
        indices: only these events (default: all). With a contextualizer every event is
            still encoded, since each event's context is its neighbours.
        device: where the models run.

    Returns:
        M rows in :func:`movierep.store.layout.store_schema` (D = ``encoder.info.dim``).
    """
    rows = movie.events.to_pylist()
    chosen = list(range(len(rows))) if indices is None else list(indices)
    if encoder.txe is None:
        rows = [rows[i] for i in chosen]
    feats = video_event_features(
        encoder.backbone,
        movie.video,
        [(r["start_time"], r["end_time"]) for r in rows],
        encoder.spec,
        device=device,
        frame_cache=encoder.frame_cache,
    )  # (M or N, D_backbone)
    if encoder.txe is not None:
        table = contextualize(
            features_table(rows, feats),
            encoder.txe,
            device,
            token_stride=encoder.token_stride,
            source=movie.video,
        )
        feats = tables.to_numpy_embeddings(table[CONTEXT_COLUMN])[chosen]
        rows = [rows[i] for i in chosen]
    keyframes: list[str | None] = [None] * len(rows)
    if movie.shots is not None:
        starts = movie.shots["start_time"].to_pylist()
        keyframes = [
            _keyframe(movie.movie_id, item_at(starts, (r["start_time"] + r["end_time"]) / 2))
            for r in rows
        ]
    return level_table(
        movie.movie_id,
        "event",
        encoder.info,
        item_index=[r["event_index"] for r in rows],
        start_time=[r["start_time"] for r in rows],
        end_time=[r["end_time"] for r in rows],
        embeddings=feats,
        keyframe=keyframes,
    )


def embed_shots(
    encoder: ImageEncoder,
    movie: Ingested,
    indices: Sequence[int] | None = None,
    *,
    device: torch.device | str = "cpu",
) -> pa.Table:
    """The shot rows of a movie: E_fixed of each shot's middle keyframe.

    Returns:
        M rows (``start_shot = item_index``, ``end_shot = item_index + 1``).
    """
    images, times = _shots_of(movie)
    shots = list(range(images.num_shots[movie.movie_id])) if indices is None else list(indices)
    feats = embed_scenes(encoder.model, images, movie.movie_id, [[s] for s in shots], device=device)
    return level_table(
        movie.movie_id,
        "shot",
        encoder.info,
        item_index=shots,
        start_time=[times[(movie.movie_id, s)][0] for s in shots],
        end_time=[times[(movie.movie_id, s)][1] for s in shots],
        embeddings=feats,
        start_shot=shots,
        end_shot=[s + 1 for s in shots],
        keyframe=[_keyframe(movie.movie_id, s) for s in shots],
    )


def scene_spans(movie: Ingested, shots_per_scene: int) -> list[tuple[int, int]]:
    """The scenes of a movie: consecutive windows ``[a, b)`` of ``shots_per_scene`` shots."""
    images, times = _shots_of(movie)
    n = images.num_shots[movie.movie_id]
    return shot_ranges(None, {movie.movie_id: n}, times, shots_per_scene)[movie.movie_id]


def embed_scene_windows(
    encoder: ImageEncoder,
    movie: Ingested,
    indices: Sequence[int] | None = None,
    *,
    device: torch.device | str = "cpu",
) -> pa.Table:
    """The scene rows of a movie: E_scene of each window of ``shots_per_scene`` shots.

    Each scene is its shots' middle keyframes in order (at most
    :data:`movierep.features.scene_features.MAX_SCENE_SHOTS`), as ``movierep extract scenes``.

    Returns:
        M rows; a scene's keyframe is its middle shot's.
    """
    images, times = _shots_of(movie)
    spans = scene_spans(movie, encoder.info.shots_per_scene or 1)
    chosen = list(range(len(spans))) if indices is None else list(indices)
    picked = [spans[i] for i in chosen]
    feats = embed_scenes(
        encoder.model, images, movie.movie_id, [spread(a, b) for a, b in picked], device=device
    )
    m = movie.movie_id
    return level_table(
        m,
        "scene",
        encoder.info,
        item_index=chosen,
        start_time=[times[(m, a)][0] for a, _ in picked],
        end_time=[times[(m, b - 1)][1] for _, b in picked],
        embeddings=feats,
        start_shot=[a for a, _ in picked],
        end_shot=[b for _, b in picked],
        keyframe=[_keyframe(m, (a + b - 1) // 2) for a, b in picked],
    )


def item_starts(level: str, movie: Ingested, shots_per_scene: int = 9) -> list[float]:
    """Start time (s) of every item of a level of an ingested movie, in item order."""
    if level == "event":
        return [float(t) for t in movie.events["start_time"].to_pylist()]
    _, times = _shots_of(movie)
    if level == "shot":
        return [times[(movie.movie_id, s)][0] for s in range(len(times))]
    return [times[(movie.movie_id, a)][0] for a, _ in scene_spans(movie, shots_per_scene)]


def _shots_of(movie: Ingested) -> tuple[ShotImages, dict[tuple[str, int], tuple[float, float]]]:
    if movie.images is None or movie.times is None:
        raise ValueError(f"{movie.video}: ingested without shots")
    return movie.images, movie.times


def embed_level(
    level: str,
    encoder: Encoder,
    movie: Ingested,
    indices: Sequence[int] | None = None,
    *,
    device: torch.device | str = "cpu",
) -> pa.Table:
    """The rows of one level of one ingested movie (all items, or ``indices``)."""
    if level == "event" and isinstance(encoder, EventEncoder):
        return embed_events(encoder, movie, indices, device=device)
    if level == "shot" and isinstance(encoder, ImageEncoder):
        return embed_shots(encoder, movie, indices, device=device)
    if level == "scene" and isinstance(encoder, ImageEncoder):
        return embed_scene_windows(encoder, movie, indices, device=device)
    raise ValueError(f"no {type(encoder).__name__} for level {check_level(level)!r}")
