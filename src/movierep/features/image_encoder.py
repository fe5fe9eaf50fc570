"""The image encoder that E_fixed and E_scene run, and the per-movie work they share.

Movies2Scenes (Chen et al. 2023) runs one image ViT at two levels: per shot keyframe
(E_fixed, :mod:`movierep.features.shot_features`) and per multi-shot scene (E_scene,
:mod:`movierep.features.scene_features`). Both accept any image encoder behind one
loader (:func:`load_image_encoder`): a CLIP release file in OpenAI's layout, or a movierep
checkpoint folder (``train image-encoder``, ``train scenes``). :func:`embed_scenes` gives
keyframes CLIP's evaluation view (short side resized, centre crop to the encoder's input
size, CLIP's mean and std) and batches scenes of equal length; a one-shot scene is a single
image. :func:`run_per_movie` runs one job per movie of a shots folder through
:mod:`movierep.jobs`: resumable, shardable (``--shard i/n`` or torchrun ranks), failures
recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from movierep import tables
from movierep.data.shot_images import ShotImages, to_model_input
from movierep.errors import UserError
from movierep.jobs import Job, JobReport, PartsWriter, run_into_table
from movierep.models import load_pretrained
from movierep.models.vit import CLIP_MEAN, CLIP_STD, ViT, load_clip_visual


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


def shot_times(shots_dir: Path) -> dict[tuple[str, int], tuple[float, float]]:
    """``(movie_id, shot_index) → (start_time, end_time)`` of a shots folder's shots."""
    path = shots_dir / "shots.parquet"
    if not path.is_file():
        raise UserError(f"{path}: no shots table (run `movierep ingest shots` first)")
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


def run_per_movie(
    images: ShotImages,
    movie_ids: Sequence[str],
    work: Callable[[Job], pa.Table],
    out: Path,
    schema: pa.Schema,
    shard: tuple[int, int] | None,
    show_progress: bool,
    write: PartsWriter | None = None,
) -> JobReport:
    """One job per movie into ``out`` (parts, resume, shards, failures: :mod:`movierep.jobs`).

    ``write``: the output's own writer of the movies' parts (default: concatenated).
    """
    if out.suffix != ".parquet":
        raise UserError(f"{out}: the features file must end in .parquet")
    jobs = [Job(id=m, path=images.root / "keyframes" / m) for m in movie_ids]
    return run_into_table(
        jobs, work, out, shard, schema=schema, show_progress=show_progress, write=write
    )
