"""E_fixed: one image-encoder feature per shot keyframe (Movies2Scenes §3.1, §4.2).

"Representations of all shots are first extracted using the visual encoder of pre-trained
CLIP": one keyframe per shot (the middle one), run once and cached as a ``shot_features``
table (``movie_id, shot_index, start_time, end_time, feature``) that movie-similarity
learning and pair selection read (through :class:`movierep.features.shot_store.ShotFeatureStore`
for a catalog), and that the E_fixed baseline rows pool over shot ranges
(:func:`pool_shot_features`: the mean of a range's shots).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from movierep import dist, tables
from movierep.data.shot_images import ShotImages
from movierep.errors import UserError
from movierep.features.image_encoder import (
    embed_scenes,
    load_image_encoder,
    run_per_movie,
    shot_times,
)
from movierep.features.shot_store import write_shot_features
from movierep.jobs import Job, JobReport
from movierep.models.vit import ViT


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
        shots_dir: a ``movierep ingest shots`` folder (``shots.parquet``, ``keyframes.parquet``).
        out: the features table (``.parquet``); parts go to ``<out dir>/parts/<stem>/``.
        movie_ids: only these movies (default: every movie with keyframes).
        batch_size: images per forward pass.
        device: ``auto``, ``cpu``, ``cuda``...
        shard: ``(i, n)``; default the torchrun rank.
        show_progress: progress bar.

    Returns:
        This worker's report; ``out`` is written once every movie is accounted for, with
        whole movies per row group (:func:`.shot_store.write_shot_features`, one movie's
        part in memory at a time), so that :class:`.shot_store.ShotFeatureStore` reads a
        movie fast.
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

    # whole movies per row group, streamed from the parts: fast per-movie reads
    return run_per_movie(
        images, images.movie_ids, work, out, schema, shard, show_progress,
        write=write_shot_features,
    )  # fmt: skip


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
