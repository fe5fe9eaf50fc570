"""Three keyframes per shot, MovieNet style; the middle one is the shot's image.

MovieNet stores ``shot_<SSSS>_img_<k>.jpg`` for k = 0, 1, 2 per shot; movierep takes them at
the quarter points of the shot (``shared/benchmarks.md``: the corpus and readers agree on
that, and readers use the stored frame numbers). ``img_1``, at the middle, is the single
keyframe that shot-level encoders see (Movies2Scenes: one keyframe per shot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from movierep.files import atomic_path
from movierep.tables import KEYFRAMES
from movierep.video.decode import Frame, open_video, size_at_height

KEYFRAMES_PER_SHOT = 3
SHOT_IMAGE_K = 1  # the middle keyframe is the shot's image


def keyframe_indices(start_frame: int, end_frame: int) -> list[int]:
    """Frames at the quarter points of ``[start_frame, end_frame)``.

    ``f_k = start + ⌊(k + 1) · L / 4⌋`` for k = 0, 1, 2 with ``L = end − start``, so every
    keyframe lies inside the shot and ``f_1`` is its middle frame.
    """
    length = max(end_frame - start_frame, 1)
    return [start_frame + (k + 1) * length // 4 for k in range(KEYFRAMES_PER_SHOT)]


def _save(
    frame: Frame,
    targets: list[tuple[str, int, int]],
    out_dir: Path,
    quality: int,
    rows: dict[str, list[object]],
) -> None:
    """Save ``frame`` as the keyframe of every ``(movie_id, shot_index, k)`` in ``targets``."""
    for movie_id, shot_index, k in targets:
        name = keyframe_name(shot_index, k)
        with atomic_path(out_dir / name) as tmp:
            Image.fromarray(frame.image).save(tmp, format="JPEG", quality=quality)
        values = (movie_id, shot_index, k, frame.index, frame.time, name)
        for key, value in zip(KEYFRAMES.names, values, strict=True):
            rows[key].append(value)


def keyframe_name(shot_index: int, k: int) -> str:
    """MovieNet's file name for keyframe ``k`` of a shot: ``shot_0012_img_1.jpg``."""
    return f"shot_{shot_index:04d}_img_{k}.jpg"


def write_keyframes(
    video_path: str | Path,
    shots: pa.Table,
    out_dir: str | Path,
    *,
    height: int | None = 240,
    quality: int = 90,
    threads: int = 0,
    warn_damage: bool = True,
) -> pa.Table:
    """Decode the keyframes of every shot in one pass and save them as JPEG.

    Args:
        video_path: The video the shots were detected on.
        shots: Its shots table (``movie_id``, ``shot_index``, ``start_frame``, ``end_frame``).
        out_dir: Folder for the images (created); files are ``shot_<SSSS>_img_<k>.jpg``.
        height: Resize to this height keeping the aspect ratio (MovieNet's ``keyf_240p``);
            ``None`` keeps the video's size; videos smaller than ``height`` keep their size.
        quality: JPEG quality.
        threads: Decoder threads.
        warn_damage: Log the spans a damaged video lost (``False`` when the shot detection
            pass over the same video already did).

    Returns:
        The keyframes table (:data:`movierep.tables.KEYFRAMES`), 3 rows per shot; ``path``
        is the image's path relative to ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[object]] = {name: [] for name in KEYFRAMES.names}
    wanted: dict[int, list[tuple[str, int, int]]] = {}
    for movie_id, shot_index, start, end in zip(
        shots.column("movie_id").to_pylist(),
        shots.column("shot_index").to_pylist(),
        shots.column("start_frame").to_pylist(),
        shots.column("end_frame").to_pylist(),
        strict=True,
    ):
        for k, index in enumerate(keyframe_indices(start, end)):
            wanted.setdefault(index, []).append((movie_id, shot_index, k))
    size = size_at_height(video_path, height)
    needed = sorted(wanted)  # a frame a damaged video lost gives way to the next decoded one
    done = 0
    with open_video(video_path, size=size, threads=threads, warn_damage=warn_damage) as reader:
        last: Frame | None = None
        for frame in reader.frames():
            last = frame
            while done < len(needed) and needed[done] <= frame.index:
                _save(frame, wanted[needed[done]], out_dir, quality, rows)
                done += 1
            if done == len(needed):
                break
        while last is not None and done < len(needed):  # lost at the very end
            _save(last, wanted[needed[done]], out_dir, quality, rows)
            done += 1
    table = pa.Table.from_pydict(rows, schema=KEYFRAMES)
    order = np.lexsort((table.column("k").to_numpy(), table.column("shot_index").to_numpy()))
    return table.take(pa.array(order))
