"""Export the corpus as MovieNet scene data: keyframes, scene boundaries and place tags.

Layout (``shared/benchmarks/lvu_movienet.md`` §B.1, §B.6 and the "Decisions" of
``benchmarks.md``)::

    movienet/240P_frames/<imdb>/shot_<SSSS>_img_<k>.jpg  3 keyframes per shot, k = 0, 1, 2
    movienet/scene318/label318/<imdb>.txt       N-1 lines "SSSS v": 1 = scene ends after shot SSSS
    movienet/scene318/shot_movie318/<imdb>.txt  N lines "start end kf0 kf1 kf2" (inclusive frames)
    movienet/scene318/meta/split318.json        {"train", "val", "test", "all"}: imdb ids
    movienet/annotation/<imdb>.json             {"imdb_id", "scene": [{"id", "shot", "frame",
                                                  "place_tag": [...], "action_tag": null}]}

Shots and scenes are the truth tables'; keyframe ``k`` of a shot of L frames starting at
``s`` is frame ``s + (k + 1) * L // 4`` (the quarter points), and ``shot_movie318`` gives
exactly those frames. Frames are at the movie's own rate (Recall@3s takes the rate as a
parameter) and keyframes keep the movie's size when it is at most 240 px high. Movie ids
are ``tt`` + 7 digits (:func:`movierep.corpus.export.ids.imdb_ids`); the split is the
catalog's.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from movierep import files
from movierep.corpus.export.cut import StillRequest
from movierep.corpus.export.ids import imdb_ids
from movierep.corpus.export.source import SPLITS, CorpusSource, Shot
from movierep.data.benchmarks.movienet import keyframe_name

KEYFRAMES_PER_SHOT = 3


def quarter_points(shot: Shot) -> tuple[int, int, int]:
    """Frames at 1/4, 2/4 and 3/4 of the shot (always inside ``[start, end)``)."""
    s, length = shot.start_frame, shot.end_frame - shot.start_frame
    return s + length // 4, s + 2 * length // 4, s + 3 * length // 4


def plan_keyframes(source: CorpusSource, out_dir: Path) -> dict[str, list[StillRequest]]:
    """Keyframe requests per movie id (three per shot)."""
    imdb = imdb_ids(m.movie_id for m in source.movies)
    out: dict[str, list[StillRequest]] = {}
    for movie in source.movies:
        folder = out_dir / "240P_frames" / imdb[movie.movie_id]
        out[movie.movie_id] = [
            StillRequest(folder / keyframe_name(shot.index, k), frame)
            for shot in source.shots.get(movie.movie_id, [])
            for k, frame in enumerate(quarter_points(shot))
        ]
    return out


def write_annotations(source: CorpusSource, out_dir: Path) -> None:
    """Write ``label318``, ``shot_movie318``, ``split318.json`` and the per-movie annotations."""
    imdb = imdb_ids(m.movie_id for m in source.movies)
    scene318 = out_dir / "scene318"
    splits: dict[str, list[str]] = {split: [] for split in SPLITS}
    for movie in source.movies:
        shots = source.shots.get(movie.movie_id, [])
        if not shots:
            continue
        tt = imdb[movie.movie_id]
        splits[movie.split].append(tt)
        labels = [
            f"{a.index:04d} {int(a.scene_index != b.scene_index)}\n"
            for a, b in itertools.pairwise(shots)
        ]
        files.write_text(scene318 / "label318" / f"{tt}.txt", "".join(labels))
        ranges = [
            f"{s.start_frame} {s.end_frame - 1} {' '.join(map(str, quarter_points(s)))}\n"
            for s in shots
        ]
        files.write_text(scene318 / "shot_movie318" / f"{tt}.txt", "".join(ranges))
        scenes = [
            {
                "id": f"{tt}_{s.index:04d}",
                "shot": [s.start_shot, s.end_shot],
                "frame": [s.start_frame, s.end_frame - 1],
                "place_tag": [s.place],
                "action_tag": None,
            }
            for s in source.scenes.get(movie.movie_id, [])
        ]
        annotation = {"imdb_id": tt, "scene": scenes}
        files.write_text(
            out_dir / "annotation" / f"{tt}.json", json.dumps(annotation, indent=1) + "\n"
        )
    meta = {split: sorted(ids) for split, ids in splits.items()}
    meta["all"] = sorted(tt for ids in splits.values() for tt in ids)
    files.write_text(scene318 / "meta" / "split318.json", json.dumps(meta, indent=1) + "\n")
