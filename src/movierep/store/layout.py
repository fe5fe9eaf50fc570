"""The embeddings store on disk: one Parquet file per (level, movie), and what made them.

Layout of a store folder ``STORE``::

    STORE/store.json                  format version, shot detector, and per level: encoder,
                                      checkpoint path(s), checkpoint_id, dim
    STORE/catalog.parquet             movie_id, path: every movie the store is meant to hold
    STORE/<level>/bucket=<hh>/<movie>.parquet
                                      one file per (level, movie); hh = the first 2 hex of
                                      sha1(movie_id), so a folder holds ~1/256 of the movies
    STORE/keyframes/<movie>/shot_<SSSS>_img_1.jpg
                                      every shot's middle keyframe (what a result shows)
    STORE/failures/<movie>.json       one record per movie whose last attempt failed
    STORE/failures.parquet            those records as a table (movierep.tables.FAILURES)
    STORE/index/<level>/              the vector index of a level (movierep.store.index)
    STORE/work/<movie>/               ingestion scratch of a movie being embedded

Every level file has the row schema of :func:`store_schema`: movie_id, level, item_index
(event / shot / scene index within the movie), start_time, end_time (seconds), start_shot,
end_shot (exclusive; null for events), keyframe (path relative to STORE; nullable),
encoder, checkpoint_id, embedding ``fixed_size_list<float32>[D]``.

Why one file per (level, movie): the movie is the unit of work (resume, shards, failures)
and each file is written atomically (:func:`movierep.tables.write_table`), so a run killed
at any moment leaves every file whole or absent, and a rerun that redoes a movie overwrites
the same files: nothing is lost and no row is ever duplicated. The hive-style partition
folders (``bucket=hh``) keep listings short at tens of thousands of movies, and
``pyarrow.dataset`` reads a whole level as one table (:func:`read_level`).
``checkpoint_id`` (the first 16 hex of the sha256 of the encoder's weights file) ties each
row to the weights that made it; :func:`verify` flags rows of other weights, missing and
duplicate files, and duplicate rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from movierep import files, tables
from movierep.errors import UserError
from movierep.jobs import Job, error_record, part_key

FORMAT = "movierep-store"
VERSION = 1
LEVELS = ("event", "shot", "scene")
INFO = "store.json"
CATALOG = "catalog.parquet"


@dataclass(frozen=True)
class LevelInfo:
    """What embedded one level: recorded in ``store.json``, checked on every rerun.

    Attributes:
        encoder: the architecture(s), e.g. ``"slow_d"``, ``"slow_d+txe"``, ``"vit"``.
        checkpoint: the encoder's checkpoint folder or CLIP file (for events: the backbone).
        checkpoint_id: first 16 hex of the sha256 of its weights file (``a+b`` when a
            contextualizer follows the backbone).
        dim: D, the embedding size.
        contextualizer: the TxE checkpoint of contextual event embeddings, if any.
        shots_per_scene: shots per scene (scene level).
    """

    encoder: str
    checkpoint: str
    checkpoint_id: str
    dim: int
    contextualizer: str | None = None
    shots_per_scene: int | None = None

    def same_embeddings(self, other: LevelInfo) -> bool:
        """True when both describe the same embeddings (checkpoint paths may differ)."""
        return (self.encoder, self.checkpoint_id, self.dim, self.shots_per_scene) == (
            other.encoder,
            other.checkpoint_id,
            other.dim,
            other.shots_per_scene,
        )


@dataclass(frozen=True)
class StoreInfo:
    """The contents of ``store.json``.

    Attributes:
        root: the store folder.
        detector: the shot detector every movie was ingested with.
        levels: level name -> :class:`LevelInfo`.
    """

    root: Path
    detector: str
    levels: dict[str, LevelInfo] = field(default_factory=dict)

    def level(self, name: str) -> LevelInfo:
        """The info of level ``name``; a level the store lacks is a :class:`UserError`."""
        check_level(name)
        if name not in self.levels:
            have = ", ".join(self.levels) or "none"
            raise UserError(f"{self.root / INFO}: the store has no {name!r} level (it has: {have})")
        return self.levels[name]


def check_level(level: str) -> str:
    """Return ``level`` if it is one of :data:`LEVELS`, else raise a :class:`UserError`."""
    if level not in LEVELS:
        raise UserError(f"unknown level {level!r} (choose from {', '.join(LEVELS)})")
    return level


def parse_levels(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"event,scene"`` (or a sequence of names) -> the levels, in :data:`LEVELS` order."""
    names = text.split(",") if isinstance(text, str) else list(text)
    wanted = {check_level(n.strip()) for n in names if n.strip()}
    if not wanted:
        raise UserError("--levels: name at least one level (event, shot, scene)")
    return tuple(level for level in LEVELS if level in wanted)


