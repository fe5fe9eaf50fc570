"""Read LVU label files (Wu & Krähenbühl, CVPR 2021): the real ``lvu_1.0`` or the corpus export.

Layout (``shared/benchmarks/lvu_movienet.md`` §A.2)::

    <root>/lvu_1.0/<task>/{train,val,test}.csv    space-separated despite the name, one header
    <root>/lvu_1.0/lvu_durations.csv              videoid,duration
    <root>/videos/<youtube_id>.mp4                (corpus) the clip
    <root>/instance_meta.json                     (corpus) 1 fps boxes, see load_instance_meta

Header variants and first rows::

    class_id class_name youtube_id imdb_id      0 friend -e6lEsIUf3U tt0161100   (7 tasks)
    like_count dislike_count youtube_id imdb_id  100061 3801 29VjYkPPY2s tt0451279
    view_count youtube_id imdb_id                100124 gFKba_Esjt0 tt0138524

Every public loader reads ``tok = line.split()``, the label from ``tok[0]`` (and ``tok[1]``
for like_ratio) and the video id from ``tok[-2]``; so does this one. Regression targets
use the official transforms (``video_data_helper.py``): ``ln(views) - 11.764...`` and
``10 * like / (like + dislike) - 9.138...``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from movierep.errors import UserError
from movierep.files import read_json

LVU_TASKS = (
    "relationship",
    "way_speaking",
    "scene",
    "director",
    "writer",
    "year",
    "genre",
    "like_ratio",
    "view_count",
)
CLASSIFICATION_TASKS = LVU_TASKS[:7]
REGRESSION_TASKS = ("like_ratio", "view_count")
SPLITS = ("train", "val", "test")
HEADERS = {
    **{task: "class_id class_name youtube_id imdb_id" for task in CLASSIFICATION_TASKS},
    "like_ratio": "like_count dislike_count youtube_id imdb_id",
    "view_count": "view_count youtube_id imdb_id",
}
UNKNOWN_WRITER = "\\N"
VIEW_COUNT_OFFSET = 11.76425435683139
LIKE_RATIO_OFFSET = 9.138220535629456
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_IMDB_ID = re.compile(r"tt\d+")


def like_ratio_target(like: int, dislike: int) -> float:
    """LVU's like-ratio regression target ``10 * like / (like + dislike) - 9.138...``."""
    return 10.0 * like / (like + dislike) - LIKE_RATIO_OFFSET


def view_count_target(views: int) -> float:
    """LVU's view-count regression target ``ln(views) - 11.764...``."""
    return math.log(views) - VIEW_COUNT_OFFSET


@dataclass(frozen=True)
class LVUItem:
    """One labelled video of one task.

    Attributes:
        video_id: the 11-character YouTube(-style) id (``tok[-2]``).
        imdb_id: the source movie (``tok[-1]``).
        label: class id (classification tasks) or None.
        class_name: class name (classification tasks) or None.
        counts: ``(like, dislike)`` for like_ratio, ``(views,)`` for view_count, else ().
    """

    video_id: str
    imdb_id: str
    label: int | None
    class_name: str | None
    counts: tuple[int, ...] = ()

    @property
    def target(self) -> float:
        """Regression target (official transform) or the class id as a float."""
        if len(self.counts) == 2:
            return like_ratio_target(*self.counts)
        if len(self.counts) == 1:
            return view_count_target(self.counts[0])
        return float(self.label if self.label is not None else -1)


def task_dir(root: Path) -> Path:
    """The ``lvu_1.0`` folder under ``root`` (or ``root`` itself)."""
    root = Path(root)
    return root / "lvu_1.0" if (root / "lvu_1.0").is_dir() else root


