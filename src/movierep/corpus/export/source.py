"""The corpus' base files, read once for the benchmark exports (docs/contracts.md "Corpus layout").

The exports derive everything from ``catalog.parquet``, ``truth/*.parquet``, ``corpus.json``
and ``movies/``; this module turns those tables into small typed records grouped by movie,
so the three exporters never touch Arrow themselves.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from movierep.errors import UserError
from movierep.tables import read_table, require_columns

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Movie:
    """One catalog row (the columns the exports use)."""

    movie_id: str
    path: Path
    title: str
    genre: str
    director: str
    writer: str | None
    year: int
    synopsis: str
    like_count: int
    dislike_count: int
    view_count: int
    relationship: str
    duration_s: float
    fps: float
    width: int
    height: int
    num_frames: int
    split: str


@dataclass(frozen=True)
class Shot:
    """A ground-truth shot: frames ``[start_frame, end_frame)`` inside scene ``scene_index``."""

    index: int
    start_frame: int
    end_frame: int
    scene_index: int


@dataclass(frozen=True)
class Scene:
    """A ground-truth scene: shots ``start_shot..end_shot`` (inclusive), frames ``[start, end)``."""

    index: int
    start_shot: int
    end_shot: int
    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    place: str
    way_speaking: str


@dataclass(frozen=True)
class Event:
    """A ground-truth 2 s event: verb, up to three role fillers (id and text), manner, place.

    ``manner`` comes from the optional ``argm_manner`` column (e.g. the way of speaking of a
    talk event).
    """

    index: int
    start_time: float
    end_time: float
    verb: str
    arg_ids: tuple[str | None, str | None, str | None]
    arg_texts: tuple[str | None, str | None, str | None]
    place: str
    manner: str | None = None


@dataclass(frozen=True)
class Character:
    """A character's attributes, from which role paraphrases are built."""

    character_id: str
    shape: str
    color: str
    size: str
    description: str


@dataclass(frozen=True)
class Boxes:
    """All boxes of one movie: ``frame (M,)``, ``character_id (M,)``, ``xyxy (M, 4)`` pixels."""

    frame: np.ndarray
    character_id: list[str]
    xyxy: np.ndarray


@dataclass
class CorpusSource:
    """The base files of one corpus, grouped by movie (movies sorted by ``movie_id``)."""

    root: Path
    seed: int
    vocabularies: dict[str, list[str]]
    movies: list[Movie]
    shots: dict[str, list[Shot]]
    scenes: dict[str, list[Scene]]
    events: dict[str, list[Event]]
    links: dict[str, dict[tuple[int, int], str]]
    characters: dict[str, dict[str, Character]]
    boxes: dict[str, Boxes]

    @classmethod
    def read(cls, root: Path) -> CorpusSource:
        """Read ``root``'s catalog and truth tables; a missing file or column is a UserError."""
        seed, vocabularies = _read_meta(root / "corpus.json")
        movies = _read_movies(root)
        known = {m.movie_id for m in movies}
        truth = root / "truth"
        shots: dict[str, list[Shot]] = defaultdict(list)
        for r in _rows(
            truth / "shots.parquet",
            ["movie_id", "shot_index", "start_frame", "end_frame", "scene_index"],
            known,
        ):
            shots[r["movie_id"]].append(
                Shot(
                    int(r["shot_index"]),
                    int(r["start_frame"]),
                    int(r["end_frame"]),
                    int(r["scene_index"]),
                )
            )
        scenes: dict[str, list[Scene]] = defaultdict(list)
        scene_cols = [
            "movie_id",
            "scene_index",
            "start_shot",
            "end_shot",
            "start_frame",
            "end_frame",
            "start_time",
            "end_time",
            "place",
            "way_speaking",
        ]
        for r in _rows(truth / "scenes.parquet", scene_cols, known):
            scenes[r["movie_id"]].append(
                Scene(
                    int(r["scene_index"]),
                    int(r["start_shot"]),
                    int(r["end_shot"]),
                    int(r["start_frame"]),
                    int(r["end_frame"]),
                    float(r["start_time"]),
                    float(r["end_time"]),
                    str(r["place"]),
                    str(r["way_speaking"]),
                )
            )
        events: dict[str, list[Event]] = defaultdict(list)
        event_cols = [
            "movie_id",
            "event_index",
            "start_time",
            "end_time",
            "verb",
            "arg0_id",
            "arg1_id",
            "arg2_id",
            "arg0",
            "arg1",
            "arg2",
            "place",
        ]
        for r in _rows(truth / "events.parquet", event_cols, known, optional=["argm_manner"]):
            events[r["movie_id"]].append(
                Event(
                    int(r["event_index"]),
                    float(r["start_time"]),
                    float(r["end_time"]),
                    str(r["verb"]),
                    (r["arg0_id"], r["arg1_id"], r["arg2_id"]),
                    (r["arg0"], r["arg1"], r["arg2"]),
                    str(r["place"]),
                    r.get("argm_manner"),
                )
            )
        links: dict[str, dict[tuple[int, int], str]] = defaultdict(dict)
        for r in _rows(
            truth / "event_links.parquet", ["movie_id", "src_event", "dst_event", "relation"], known
        ):
            links[r["movie_id"]][(int(r["src_event"]), int(r["dst_event"]))] = str(r["relation"])
        characters: dict[str, dict[str, Character]] = defaultdict(dict)
        for r in _rows(
            truth / "characters.parquet",
            ["movie_id", "character_id", "shape", "color", "size", "description"],
            known,
        ):
            characters[r["movie_id"]][str(r["character_id"])] = Character(
                str(r["character_id"]),
                str(r["shape"]),
                str(r["color"]),
                str(r["size"]),
                str(r["description"]),
            )
        for groups in (shots, scenes, events):
            for items in groups.values():
                items.sort(key=lambda x: x.index)
        return cls(
            root,
            seed,
            vocabularies,
            movies,
            dict(shots),
            dict(scenes),
            dict(events),
            dict(links),
            dict(characters),
            _read_boxes(truth / "boxes.parquet"),
        )