def store_schema(dim: int) -> pa.Schema:
    """The row schema of every level file, with D = ``dim``."""
    return pa.schema(
        [
            ("movie_id", pa.string()),
            ("level", pa.string()),
            ("item_index", pa.int32()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("start_shot", pa.int32()),
            ("end_shot", pa.int32()),
            ("keyframe", pa.string()),
            ("encoder", pa.string()),
            ("checkpoint_id", pa.string()),
            ("embedding", tables.embedding_type(dim)),
        ]
    )


def level_table(
    movie_id: str,
    level: str,
    info: LevelInfo,
    *,
    item_index: Sequence[int],
    start_time: Sequence[float],
    end_time: Sequence[float],
    embeddings: np.ndarray,
    start_shot: Sequence[int | None] | None = None,
    end_shot: Sequence[int | None] | None = None,
    keyframe: Sequence[str | None] | None = None,
) -> pa.Table:
    """One movie's rows of one level, in :func:`store_schema`.

    Args:
        movie_id: the movie.
        level: ``event``, ``shot`` or ``scene``.
        info: the level's encoder (its name, checkpoint id and D fill their columns).
        item_index: (M,) item indices.
        start_time: (M,) seconds.
        end_time: (M,) seconds.
        embeddings: (M, D) float32.
        start_shot: (M,) first shot, or ``None`` for nulls.
        end_shot: (M,) one past the last shot, or ``None``.
        keyframe: (M,) keyframe paths relative to the store, or ``None``.
    """
    m = len(item_index)
    if embeddings.shape != (m, info.dim):
        raise ValueError(f"{m} items need ({m}, {info.dim}) embeddings, got {embeddings.shape}")
    nulls: list[None] = [None] * m
    return pa.Table.from_pydict(
        {
            "movie_id": [movie_id] * m,
            "level": [level] * m,
            "item_index": list(item_index),
            "start_time": list(start_time),
            "end_time": list(end_time),
            "start_shot": nulls if start_shot is None else list(start_shot),
            "end_shot": nulls if end_shot is None else list(end_shot),
            "keyframe": nulls if keyframe is None else list(keyframe),
            "encoder": [info.encoder] * m,
            "checkpoint_id": [info.checkpoint_id] * m,
            "embedding": tables.embedding_array(embeddings.reshape(m, info.dim)),
        },
        schema=store_schema(info.dim),
    )


def bucket(movie_id: str) -> str:
    """The partition folder of a movie: ``bucket=`` + the first 2 hex of sha1(movie_id)."""
    return f"bucket={hashlib.sha1(movie_id.encode()).hexdigest()[:2]}"


def movie_file(store: str | Path, level: str, movie_id: str) -> Path:
    """``STORE/<level>/bucket=<hh>/<movie>.parquet``."""
    return Path(store) / level / bucket(movie_id) / f"{part_key(movie_id)}.parquet"


def keyframes_dir(store: str | Path, movie_id: str) -> Path:
    """``STORE/keyframes/<movie>``: the movie's shot keyframes."""
    return Path(store) / "keyframes" / part_key(movie_id)


def work_dir(store: str | Path, movie_id: str) -> Path:
    """``STORE/work/<movie>``: ingestion scratch of a movie being embedded."""
    return Path(store) / "work" / part_key(movie_id)


def read_info(store: str | Path) -> StoreInfo:
    """Read ``STORE/store.json``.

    Raises:
        UserError: no such file (not a store), or a format this version cannot read.
    """
    path = Path(store) / INFO
    if not path.is_file():
        raise UserError(f"{path}: not a movierep store (no {INFO}; run `movierep embed` first)")
    raw = files.read_json(path)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise UserError(f"{path}: not a movierep store file (format is not {FORMAT!r})")
    if raw.get("version") != VERSION:
        raise UserError(f"{path}: store format version {raw.get('version')}, expected {VERSION}")
    try:
        levels = {name: _level_info(entry) for name, entry in raw["levels"].items()}
        return StoreInfo(Path(store), str(raw["detector"]), levels)
    except (KeyError, TypeError, AttributeError) as err:
        raise UserError(f"{path}: malformed store file ({err})") from None


def _level_info(entry: dict[str, Any]) -> LevelInfo:
    """A ``store.json`` level entry (``scene_window``, its name before issue 32, read too)."""
    entry = dict(entry)
    if "scene_window" in entry:
        entry["shots_per_scene"] = entry.pop("scene_window")
    return LevelInfo(**entry)


def write_info(store: str | Path, detector: str, levels: dict[str, LevelInfo]) -> StoreInfo:
    """Create ``store.json``, or add ``levels`` to an existing one.

    A level the store already has must have been embedded the same way (same encoder,
    checkpoint id, D, scene window) and the shot detector must match, so one store never
    mixes embeddings of different weights; a moved checkpoint's new path is recorded.

    Raises:
        UserError: the store holds that level from another encoder, or another detector.
    """
    path = Path(store) / INFO
    merged: dict[str, LevelInfo] = {}
    if path.is_file():
        old = read_info(store)
        if old.detector != detector:
            raise UserError(
                f"{path}: the store's shots come from {old.detector!r}, not {detector!r} "
                "(use the same --detector, or a new store)"
            )
        merged.update(old.levels)
    for name, info in levels.items():
        check_level(name)
        if name in merged and not merged[name].same_embeddings(info):
            was = merged[name]
            raise UserError(
                f"{path}: level {name!r} holds {was.encoder} {was.checkpoint_id} (D={was.dim}), "
                f"not {info.encoder} {info.checkpoint_id} (D={info.dim}); use a new store"
            )
        merged[name] = info
    ordered = {name: merged[name] for name in LEVELS if name in merged}
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "detector": detector,
        "levels": {name: asdict(info) for name, info in ordered.items()},
    }
    files.write_json(path, payload)
    return StoreInfo(Path(store), detector, ordered)


