"""MovieNet's own shots and keyframes as a movierep ingest shots folder.

:func:`write_shots_folder` turns ``shot_movie318`` and ``240P_frames`` (real MovieNet-318 or
the corpus export, :mod:`movierep.data.benchmarks.movienet`) into the two tables that
``movierep ingest shots`` writes::

    OUT/shots.parquet       movie_id = imdb id, shot_index = MovieNet's shot index,
                            start_frame, end_frame (exclusive: MovieNet's inclusive end + 1),
                            start_time, end_time (frames / fps), score 1.0, detector "movienet"
    OUT/keyframes.parquet   k = 0, 1, 2 (MovieNet ``img_k``), frame = the ``shot_movie318``
                            keyframe column, path = the MovieNet JPEG relative to OUT

No image is copied: ``path`` is ``os.path.relpath`` of MovieNet's own keyframe, which
:class:`movierep.data.shot_images.ShotImages` opens as ``OUT / path``. So
``extract_shot_features(encoder, OUT, feats.parquet)`` gives one E_fixed feature per MovieNet
shot (from ``img_1``) with no MovieNet-specific extraction code. Moving OUT or the MovieNet
folder afterwards breaks the paths; write the folder again then.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from movierep import tables
from movierep.data.benchmarks.movienet import load_movienet_movie, load_split318
from movierep.errors import UserError

#: The frame rate of real MovieNet's frame numbers (LGSS / BaSSL hard-code it).
MOVIENET_FPS = 24.0
#: ``detector`` value of the shots written here.
DETECTOR = "movienet"


def write_shots_folder(
    movienet_root: str | Path,
    imdb_ids: Sequence[str] | None,
    out: str | Path,
    *,
    fps: float = MOVIENET_FPS,
    check_keyframes: bool = True,
) -> Path:
    """Write ``shots.parquet`` and ``keyframes.parquet`` for MovieNet movies into ``out``.

    Args:
        movienet_root: the MovieNet folder (``240P_frames``, ``scene318``).
        imdb_ids: the movies (``None``: ``split318.json``'s ``all``, else train+val+test).
        out: the shots folder to write (created).
        fps: frame rate turning frame numbers into seconds (24 for real MovieNet; the corpus
            export's frames are at the movie's own rate, which the export does not record).
        check_keyframes: raise when a keyframe image is missing.

    Returns:
        ``out``.

    Raises:
        UserError: a malformed or missing MovieNet file, a missing keyframe image, no
            movies, or a non-positive ``fps``.
    """
    root, out = Path(movienet_root), Path(out)
    if fps <= 0:
        raise UserError(f"fps must be positive, got {fps}")
    if imdb_ids is None:
        split = load_split318(root)
        imdb_ids = split.get("all") or [m for s in ("train", "val", "test") for m in split[s]]
    ids = list(dict.fromkeys(imdb_ids))
    if not ids:
        raise UserError(f"{root}: no MovieNet movies to write")
    out.mkdir(parents=True, exist_ok=True)
    shots: dict[str, list[object]] = {name: [] for name in tables.SHOTS.names}
    keys: dict[str, list[object]] = {name: [] for name in tables.KEYFRAMES.names}
    base = os.path.abspath(out)
    for imdb in ids:
        movie = load_movienet_movie(root, imdb)
        for shot in movie.shots:
            shots["movie_id"].append(imdb)
            shots["shot_index"].append(shot.index)
            shots["start_frame"].append(shot.start_frame)
            shots["end_frame"].append(shot.end_frame + 1)
            shots["start_time"].append(shot.start_frame / fps)
            shots["end_time"].append((shot.end_frame + 1) / fps)
            shots["score"].append(1.0)
            shots["detector"].append(DETECTOR)
            for k, frame in enumerate(shot.keyframes):
                image = movie.keyframe_path(shot.index, k)
                if check_keyframes and not image.is_file():
                    raise UserError(f"{image}: keyframe {k} of shot {shot.index} not found")
                keys["movie_id"].append(imdb)
                keys["shot_index"].append(shot.index)
                keys["k"].append(k)
                keys["frame"].append(frame)
                keys["time"].append(frame / fps)
                keys["path"].append(Path(os.path.relpath(os.path.abspath(image), base)).as_posix())
    tables.write_table(out / "shots.parquet", pa.Table.from_pydict(shots, schema=tables.SHOTS))
    tables.write_table(
        out / "keyframes.parquet", pa.Table.from_pydict(keys, schema=tables.KEYFRAMES)
    )
    return out
