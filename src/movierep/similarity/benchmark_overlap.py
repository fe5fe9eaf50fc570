"""Benchmark-overlap exclusion: no movie of a benchmark's val or test set pretrains.

Movies2Scenes §4.3: "To ensure that there is no overlap between pre-training and
downstream evaluation, during the representation learning step we exclude movies from
MovieCL30K that have the same IMDb IDs as the ones in validation and test sets of
benchmark datasets."

The benchmarks' IMDb ids come from their own split files: LVU's
``lvu_1.0/<task>/{val,test}.csv`` (the ``imdb_id`` column of all nine tasks) and MovieNet's
``scene318/meta/split318.json``. The catalog names each movie's IMDb id in its
``imdb_id`` column; a catalog without one cannot be checked, and the run says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from movierep.data.benchmarks.lvu import LVU_TASKS, load_lvu_task, task_dir
from movierep.data.benchmarks.movienet import load_split318

#: The splits a pretraining movie must not be in.
EVAL_SPLITS = ("val", "test")


def benchmark_imdb_ids(
    lvu: Path | None = None, movienet: Path | None = None, splits: Sequence[str] = EVAL_SPLITS
) -> dict[str, set[str]]:
    """IMDb ids of the benchmarks' evaluation movies, per benchmark.

    Args:
        lvu: folder holding ``lvu_1.0/`` (skipped when None or absent).
        movienet: MovieNet's root, holding ``scene318/`` (skipped when None or absent).
        splits: which splits count (val and test).

    Returns:
        ``{"lvu": ids, "movienet": ids}`` for the benchmarks found.
    """
    found: dict[str, set[str]] = {}
    if lvu is not None and task_dir(lvu).is_dir():
        ids: set[str] = set()
        for task in LVU_TASKS:
            for split in splits:
                if (task_dir(lvu) / task / f"{split}.csv").is_file():
                    ids |= {item.imdb_id for item in load_lvu_task(lvu, task, split)}
        found["lvu"] = ids
    if movienet is not None and (Path(movienet) / "scene318" / "meta" / "split318.json").is_file():
        meta = load_split318(Path(movienet))
        found["movienet"] = {tt for split in splits for tt in meta.get(split, [])}
    return found


@dataclass(frozen=True)
class Overlap:
    """What exclusion did to a list of pretraining movies."""

    kept: list[str]
    removed: dict[str, list[str]] = field(default_factory=dict)
    checked: bool = True

    def summary(self) -> str:
        """One line for the run's log and summary."""
        if not self.checked:
            return (
                "benchmark overlap: the catalog has no imdb_id column, so val/test movies of "
                "LVU and MovieNet could not be excluded"
            )
        parts = ", ".join(f"{len(v)} in {k}" for k, v in sorted(self.removed.items()))
        total = len({m for v in self.removed.values() for m in v})
        return (
            f"benchmark overlap: {total} of {len(self.kept) + total} catalog movies excluded "
            f"({parts or 'none in LVU or MovieNet val/test'})"
        )


def exclude_benchmark_movies(
    catalog: pa.Table, movie_ids: Sequence[str], benchmark_ids: dict[str, set[str]]
) -> Overlap:
    """``movie_ids`` without the movies whose IMDb id is in a benchmark's val/test set.

    Args:
        catalog: ``movie_id`` and (when known) ``imdb_id`` per movie.
        movie_ids: the candidate pretraining movies.
        benchmark_ids: :func:`benchmark_imdb_ids`.

    Returns:
        The kept movies (in their order) and the removed ones per benchmark.
    """
    if "imdb_id" not in catalog.column_names:
        return Overlap(kept=list(movie_ids), checked=False)
    movies, imdb_ids = catalog.column("movie_id").to_pylist(), catalog.column("imdb_id").to_pylist()
    imdb = dict(zip(movies, imdb_ids, strict=True))
    removed = {
        name: [m for m in movie_ids if imdb.get(m) in ids] for name, ids in benchmark_ids.items()
    }
    gone = {m for ms in removed.values() for m in ms}
    return Overlap(
        kept=[m for m in movie_ids if m not in gone],
        removed={k: v for k, v in removed.items() if v},
    )
