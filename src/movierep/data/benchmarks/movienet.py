"""Read MovieNet scene data: the real MovieNet-318 files or the corpus export.

Layout (``shared/benchmarks/lvu_movienet.md`` §B.1, §B.6)::

    <root>/240P_frames/<imdb>/shot_<SSSS>_img_<k>.jpg   keyframes, k = 0, 1, 2
    <root>/scene318/label318/<imdb>.txt                 "SSSS v": v = 1 (or -1, uncertain) if a
                                                        scene ends after shot SSSS, else 0
    <root>/scene318/shot_movie318/<imdb>.txt            "start end kf0 kf1 kf2" per shot (inclusive)
    <root>/scene318/meta/split318.json                  {"train", "val", "test", "all"}
    <root>/annotation/<imdb>.json                       {"scene": [{"id", "shot", "frame",
                                                                    "place_tag": [...]}]}

``label318`` has N-1 lines for N shots (the boundary after shot i); N lines are accepted
too. The keyframe columns of ``shot_movie318`` are the frames really saved as ``img_0/1/2``:
readers use them and never assume first/middle/last. Uncertain labels (-1) count as
boundaries, as in LGSS and BaSSL (:attr:`MovieNetMovie.boundaries`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from movierep.errors import UserError
from movierep.files import read_json as _json

SPLITS = ("train", "val", "test")


def keyframe_name(shot: int, k: int) -> str:
    """``shot_<SSSS>_img_<k>.jpg``."""
    return f"shot_{shot:04d}_img_{k}.jpg"


@dataclass(frozen=True)
class MovieNetShot:
    """A shot: inclusive frame range and the frames saved as its three keyframes."""

    index: int
    start_frame: int
    end_frame: int
    keyframes: tuple[int, int, int]


@dataclass(frozen=True)
class MovieNetScene:
    """A scene segment of the annotation JSON (inclusive shot and frame ranges)."""

    scene_id: str
    shots: tuple[int, int]
    frames: tuple[int, int]
    place_tags: tuple[str, ...]


@dataclass(frozen=True)
class MovieNetMovie:
    """One movie's shots, raw boundary labels and keyframe folder.

    Attributes:
        imdb_id: ``tt...``.
        shots: N shots in order.
        labels: raw ``label318`` values (0, 1, -1) for shots 0..len(labels)-1.
        keyframe_dir: ``240P_frames/<imdb>``.
    """

    imdb_id: str
    shots: tuple[MovieNetShot, ...]
    labels: tuple[int, ...]
    keyframe_dir: Path

    @property
    def boundaries(self) -> tuple[int, ...]:
        """0/1 label of the boundary after shot i for i < N-1 (-1 counts as 1)."""
        return tuple(abs(v) for v in self.labels[: len(self.shots) - 1])

    def keyframe_path(self, shot: int, k: int) -> Path:
        """Path of keyframe ``k`` (0..2) of shot ``shot``."""
        return self.keyframe_dir / keyframe_name(shot, k)


def load_movienet_movie(root: Path, imdb_id: str) -> MovieNetMovie:
    """Read ``shot_movie318`` and ``label318`` of one movie.

    Raises:
        UserError: a missing file or malformed line (naming file and line), keyframes
            outside their shot, or a label count other than N-1 or N.
    """
    root = Path(root)
    shot_path = root / "scene318" / "shot_movie318" / f"{imdb_id}.txt"
    shots: list[MovieNetShot] = []
    for number, tok in _lines(shot_path):
        values = _ints(tok, 5, shot_path, number)
        start, end, kf = values[0], values[1], (values[2], values[3], values[4])
        if end < start or not all(start <= f <= end for f in kf):
            raise UserError(
                f"{shot_path}: line {number}: keyframes {kf} or range {start}-{end} out of order"
            )
        shots.append(MovieNetShot(len(shots), start, end, kf))
    if not shots:
        raise UserError(f"{shot_path}: no shots")
    label_path = root / "scene318" / "label318" / f"{imdb_id}.txt"
    labels: list[int] = []
    for number, tok in _lines(label_path):
        shot, value = _ints(tok, 2, label_path, number)
        if shot != len(labels) or value not in (-1, 0, 1):
            raise UserError(
                f"{label_path}: line {number}: expected '{len(labels):04d} v' with v in 0, 1, -1"
            )
        labels.append(value)
    if len(labels) not in (len(shots) - 1, len(shots)):
        raise UserError(
            f"{label_path}: {len(labels)} labels for {len(shots)} shots (expected {len(shots) - 1})"
        )
    return MovieNetMovie(imdb_id, tuple(shots), tuple(labels), root / "240P_frames" / imdb_id)


def load_split318(root: Path) -> dict[str, list[str]]:
    """``scene318/meta/split318.json``: split name -> imdb ids."""
    path = Path(root) / "scene318" / "meta" / "split318.json"
    meta = _json(path)
    if not isinstance(meta, dict) or any(not isinstance(meta.get(s), list) for s in SPLITS):
        raise UserError(f"{path}: expected lists 'train', 'val' and 'test'")
    return {k: [str(v) for v in ids] for k, ids in meta.items()}


def load_place_annotation(root: Path, imdb_id: str) -> list[MovieNetScene]:
    """Scene segments of ``annotation/<imdb>.json`` (``place_tag`` null -> no tags)."""
    path = Path(root) / "annotation" / f"{imdb_id}.json"
    data = _json(path)
    if not isinstance(data, dict) or not isinstance(data.get("scene"), list):
        raise UserError(f"{path}: expected an object with a 'scene' list")
    scenes = []
    for i, rec in enumerate(data["scene"]):
        try:
            tags = rec.get("place_tag") or []
            if not isinstance(tags, list):
                raise TypeError
            scenes.append(
                MovieNetScene(
                    str(rec["id"]),
                    (int(rec["shot"][0]), int(rec["shot"][1])),
                    (int(rec["frame"][0]), int(rec["frame"][1])),
                    tuple(str(t) for t in tags),
                )
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise UserError(
                f"{path}: scene {i}: needs id, shot [s, e], frame [f0, f1] and place_tag as a list"
            ) from None
    return scenes


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, line.split()) for n, line in enumerate(lines, start=1) if line.strip()]


def _ints(tok: list[str], count: int, path: Path, number: int) -> list[int]:
    if len(tok) != count:
        raise UserError(f"{path}: line {number}: expected {count} columns, got {len(tok)}")
    try:
        return [int(t) for t in tok]
    except ValueError:
        raise UserError(f"{path}: line {number}: expected integers") from None
