"""E_scene: one scene-encoder embedding per shot range (Movies2Scenes §3.2.1, §3.3).

The ViT whose position embeddings are interpolated to n·k frames takes a scene of n
shots × 1 keyframe, or a single shot ("our scene encoder can conveniently take a single
shot as input", §4.3.2); ``scene_features`` holds one embedding per shot range
(``movie_id, start_shot, end_shot, start_time, end_time, feature``). The ranges are a
table's rows (shots or times) or consecutive windows of the encoder's own shots per scene
(:func:`shots_per_scene_of`: the ``shots_per_scene`` its checkpoint states).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from movierep import dist, tables
from movierep.checkpoint import read_inputs, resolve_input
from movierep.data.shot_images import ShotImages
from movierep.errors import UserError
from movierep.features.image_encoder import (
    embed_scenes,
    load_image_encoder,
    run_per_movie,
    shot_times,
)
from movierep.jobs import Job, JobReport
from movierep.models.vit import ViT

#: Cap on the shots one scene embedding sees; longer ranges are subsampled evenly.
MAX_SCENE_SHOTS = 32

#: Shots per scene of an encoder that states none (a CLIP file, an image ViT): the paper's.
PAPER_SHOTS_PER_SCENE = 9


def shots_per_scene_of(encoder: str | Path | ViT, given: int | None = None) -> int:
    """Shots per scene for ``encoder``: its checkpoint's ``shots_per_scene``, else ``given``.

    Every path that embeds scenes (``extract scenes``, ``embed``, ``embed_video``, the
    store's queries) takes its scene length from here, so a 4-shot encoder embeds 4-shot
    scenes.

    Args:
        encoder: a scene encoder checkpoint folder; a CLIP file or a loaded ViT states none.
        given: the user's ``--shots-per-scene`` / ``shots_per_scene=`` (``None``: not given).

    Returns:
        Shots per scene; :data:`PAPER_SHOTS_PER_SCENE` when neither states one.

    Raises:
        UserError: ``given`` contradicts the checkpoint, or is below 1.
    """
    folder = not isinstance(encoder, ViT) and Path(encoder).is_dir()
    stated = read_inputs(encoder).shots_per_scene if folder else None  # type: ignore[arg-type]
    where = None if isinstance(encoder, ViT) else encoder
    shots = int(
        resolve_input(
            where, "shots_per_scene", "--shots-per-scene", given, stated, PAPER_SHOTS_PER_SCENE
        )
    )
    if shots < 1:
        raise UserError(f"shots per scene must be at least 1, got {shots}")
    return shots


def spread(start: int, end: int, limit: int = MAX_SCENE_SHOTS) -> list[int]:
    """The shots ``[start, end)``, or ``limit`` of them evenly spaced when there are more."""
    if end - start <= limit:
        return list(range(start, end))
    return [int(v) for v in np.linspace(start, end - 1, limit).round()]


def scene_features_schema(dim: int) -> pa.Schema:
    """``movie_id, start_shot, end_shot (exclusive), start_time, end_time, feature[dim]``."""
    return pa.schema(
        [
            ("movie_id", pa.string()),
            ("start_shot", pa.int32()),
            ("end_shot", pa.int32()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("feature", tables.embedding_type(dim)),
        ]
    )


def extract_scene_features(
    encoder: str | Path | ViT,
    shots_dir: str | Path,
    out: str | Path,
    *,
    ranges: pa.Table | None = None,
    shots_per_scene: int | None = None,
    max_shots: int = MAX_SCENE_SHOTS,
    batch_size: int = 16,
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    show_progress: bool = True,
) -> JobReport:
    """E_scene over shot ranges → ``scene_features`` at ``out`` (``movierep extract scenes``).

    Args:
        encoder: the scene encoder (``train scenes`` checkpoint), or any image ViT.
        shots_dir: the shots folder.
        out: the features table.
        ranges: ``movie_id, start_shot, end_shot`` (exclusive) rows, or ``movie_id,
            start_time, end_time`` (the shots whose middle lies inside, at least the one
            under the range's middle); default: consecutive windows of ``shots_per_scene`` shots.
        shots_per_scene: shots per default window; ``None``: the encoder's own
            (:func:`shots_per_scene_of`), and a value that contradicts it is refused.
        max_shots: most shots one scene embedding sees: a longer range is subsampled evenly
            (:func:`spread`). A scene encoder's own shots per scene gives it the input it
            was trained on (Movies2Scenes tags MovieNet places from 9-shot scenes).
        batch_size: scenes per forward pass.
        device: ``auto``, ``cpu``, ``cuda``...
        shard: ``(i, n)``; default the torchrun rank.
        show_progress: progress bar.

    Returns:
        This worker's report.
    """
    shots_dir, out = Path(shots_dir), Path(out)
    shots_per_scene = shots_per_scene_of(encoder, shots_per_scene)
    where = dist.device(device)
    model = encoder if isinstance(encoder, ViT) else load_image_encoder(encoder, where)
    model = model.to(where).eval()
    times = shot_times(shots_dir)
    wanted = None if ranges is None else sorted(set(ranges.column("movie_id").to_pylist()))
    images = ShotImages(shots_dir, movie_ids=wanted)
    per_movie = shot_ranges(ranges, images.num_shots, times, shots_per_scene)
    schema = scene_features_schema(model.embed_dim)

    def work(job: Job) -> pa.Table:
        spans = per_movie.get(job.id, [])
        feats = embed_scenes(
            model,
            images,
            job.id,
            [spread(a, b, max_shots) for a, b in spans],
            batch_size=batch_size,
            device=where,
        )
        return pa.Table.from_pydict(
            {
                "movie_id": [job.id] * len(spans),
                "start_shot": [a for a, _ in spans],
                "end_shot": [b for _, b in spans],
                "start_time": [times[(job.id, a)][0] for a, _ in spans],
                "end_time": [times[(job.id, b - 1)][1] for _, b in spans],
                "feature": tables.embedding_array(feats),
            },
            schema=schema,
        )

    return run_per_movie(images, list(per_movie), work, out, schema, shard, show_progress)


def shot_ranges(
    ranges: pa.Table | None,
    num_shots: dict[str, int],
    times: dict[tuple[str, int], tuple[float, float]],
    shots_per_scene: int,
) -> dict[str, list[tuple[int, int]]]:
    """Shot ranges ``[start, end)`` per movie: a ranges table's, or consecutive scenes.

    Without a ranges table (shots or times) the scenes are consecutive windows of
    ``shots_per_scene`` shots.

    Raises:
        UserError: a range names a movie without shots, or has neither shot nor time columns.
    """
    out: dict[str, list[tuple[int, int]]] = {}
    if ranges is None:
        if shots_per_scene < 1:
            raise UserError(f"shots per scene must be positive, got {shots_per_scene}")
        for movie, n in num_shots.items():
            step = shots_per_scene
            out[movie] = [(a, min(a + step, n)) for a in range(0, n, step)]
        return out
    names = set(ranges.column_names)
    middles: dict[str, np.ndarray] = {}
    for i, row in enumerate(ranges.to_pylist()):
        movie = row["movie_id"]
        if movie not in num_shots:
            raise UserError(f"ranges row {i}: movie {movie!r} has no shots")
        if {"start_shot", "end_shot"} <= names:
            a, b = int(row["start_shot"]), int(row["end_shot"])
        elif {"start_time", "end_time"} <= names:
            if movie not in middles:
                middles[movie] = np.array(
                    [sum(times[(movie, s)]) / 2 for s in range(num_shots[movie])]
                )
            a, b = shots_in_time(middles[movie], row["start_time"], row["end_time"])
        else:
            raise UserError("ranges need start_shot/end_shot or start_time/end_time columns")
        if not 0 <= a < b <= num_shots[movie]:
            raise UserError(f"ranges row {i}: shots [{a}, {b}) outside movie {movie!r}")
        out.setdefault(movie, []).append((a, b))
    return out


def shots_in_time(middles: np.ndarray, start: float, end: float) -> tuple[int, int]:
    """The shots ``[a, b)`` whose middle lies in ``[start, end)`` (at least one shot).

    Args:
        middles: (n,) middle time of every shot of the movie, in shot order.
        start: range start (seconds).
        end: range end (seconds).
    """
    inside = np.flatnonzero((middles >= start) & (middles < end))
    if len(inside) == 0:
        nearest = int(np.argmin(np.abs(middles - (start + end) / 2)))
        return nearest, nearest + 1
    return int(inside[0]), int(inside[-1]) + 1


def concatenate_features(parts: Sequence[pa.Table]) -> pa.Table:
    """Join feature tables of the same rows side by side: ``[f₁ ‖ f₂ ‖ …]`` per row.

    Movies2Scenes Table 3's "genre+synopsis" row concatenates the embeddings of two scene
    encoders, each trained with one similarity source.

    Raises:
        UserError: the tables do not hold the same rows in the same order.
    """
    if not parts:
        raise UserError("no feature tables to concatenate")
    keys = [c for c in parts[0].column_names if c != "feature"]
    for part in parts[1:]:
        if part.select(keys) != parts[0].select(keys):
            raise UserError("feature tables to concatenate hold different rows")
    joined = np.concatenate([tables.to_numpy_embeddings(p.column("feature")) for p in parts], 1)
    base = parts[0].drop_columns(["feature"])
    return base.append_column(
        pa.field("feature", tables.embedding_type(joined.shape[1])), tables.embedding_array(joined)
    )
