"""Read a corpus folder written by ``movierep corpus make`` (layout in ``docs/contracts.md``).

>>> corpus = Corpus("corpus/")                       # doctest: +SKIP
>>> corpus.catalog.column("genre")                   # doctest: +SKIP
>>> corpus.truth("events").to_pylist()[0]["verb"]    # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from movierep.errors import UserError
from movierep.tables import read_table

#: Tables under ``truth/``.
TRUTH_TABLES: tuple[str, ...] = (
    "shots",
    "scenes",
    "events",
    "event_links",
    "characters",
    "boxes",
)


class Corpus:
    """A generated corpus: its catalog, movies, ground truth, logs and action clips.

    Args:
        root: the corpus folder (holds ``corpus.json`` and ``catalog.parquet``).

    Raises:
        UserError: ``root`` is not a corpus folder.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        for name in ("corpus.json", "catalog.parquet"):
            if not (self.root / name).is_file():
                raise UserError(f"{self.root}: not a corpus folder (no {name})")

    @cached_property
    def info(self) -> dict[str, Any]:
        """``corpus.json``: options, seed, generator version and class lists."""
        path = self.root / "corpus.json"
        try:
            info: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: not valid JSON ({err.msg})") from err
        return info

    def classes(self, name: str) -> list[str]:
        """A class list of ``corpus.json`` (``places``, ``verbs``, ``genres``, ``directors``...)."""
        classes: dict[str, list[str]] = self.info.get("classes", {})
        if name not in classes:
            known = ", ".join(sorted(classes))
            raise UserError(f"{self.root / 'corpus.json'}: no class list {name!r} (have {known})")
        return classes[name]

    @cached_property
    def catalog(self) -> pa.Table:
        """``catalog.parquet``: one row per movie."""
        return read_table(self.root / "catalog.parquet")

    @cached_property
    def movie_ids(self) -> list[str]:
        """Movie ids in catalog order."""
        return [str(m) for m in self.catalog.column("movie_id").to_pylist()]

    def movie_path(self, movie_id: str) -> Path:
        """Absolute path of a movie's video file."""
        paths = dict(zip(self.movie_ids, self.catalog.column("path").to_pylist(), strict=True))
        if movie_id not in paths:
            raise UserError(f"{self.root / 'catalog.parquet'}: no movie {movie_id!r}")
        return self.root / str(paths[movie_id])

    def split_ids(self, split: str) -> list[str]:
        """Movie ids of one split (``train``, ``val`` or ``test``)."""
        splits = self.catalog.column("split").to_pylist()
        return [m for m, s in zip(self.movie_ids, splits, strict=True) if s == split]

    def truth(self, name: str) -> pa.Table:
        """A ground-truth table of ``truth/`` (one of :data:`TRUTH_TABLES`)."""
        if name not in TRUTH_TABLES:
            raise UserError(
                f"{self.root / 'truth'}: unknown table {name!r} ({', '.join(TRUTH_TABLES)})"
            )
        path = self.root / "truth" / f"{name}.parquet"
        if not path.is_file():
            raise UserError(f"{path}: missing from the corpus")
        return read_table(path)

    @property
    def watch_log(self) -> pa.Table:
        """``watch_log.parquet``: user_id, movie_id, timestamp."""
        return read_table(self.root / "watch_log.parquet")

    @property
    def moderation(self) -> pa.Table:
        """``moderation.parquet``: clip_id, movie_id, start_time, end_time, label."""
        return read_table(self.root / "moderation.parquet")

    def kinetics_clips(self, split: str = "train") -> list[tuple[Path, str]]:
        """(path, label) of every action clip listed in ``kinetics/<split>.csv``."""
        table = self.root / "kinetics" / f"{split}.csv"
        if not table.is_file():
            raise UserError(f"{table}: missing from the corpus")
        with open(table, newline="") as f:
            return [(table.parent / row["path"], row["label"]) for row in csv.DictReader(f)]