def update_catalog(store: str | Path, jobs: Sequence[Job]) -> None:
    """Add ``jobs`` (movie id, video path) to ``STORE/catalog.parquet``."""
    path = Path(store) / CATALOG
    paths = {}
    if path.is_file():
        old = tables.read_table(path)
        paths = dict(zip(old["movie_id"].to_pylist(), old["path"].to_pylist(), strict=True))
    paths.update({job.id: str(job.path) for job in jobs})
    ids = sorted(paths)
    table = pa.table({"movie_id": ids, "path": [paths[i] for i in ids]})
    tables.write_table(path, table)


def catalog_ids(store: str | Path) -> list[str]:
    """The movie ids of ``STORE/catalog.parquet`` (empty when there is none)."""
    path = Path(store) / CATALOG
    if not path.is_file():
        return []
    return [str(m) for m in tables.read_table(path, ["movie_id"])["movie_id"].to_pylist()]


def movie_done(store: str | Path, levels: Sequence[str], movie_id: str) -> bool:
    """True when the movie has its file for every level of ``levels``."""
    return all(movie_file(store, level, movie_id).is_file() for level in levels)


def write_movie(store: str | Path, level: str, table: pa.Table) -> Path:
    """Write one movie's rows of one level atomically to its file; returns the file."""
    ids = set(table["movie_id"].to_pylist())
    levels = set(table["level"].to_pylist())
    if len(ids) > 1 or levels - {level}:
        raise ValueError(f"a level file holds one movie of one level, got {ids} / {levels}")
    if not ids:
        raise ValueError("write_movie needs the movie's id in at least one row")
    return tables.write_table(movie_file(store, level, ids.pop()), table)


