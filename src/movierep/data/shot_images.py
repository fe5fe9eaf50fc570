"""Shot keyframes as model input: one image per shot, a scene as its shots' images in order.

Movies2Scenes (Chen et al. 2023, §4.2) "only keep[s] one frame per shot": the middle
keyframe (``img_1``, :data:`movierep.video.keyframes.SHOT_IMAGE_K`) that ``movierep ingest shots``
saves. :class:`ShotImages` indexes those images in a shots folder (``keyframes.parquet``
and the JPEGs beside it) and decodes them on demand; a scene of n shots × 1 frame is
the (n, H, W, 3) stack of its shots' keyframes.

Layout read (written by :func:`movierep.video.ingest.ingest_shots`)::

    SHOTS/shots.parquet       one row per shot
    SHOTS/keyframes.parquet   movie_id, shot_index, k, frame, time, path (relative to SHOTS)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from movierep.data.augment import ClipAugment, eval_transform
from movierep.errors import UserError
from movierep.tables import read_table, require_columns
from movierep.video.keyframes import SHOT_IMAGE_K


class ShotImages:
    """The keyframes of a shots folder, by ``(movie_id, shot_index)``.

    Args:
        shots_dir: a ``movierep ingest shots`` output folder.
        k: which of the 3 keyframes per shot is the shot's image (1: the middle one);
            ``None`` keeps all three (:meth:`all_paths`, for image pretraining).
        movie_ids: keep only these movies (default: all).
        cache_size: decoded images kept in memory per process.

    Raises:
        UserError: the folder has no keyframes table, or a movie has no keyframes.
    """

    def __init__(
        self,
        shots_dir: str | Path,
        *,
        k: int | None = SHOT_IMAGE_K,
        movie_ids: Sequence[str] | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.root = Path(shots_dir)
        table_path = self.root / "keyframes.parquet"
        if not table_path.is_file():
            raise UserError(f"{table_path}: no keyframes table (run `movierep ingest shots` first)")
        table = read_table(table_path)
        require_columns(table, ["movie_id", "shot_index", "k", "path"], table_path)
        if k is not None:
            table = table.filter(pc.equal(table.column("k"), k))
        if movie_ids is not None:
            wanted = set(movie_ids)
            missing = sorted(wanted - set(table.column("movie_id").to_pylist()))
            if missing:
                raise UserError(
                    f"{table_path}: no keyframes for movie {missing[0]!r} "
                    f"({len(missing)} movies missing)"
                )
            table = table.filter(
                pc.is_in(table.column("movie_id"), value_set=pa.array(sorted(wanted)))
            )
        self._paths: dict[tuple[str, int], str] = {}
        self._all: list[tuple[str, int, str]] = []
        counts: dict[str, int] = {}
        for movie, shot, kk, path in zip(
            table.column("movie_id").to_pylist(),
            table.column("shot_index").to_pylist(),
            table.column("k").to_pylist(),
            table.column("path").to_pylist(),
            strict=True,
        ):
            self._all.append((movie, shot, path))
            if k is None and kk != SHOT_IMAGE_K:
                continue
            self._paths[(movie, shot)] = path
            counts[movie] = max(counts.get(movie, 0), shot + 1)
        self.num_shots: dict[str, int] = dict(sorted(counts.items()))
        self._load = lru_cache(maxsize=cache_size)(self._decode)

    @property
    def movie_ids(self) -> list[str]:
        """Movies with keyframes, sorted."""
        return list(self.num_shots)

    def all_paths(self) -> list[Path]:
        """Every keyframe image kept (all three per shot when ``k=None``)."""
        return [self.root / p for _, _, p in self._all]

    def _decode(self, path: str) -> np.ndarray:
        with Image.open(self.root / path) as image:
            return np.asarray(image.convert("RGB"))

    def image(self, movie_id: str, shot_index: int) -> np.ndarray:
        """The shot's keyframe, (H, W, 3) uint8."""
        try:
            path = self._paths[(movie_id, shot_index)]
        except KeyError:
            raise UserError(
                f"{self.root / 'keyframes.parquet'}: no keyframe for shot {shot_index} "
                f"of movie {movie_id!r}"
            ) from None
        return self._load(path)

    def scene(self, movie_id: str, shots: Sequence[int]) -> np.ndarray:
        """The keyframes of ``shots`` in order, (n, H, W, 3) uint8."""
        return np.stack([self.image(movie_id, s) for s in shots])