def _read_meta(path: Path) -> tuple[int, dict[str, list[str]]]:
    """The corpus seed and its class lists (``places``, ``verbs``, ...) from ``corpus.json``."""
    if not path.is_file():
        return 0, {}
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: invalid JSON at line {err.lineno} ({err.msg})") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path}: expected a JSON object")
    seed = meta.get("seed", 0)
    lists = meta.get("classes", {})
    vocabularies = (
        {str(k): [str(x) for x in v] for k, v in lists.items() if isinstance(v, list)}
        if isinstance(lists, dict)
        else {}
    )
    return (seed if isinstance(seed, int) else 0), vocabularies


def _read_movies(root: Path) -> list[Movie]:
    path = root / "catalog.parquet"
    cols = [
        "movie_id",
        "path",
        "title",
        "genre",
        "director",
        "writer",
        "year",
        "synopsis",
        "like_count",
        "dislike_count",
        "view_count",
        "relationship",
        "duration_s",
        "fps",
        "width",
        "height",
        "num_frames",
        "split",
    ]
    table = read_table(path)
    require_columns(table, cols, path)
    movies = []
    for r in table.select(cols).to_pylist():
        if r["split"] not in SPLITS:
            raise UserError(
                f"{path}: movie {r['movie_id']} has split {r['split']!r}, "
                f"expected one of {', '.join(SPLITS)}"
            )
        movies.append(
            Movie(
                str(r["movie_id"]),
                root / str(r["path"]),
                str(r["title"]),
                str(r["genre"]),
                str(r["director"]),
                r["writer"] or None,
                int(r["year"]),
                str(r["synopsis"]),
                int(r["like_count"]),
                int(r["dislike_count"]),
                int(r["view_count"]),
                str(r["relationship"]),
                float(r["duration_s"]),
                float(r["fps"]),
                int(r["width"]),
                int(r["height"]),
                int(r["num_frames"]),
                str(r["split"]),
            )
        )
    return sorted(movies, key=lambda m: m.movie_id)


def _rows(
    path: Path, cols: list[str], known: set[str], optional: tuple[str, ...] | list[str] = ()
) -> list[dict[str, Any]]:
    """Rows of ``cols`` (plus the ``optional`` columns the table has); unknown movies raise."""
    table = read_table(path)
    require_columns(table, cols, path)
    cols = cols + [c for c in optional if c in table.column_names]
    rows: list[dict[str, Any]] = table.select(cols).to_pylist()
    for r in rows:
        if r["movie_id"] not in known:
            raise UserError(f"{path}: movie_id {r['movie_id']!r} is not in catalog.parquet")
    return rows


def _read_boxes(path: Path) -> dict[str, Boxes]:
    cols = ["movie_id", "frame", "character_id", "x1", "y1", "x2", "y2"]
    table = read_table(path)
    require_columns(table, cols, path)
    table = table.select(cols).sort_by(
        [("movie_id", "ascending"), ("frame", "ascending"), ("character_id", "ascending")]
    )
    movie_ids = table.column("movie_id").to_pylist()
    frames = np.asarray(table.column("frame").to_numpy(), dtype=np.int64)
    chars = [str(c) for c in table.column("character_id").to_pylist()]
    xyxy = (
        np.stack(
            [
                np.asarray(table.column(c).to_numpy(), dtype=np.float32)
                for c in ("x1", "y1", "x2", "y2")
            ],
            axis=1,
        )
        if len(table)
        else np.zeros((0, 4), np.float32)
    )
    out: dict[str, Boxes] = {}
    start = 0
    for end in range(1, len(movie_ids) + 1):
        if end == len(movie_ids) or movie_ids[end] != movie_ids[start]:
            out[str(movie_ids[start])] = Boxes(frames[start:end], chars[start:end], xyxy[start:end])
            start = end
    return out


__all__ = ["SPLITS", "Boxes", "Character", "CorpusSource", "Event", "Movie", "Scene", "Shot"]
