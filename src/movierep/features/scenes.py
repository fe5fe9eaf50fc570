"""Shot and scene embeddings from an image ViT: E_fixed per shot, E_scene per shot range.

Movies2Scenes (Chen et al. 2023) runs one image encoder at two levels:

- **E_fixed** (§3.1, §4.2): "Representations of all shots are first extracted using the
  visual encoder of pre-trained CLIP": one keyframe per shot, run once and cached as a
  ``shot_features`` table (``movie_id, shot_index, start_time, end_time, feature``) that
  movie-similarity learning and pair selection read.
- **E_scene** (§3.2.1, §3.3): the ViT whose position embeddings are interpolated to n·k
  frames takes a scene of n shots × 1 keyframe, or a single shot ("our scene encoder can
  conveniently take a single shot as input", §4.3.2); ``scene_features`` holds one
  embedding per shot range (``movie_id, start_shot, end_shot, start_time, end_time,
  feature``).

Both accept any image encoder behind one interface (:func:`load_image_encoder`): a CLIP
release file in OpenAI's layout, or a movierep checkpoint folder (``train image-encoder``,
``train scenes``). Images get CLIP's evaluation view (short side resized, centre crop to
the encoder's input size, CLIP's mean and std). Work runs one job per movie through
:mod:`movierep.jobs`: resumable, shardable (``--shard i/n`` or torchrun ranks), failures
recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from movierep import dist, tables
from movierep.data.shot_images import ShotImages, to_model_input
from movierep.errors import UserError
from movierep.features.shot_store import movie_sized_groups, regroup_shot_features
from movierep.jobs import Job, JobReport, run_into_table
from movierep.models import load_pretrained
from movierep.models.vit import CLIP_MEAN, CLIP_STD, ViT, load_clip_visual

#: Cap on the shots one scene embedding sees; longer ranges are subsampled evenly.
MAX_SCENE_SHOTS = 32


def load_image_encoder(path: str | Path, device: torch.device | str = "cpu") -> ViT:
    """E_fixed / E_scene from a CLIP file (OpenAI layout) or a movierep ViT checkpoint folder.

    Raises:
        UserError: the path is neither, or holds another architecture.
    """
    path = Path(path)
    if path.is_dir():
        model = load_pretrained(path, map_location=device)
    elif path.is_file():
        model = load_clip_visual(path).to(device)
    else:
        raise UserError(f"{path}: no such image encoder (a CLIP .pt file or a checkpoint folder)")
    if not isinstance(model, ViT):
        raise UserError(f"{path}: not an image ViT ({type(model).__name__})")
    return model.eval()


def shot_features_schema(dim: int) -> pa.Schema:
    """``movie_id, shot_index, start_time, end_time, feature[dim]``."""
    return pa.schema(
        [
            ("movie_id", pa.string()),
            ("shot_index", pa.int32()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("feature", tables.embedding_type(dim)),
        ]
    )


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


@torch.no_grad()
def embed_scenes(
    model: ViT,
    images: ShotImages,
    movie_id: str,
    scenes: Sequence[Sequence[int]],
    *,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Embed scenes of one movie, each given as its shot indices (one keyframe per shot).

    Scenes of equal length are batched together; a one-shot scene is a single image.

    Args:
        model: the image / scene ViT (eval mode, on ``device``).
        images: the keyframes.
        movie_id: the movie.
        scenes: M lists of shot indices (n_i shots each).
        batch_size: scenes per forward pass.
        device: where the model runs.

    Returns:
        (M, D) float32 embeddings, in the order of ``scenes``.
    """
    out = np.zeros((len(scenes), model.embed_dim), dtype=np.float32)
    by_length: dict[int, list[int]] = {}
    for i, shots in enumerate(scenes):
        by_length.setdefault(len(shots), []).append(i)
    size = model.image_size
    for members in by_length.values():
        for j in range(0, len(members), batch_size):
            chunk = members[j : j + batch_size]
            x = torch.stack(
                [
                    to_model_input(
                        images.scene(movie_id, scenes[i]), size, mean=CLIP_MEAN, std=CLIP_STD
                    )
                    for i in chunk
                ]
            ).to(device)  # (b, n, 3, H, W)
            if x.shape[1] == 1:
                x = x[:, 0]
            out[chunk] = model(x).float().cpu().numpy()
    return out


def spread(start: int, end: int, limit: int = MAX_SCENE_SHOTS) -> list[int]:
    """The shots ``[start, end)``, or ``limit`` of them evenly spaced when there are more."""
    if end - start <= limit:
        return list(range(start, end))
    return [int(v) for v in np.linspace(start, end - 1, limit).round()]


def shot_times(shots_dir: Path) -> dict[tuple[str, int], tuple[float, float]]:
    """``(movie_id, shot_index) → (start_time, end_time)`` of a shots folder's shots."""
    path = shots_dir / "shots.parquet"
    if not path.is_file():
        raise UserError(f"{path}: no shots table (run `movierep shots` first)")
    table = tables.read_table(path, ["movie_id", "shot_index", "start_time", "end_time"])
    return {
        (m, s): (a, b)
        for m, s, a, b in zip(
            table.column("movie_id").to_pylist(),
            table.column("shot_index").to_pylist(),
            table.column("start_time").to_pylist(),
            table.column("end_time").to_pylist(),
            strict=True,
        )
    }


def _run_per_movie(
    images: ShotImages,
    movie_ids: Sequence[str],
    work: Callable[[Job], pa.Table],
    out: Path,
    schema: pa.Schema,
    shard: tuple[int, int] | None,
    show_progress: bool,
) -> JobReport:
    """One job per movie into ``out`` (parts, resume, shards, failures: :mod:`movierep.jobs`)."""
    if out.suffix != ".parquet":
        raise UserError(f"{out}: the features file must end in .parquet")
    jobs = [Job(id=m, path=images.root / "keyframes" / m) for m in movie_ids]
    return run_into_table(jobs, work, out, shard, schema=schema, show_progress=show_progress)