def scene_shots(start: int, end: int, length: int, num_shots: int, offset: int | None) -> list[int]:
    """The ``length`` shots a scene encoder sees for the shot range ``[start, end)``.

    A selected scene is ``k_a`` contiguous shots (the adjacency network's window) while
    the encoder takes n shots (Movies2Scenes: 9). A longer range gives n contiguous shots
    starting at ``start + offset`` (a random offset is a temporal crop while training;
    ``None`` centres them); a shorter one grows around its centre inside the movie, and a
    movie with fewer than n shots repeats its last shot.

    Args:
        start: first shot of the range.
        end: one past its last shot.
        length: n, the number of shots wanted.
        num_shots: shots in the movie.
        offset: where the n shots start inside a longer range (0 .. end-start-n).

    Returns:
        ``length`` shot indices, non-decreasing, inside ``[0, num_shots)``.
    """
    span = end - start
    if span >= length:
        slack = span - length
        first = start + (slack // 2 if offset is None else min(max(offset, 0), slack))
    else:
        first = start - (length - span) // 2
        first = min(max(first, 0), max(num_shots - length, 0))
    return [min(first + i, num_shots - 1) for i in range(length)]


def to_model_input(
    frames: np.ndarray | Tensor,
    image_size: tuple[int, int],
    *,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
) -> Tensor:
    """CLIP-style evaluation view of images: resize the short side, centre-crop, normalise.

    Args:
        frames: (F, H, W, 3) uint8 images (keyframes of one scene, or F single images).
        image_size: the encoder's (height, width).
        mean: per-channel mean.
        std: per-channel std.

    Returns:
        (F, 3, height, width) float32.
    """
    height, width = image_size
    clip = torch.as_tensor(frames)
    view = eval_transform(clip, height, mean=mean, std=std, view_aspect=width / height)
    return view.permute(1, 0, 2, 3).contiguous()


class KeyframeViews(Dataset[dict[str, Tensor]]):
    """Two augmented views of a keyframe image: the pairs of contrastive image pretraining.

    Args:
        paths: image files.
        augment: the augmentation (one frame; its ``view_size`` is the encoder's input).
    """

    def __init__(self, paths: Sequence[Path], augment: ClipAugment) -> None:
        self.paths = list(paths)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """``view1``, ``view2``: (3, H, W) float32, drawn from torch's (seeded) RNG."""
        with Image.open(self.paths[index]) as image:
            frame = torch.from_numpy(np.array(image.convert("RGB")))[None]  # (1, H, W, 3)
        return {
            "view1": self.augment(frame)[:, 0],
            "view2": self.augment(frame)[:, 0],
        }


_MOVIES = ("movie_a", "movie_b")
_RANGES = ("a_start", "a_end", "b_start", "b_end")


class ScenePairDataset(Dataset[dict[str, Tensor]]):
    """The scene pairs of ``P_scene`` as MoCo queries and keys (Movies2Scenes Fig. 3).

    Each item is one selected pair: n shots of each scene (:func:`scene_shots`; the
    supplement's selection windows are n shots long, so these are the selected shots
    themselves, and a longer range is cropped at random), their keyframes augmented alike
    within a scene, and which scene is the query drawn at random (both movies' scenes
    serve as queries). The pairs are held as NumPy columns (movie names dictionary-coded),
    never as Python rows, so millions of pairs cost a few bytes each.

    Args:
        images: the shots' keyframes.
        pairs: ``P_scene``: ``movie_a, a_start, a_end, movie_b, b_start, b_end``.
        shots_per_scene: n (9 in the paper).
        augment: the scene augmentation (``view_size`` is the encoder's input size).
    """

    def __init__(
        self,
        images: ShotImages,
        pairs: pa.Table,
        shots_per_scene: int,
        augment: ClipAugment,
    ) -> None:
        self.images = images
        self.movies, codes = np.unique(
            np.concatenate([pairs.column(c).to_numpy(zero_copy_only=False) for c in _MOVIES]),
            return_inverse=True,
        )
        self.movie_codes = codes.reshape(2, -1).astype(np.int32)
        self.ranges = np.stack(
            [pairs.column(c).to_numpy().astype(np.int64) for c in _RANGES]
        ).reshape(2, 2, -1)  # (side, start/end, pair)
        self.shots_per_scene = shots_per_scene
        self.augment = augment

    def __len__(self) -> int:
        return self.movie_codes.shape[1]

    def _scene(self, side: int, index: int) -> Tensor:
        movie = str(self.movies[self.movie_codes[side, index]])
        start, end = (int(v) for v in self.ranges[side, :, index])
        slack = max(end - start - self.shots_per_scene, 0)
        offset = int(torch.randint(slack + 1, ()).item())
        shots = scene_shots(start, end, self.shots_per_scene, self.images.num_shots[movie], offset)
        frames = torch.as_tensor(self.images.scene(movie, shots))  # (n, H, W, 3)
        return self.augment(frames).permute(1, 0, 2, 3)  # (n, 3, H, W)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """``query`` and ``key``: (n, 3, H, W) float32 each."""
        a, b = self._scene(0, index), self._scene(1, index)
        if torch.rand(()) < 0.5:
            a, b = b, a
        return {"query": a, "key": b}