def load_lvu_task(root: Path, task: str, split: str) -> list[LVUItem]:
    """Read ``lvu_1.0/<task>/<split>.csv``.

    Args:
        root: folder holding ``lvu_1.0/`` (or ``lvu_1.0`` itself).
        task: one of :data:`LVU_TASKS`.
        split: ``train``, ``val`` or ``test``.

    Raises:
        UserError: unknown task/split, missing file, wrong header, or a malformed row
            (naming the file and line).
    """
    if task not in LVU_TASKS:
        raise UserError(f"unknown LVU task {task!r} (known: {', '.join(LVU_TASKS)})")
    if split not in SPLITS:
        raise UserError(f"unknown LVU split {split!r} (known: {', '.join(SPLITS)})")
    path = task_dir(root) / task / f"{split}.csv"
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split() != HEADERS[task].split():
        raise UserError(f"{path}: line 1: header must be {HEADERS[task]!r}")
    columns = len(HEADERS[task].split())
    names: dict[int, str] = {}
    items = []
    for number, line in enumerate(lines[1:], start=2):
        tok = line.split()
        if not tok:
            continue
        where = f"{path}: line {number}"
        if len(tok) != columns:
            raise UserError(f"{where}: expected {columns} space-separated columns, got {len(tok)}")
        video_id, imdb_id = tok[-2], tok[-1]
        if not _YOUTUBE_ID.fullmatch(video_id):
            raise UserError(f"{where}: video id {video_id!r} is not 11 chars of [A-Za-z0-9_-]")
        if not _IMDB_ID.fullmatch(imdb_id):
            raise UserError(f"{where}: imdb id {imdb_id!r} is not tt<digits>")
        values = _integers(tok[: columns - 2] if task in REGRESSION_TASKS else tok[:1], where)
        if task in REGRESSION_TASKS:
            if min(values) < 0 or (sum(values) if task == "like_ratio" else values[0]) <= 0:
                raise UserError(f"{where}: counts must be positive")
            items.append(LVUItem(video_id, imdb_id, None, None, tuple(values)))
            continue
        label, name = values[0], tok[1]
        if names.setdefault(label, name) != name:
            raise UserError(f"{where}: class id {label} is {name!r} here, {names[label]!r} above")
        items.append(LVUItem(video_id, imdb_id, label, name))
    return items


def class_names(items: list[LVUItem]) -> dict[int, str]:
    """Class id -> name over ``items`` (pass all splits to get every class of a task)."""
    return {i.label: i.class_name for i in items if i.label is not None and i.class_name}


def load_durations(root: Path) -> dict[str, int]:
    """``lvu_1.0/lvu_durations.csv`` (header ``videoid,duration``): id -> seconds."""
    path = task_dir(root) / "lvu_durations.csv"
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "videoid,duration":
        raise UserError(f"{path}: line 1: header must be 'videoid,duration'")
    out = {}
    for number, line in enumerate(lines[1:], start=2):
        parts = line.strip().split(",")
        if len(parts) != 2:
            raise UserError(f"{path}: line {number}: expected 'videoid,duration'")
        out[parts[0]] = _integers(parts[1:], f"{path}: line {number}")[0]
    return out


@dataclass(frozen=True)
class Instance:
    """One detected instance at one second: normalised box, shot index, tracklet id."""

    box: tuple[float, float, float, float]
    shot: int
    link: int


def load_instance_meta(path: Path) -> dict[str, dict[int, list[Instance]]]:
    """Read Object-Transformer instance metadata written as JSON.

    The layout is LVU's ``instance_meta_<task>.pkl`` as JSON:
    ``{video_id: {"<sec>": {"x1,y1,x2,y2": [shot_index, link_id]}}}``.

    Returns:
        video id -> second -> instances (in file order).
    """
    path = Path(path)
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected an object keyed by video id")
    out: dict[str, dict[int, list[Instance]]] = {}
    for vid, seconds in raw.items():
        per_second: dict[int, list[Instance]] = {}
        for sec, boxes in seconds.items():
            try:
                per_second[int(sec)] = [
                    Instance(_box(box), int(ids[0]), int(ids[1])) for box, ids in boxes.items()
                ]
            except (ValueError, TypeError, IndexError, AttributeError):
                raise UserError(f"{path}: video {vid} second {sec}: malformed instance") from None
        out[vid] = per_second
    return out


def _box(text: str) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in text.split(","))
    return x1, y1, x2, y2


def _integers(tokens: list[str], where: str) -> list[int]:
    try:
        return [int(t) for t in tokens]
    except ValueError:
        raise UserError(f"{where}: expected integers, got {' '.join(tokens)!r}") from None
