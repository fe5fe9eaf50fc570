"""Checking a store: every expected movie has one file per level, and no row is doubled.

A store is written one (level, movie) file at a time, atomically, by several workers that
may be killed at any moment (:mod:`movierep.store.layout`). :func:`verify` checks the
result from the files alone: every movie of the catalog has exactly one file per level
(or a failure record), each file sits where its movie id puts it and holds only that
movie's rows of that level, every row comes from the encoder (checkpoint id, D) that
``store.json`` records, and no ``(movie, level, item_index)`` appears twice. It reads only
the key columns and each file's schema, never the embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from movierep import tables
from movierep.errors import UserError
from movierep.store.layout import (
    LevelInfo,
    catalog_ids,
    failed_ids,
    level_files,
    movie_done,
    movie_file,
    read_info,
)


@dataclass
class StoreCheck:
    """What :func:`verify` found.

    Attributes:
        store: the store folder.
        expected: movies the catalog names.
        failed: movies with a failure record and no complete set of files.
        rows: level -> number of rows.
        missing: ``(movie_id, level)`` of expected, not failed movies without their file.
        duplicate_rows: ``(movie_id, level, item_index)`` found more than once.
        bad_files: ``"<file>: <problem>"`` for files in the wrong place, holding rows of
            another movie or level, of another encoder than ``store.json`` names, or unreadable.
    """

    store: Path
    expected: list[str]
    failed: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    missing: list[tuple[str, str]] = field(default_factory=list)
    duplicate_rows: list[tuple[str, str, int]] = field(default_factory=list)
    bad_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No missing file, no duplicate row, no bad file."""
        return not (self.missing or self.duplicate_rows or self.bad_files)

    def lines(self) -> list[str]:
        """A summary line, then one line per problem (at most 10 of each kind)."""
        rows = ", ".join(f"{n} {level} rows" for level, n in self.rows.items())
        status = "ok" if self.ok else "PROBLEMS"
        out = [
            f"{self.store}: {status}: {len(self.expected)} movies ({len(self.failed)} failed), "
            f"{rows}"
        ]
        out += [f"  missing {level} file of movie {m!r}" for m, level in self.missing[:10]]
        out += [f"  duplicate row {m!r} {lv} {i}" for m, lv, i in self.duplicate_rows[:10]]
        out += [f"  {problem}" for problem in self.bad_files[:10]]
        return out


def verify(store: str | Path, movie_ids: Sequence[str] | None = None) -> StoreCheck:
    """Check a store: one file per (level, movie) for every expected movie, no duplicates.

    Reads only the key columns of every file (and each file's schema). For each level of
    ``store.json``: every expected movie that has not failed has exactly one file, at the
    place its id determines; each file holds rows of its own movie and level only, from the
    encoder (checkpoint id, D) that ``store.json`` records; no ``(movie, level,
    item_index)`` appears twice; no file belongs to a movie outside the expected ones.

    Args:
        store: the store folder.
        movie_ids: the expected movies; default: those of ``STORE/catalog.parquet``.

    Returns:
        A :class:`StoreCheck` (``.ok``, ``.lines()``).
    """
    info = read_info(store)
    expected = list(movie_ids) if movie_ids is not None else catalog_ids(store)
    check = StoreCheck(Path(store), expected)
    wanted = set(expected)
    complete = {m for m in expected if movie_done(store, list(info.levels), m)}
    check.failed = [m for m in failed_ids(store) if m in wanted and m not in complete]
    for level, level_info in info.levels.items():
        found: dict[str, Path] = {}
        keys: list[pa.Table] = []
        for path in level_files(store, level):
            problem, table = _check_file(path, level, level_info)
            if problem:
                check.bad_files.append(f"{path}: {problem}")
            if table is None:
                continue
            keys.append(table.select(["movie_id", "item_index"]))
            movie = str(table["movie_id"][0].as_py()) if table.num_rows else path.stem
            if movie in found:
                check.bad_files.append(f"{path}: a second file of movie {movie!r} ({found[movie]})")
            found[movie] = path
            if movie not in wanted:
                check.bad_files.append(f"{path}: movie {movie!r} is not in the catalog")
        check.missing += [(m, level) for m in expected if m not in found and m not in check.failed]
        rows = pa.concat_tables(keys) if keys else pa.table({"movie_id": [], "item_index": []})
        check.rows[level] = rows.num_rows
        if rows.num_rows:
            counts = rows.group_by(["movie_id", "item_index"]).aggregate([("item_index", "count")])
            dup = counts.filter(pc.greater(counts["item_index_count"], 1))
            check.duplicate_rows += [
                (m, level, i)
                for m, i in zip(
                    dup["movie_id"].to_pylist(), dup["item_index"].to_pylist(), strict=True
                )
            ]
    return check


def _check_file(path: Path, level: str, info: LevelInfo) -> tuple[str | None, pa.Table | None]:
    """``(problem or None, key columns or None if unreadable)`` of one level file."""
    try:
        table = tables.read_table(
            path, ["movie_id", "level", "item_index", "encoder", "checkpoint_id"]
        )
        dim = pq.read_schema(path).field("embedding").type.list_size
    except (UserError, KeyError, pa.ArrowInvalid, OSError) as err:
        return f"unreadable ({' '.join(str(err).split())})", None
    movies = set(table["movie_id"].to_pylist())
    if len(movies) > 1:
        return f"holds the rows of {len(movies)} movies", table
    movie = str(next(iter(movies))) if movies else path.stem
    if movies and path != movie_file(path.parents[2], level, movie):
        return f"misplaced: movie {movie!r} belongs in {movie_file('STORE', level, movie)}", table
    if set(table["level"].to_pylist()) - {level}:
        return f"rows of another level than {level!r}", table
    ids = set(table["checkpoint_id"].to_pylist())
    if ids - {info.checkpoint_id} or dim != info.dim:
        return (
            f"embeddings of {sorted(ids)} (D={dim}), store.json names "
            f"{info.checkpoint_id} (D={info.dim})"
        ), table
    return None, table