def extract_shot_features(
    encoder: str | Path | ViT,
    shots_dir: str | Path,
    out: str | Path,
    *,
    movie_ids: Sequence[str] | None = None,
    batch_size: int = 64,
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    show_progress: bool = True,
) -> JobReport:
    """E_fixed over every shot's keyframe of a shots folder → ``shot_features`` at ``out``.

    Args:
        encoder: CLIP file, ViT checkpoint folder, or a loaded ViT.
        shots_dir: a ``movierep shots`` folder (``shots.parquet``, ``keyframes.parquet``).
        out: the features table (``.parquet``); parts go to ``<out dir>/parts/<stem>/``.
        movie_ids: only these movies (default: every movie with keyframes).
        batch_size: images per forward pass.
        device: ``auto``, ``cpu``, ``cuda``...
        shard: ``(i, n)``; default the torchrun rank.
        show_progress: progress bar.

    Returns:
        This worker's report; ``out`` is written once every movie is accounted for, with
        whole movies per row group (:func:`.shot_store.regroup_shot_features`), so that
        :class:`.shot_store.ShotFeatureStore` reads a movie fast.
    """
    shots_dir, out = Path(shots_dir), Path(out)
    where = dist.device(device)
    model = encoder if isinstance(encoder, ViT) else load_image_encoder(encoder, where)
    model = model.to(where).eval()
    images = ShotImages(shots_dir, movie_ids=movie_ids)
    times = shot_times(shots_dir)
    schema = shot_features_schema(model.embed_dim)

    def work(job: Job) -> pa.Table:
        shots = list(range(images.num_shots[job.id]))
        feats = embed_scenes(
            model, images, job.id, [[s] for s in shots], batch_size=batch_size, device=where
        )
        return pa.Table.from_pydict(
            {
                "movie_id": [job.id] * len(shots),
                "shot_index": shots,
                "start_time": [times[(job.id, s)][0] for s in shots],
                "end_time": [times[(job.id, s)][1] for s in shots],
                "feature": tables.embedding_array(feats),
            },
            schema=schema,
        )

    report = _run_per_movie(images, images.movie_ids, work, out, schema, shard, show_progress)
    if out.is_file() and dist.is_main() and not movie_sized_groups(out):
        regroup_shot_features(out, out)  # whole movies per row group: fast per-movie reads
    return report


def extract_scene_features(
    encoder: str | Path | ViT,
    shots_dir: str | Path,
    out: str | Path,
    *,
    ranges: pa.Table | None = None,
    window: int = 9,
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
            under the range's middle); default: consecutive windows of ``window`` shots.
        window: shots per default window.
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
    where = dist.device(device)
    model = encoder if isinstance(encoder, ViT) else load_image_encoder(encoder, where)
    model = model.to(where).eval()
    times = shot_times(shots_dir)
    wanted = None if ranges is None else sorted(set(ranges.column("movie_id").to_pylist()))
    images = ShotImages(shots_dir, movie_ids=wanted)
    per_movie = shot_ranges(ranges, images.num_shots, times, window)
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

    return _run_per_movie(images, list(per_movie), work, out, schema, shard, show_progress)


def shot_ranges(
    ranges: pa.Table | None,
    num_shots: dict[str, int],
    times: dict[tuple[str, int], tuple[float, float]],
    window: int,
) -> dict[str, list[tuple[int, int]]]:
    """Shot ranges ``[start, end)`` per movie from a ranges table (shots or times), or windows.

    Raises:
        UserError: a range names a movie without shots, or has neither shot nor time columns.
    """
    out: dict[str, list[tuple[int, int]]] = {}
    if ranges is None:
        if window < 1:
            raise UserError(f"--window must be positive, got {window}")
        for movie, n in num_shots.items():
            out[movie] = [(a, min(a + window, n)) for a in range(0, n, window)]
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


def movie_features(shot_features: pa.Table) -> dict[str, Tensor]:
    """A ``shot_features`` table as movie id → (n, D) features, row i = shot i.

    Every movie at once (with the table, ~3.5× the features' bytes at its peak): for small
    tables. A catalog is read movie by movie through
    :class:`movierep.features.shot_store.ShotFeatureStore`.

    Raises:
        UserError: a movie's shot indices are not 0 .. n−1 (a row's position must be its shot).
    """
    feats = tables.to_numpy_embeddings(shot_features.column("feature"))
    shots = shot_features.column("shot_index").to_numpy()
    out: dict[str, Tensor] = {}
    for movie, rows in sorted(tables.row_groups(shot_features).items()):
        rows = rows[np.argsort(shots[rows], kind="stable")]
        if not np.array_equal(shots[rows], np.arange(len(rows))):
            raise UserError(
                f"shot features of movie {movie!r}: shot indices are not 0..{len(rows) - 1}"
            )
        out[movie] = torch.from_numpy(feats[rows].copy())
    return out


def pool_shot_features(
    shot_features: pa.Table, spans: dict[str, list[tuple[int, int]]]
) -> dict[str, np.ndarray]:
    """E_fixed for shot ranges: the mean of their shots' features (the CLIP baseline rows).

    Returns:
        movie id → (M, D) array, one row per span in order.
    """
    feats = movie_features(shot_features)
    return {
        movie: np.stack([feats[movie][a:b].mean(0).numpy() for a, b in sp])
        for movie, sp in spans.items()
    }


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