def level_files(store: str | Path, level: str) -> list[Path]:
    """Every level file of ``level``, by movie (temporary files of killed writes skipped)."""
    folder = Path(store) / check_level(level)
    found = (p for p in folder.glob("bucket=*/*.parquet") if not p.name.startswith("."))
    return sorted(found, key=lambda p: (p.name, p.parent.name))


def read_level(
    store: str | Path,
    level: str,
    *,
    movie_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """One level of the store as one table (``pyarrow.dataset`` over its files).

    Args:
        store: the store folder.
        level: ``event``, ``shot`` or ``scene``.
        movie_ids: only these movies (each must have its file); default every file.
        columns: only these columns.

    Returns:
        The rows, file after file (movies in file order, items in order within a movie).
    """
    info = read_info(store).level(level)
    if movie_ids is None:
        paths = level_files(store, level)
    else:
        paths = [movie_file(store, level, m) for m in movie_ids]
        for movie, path in zip(movie_ids, paths, strict=True):
            if not path.is_file():
                raise UserError(f"{path}: movie {movie!r} has no {level} embeddings in the store")
    schema = store_schema(info.dim)
    names = list(columns) if columns is not None else schema.names
    if not paths:
        return schema.empty_table().select(names)
    try:
        dataset = ds.dataset([str(p) for p in paths], schema=schema, format="parquet")
        return dataset.to_table(columns=names)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as err:
        message = " ".join(str(err).split())
        raise UserError(f"{Path(store) / level}: unreadable level files ({message})") from None


def iter_movies(store: str | Path, level: str) -> Iterator[tuple[str, pa.Table]]:
    """Yield ``(movie_id, rows)`` for every movie with a file of ``level``."""
    for path in level_files(store, level):
        table = tables.read_table(path)
        if table.num_rows:
            yield str(table["movie_id"][0].as_py()), table


def _failure_file(store: str | Path, movie_id: str) -> Path:
    return Path(store) / "failures" / f"{part_key(movie_id)}.json"


def record_failure(
    store: str | Path, job: Job, stage: str, err: BaseException, outcome: str = "failed"
) -> dict[str, str]:
    """Write ``STORE/failures/<movie>.json`` for a movie that failed; returns the record.

    ``outcome="partial"`` records a movie that was stored though damaged (its error names
    what was lost).
    """
    record = error_record(job, stage, err, outcome)
    files.write_json(_failure_file(store, job.id), record, indent=None)
    return record


def clear_failure(store: str | Path, movie_id: str) -> None:
    """Remove a movie's failure record (it has just succeeded)."""
    _failure_file(store, movie_id).unlink(missing_ok=True)


def failed_ids(store: str | Path) -> list[str]:
    """Movies whose last attempt failed (not those stored with a ``partial`` record), sorted."""
    folder = Path(store) / "failures"
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return sorted(r["id"] for r in records if r.get("outcome", "failed") == "failed")


def read_failures(store: str | Path) -> pa.Table:
    """The movies whose last attempt failed or was stored though damaged (``outcome``).

    Returns:
        A :data:`movierep.tables.FAILURES` table.
    """
    folder = Path(store) / "failures"
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    columns = {name: [str(r[name]) for r in records] for name in tables.FAILURES.names}
    return pa.Table.from_pydict(columns, schema=tables.FAILURES)


def write_failures(store: str | Path) -> pa.Table:
    """Refresh ``STORE/failures.parquet`` from the failure records; returns the table."""
    table = read_failures(store)
    tables.write_table(Path(store) / "failures.parquet", table)
    return table
