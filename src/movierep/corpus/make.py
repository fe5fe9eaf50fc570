"""``make_corpus``: write a whole synthetic corpus (videos, catalog, logs, ground truth).

Each movie draws from its own random stream ``(seed, stream, movie index)``, and its
franchise (if any) from the franchise's stream (:mod:`.franchise`), so a movie does not
change when others are added, and the same seed and options give byte-identical
annotations. Movies are rendered and encoded one frame at a time.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from movierep import files
from movierep.corpus.audience import engagement, watch_log
from movierep.corpus.crew import DIRECTORS, WRITERS
from movierep.corpus.encode import video_codec, write_video
from movierep.corpus.export.ids import imdb_ids
from movierep.corpus.franchise import franchise_of
from movierep.corpus.kinetics import ACTIONS, make_kinetics
from movierep.corpus.metadata import MovieMeta, sample_meta
from movierep.corpus.presets import CorpusOptions, resolve_options
from movierep.corpus.render import MovieRenderer
from movierep.corpus.script import MovieScript, write_script
from movierep.corpus.staging import Staging, choreograph
from movierep.corpus.synopsis import synopsis, title
from movierep.corpus.truth import TruthTables
from movierep.corpus.vocab import vocabularies
from movierep.errors import UserError
from movierep.runlog import progress
from movierep.tables import write_table

GENERATOR_VERSION = "3"
# Random streams (second entry of each seed sequence).
_SCRIPT, _TEXT, _AUDIENCE, _SPLIT, _RENDER, _FRANCHISE = 1, 2, 3, 4, 5, 6

CATALOG_SCHEMA = pa.schema(
    [
        ("movie_id", pa.string()),
        ("path", pa.string()),
        ("title", pa.string()),
        ("imdb_id", pa.string()),
        ("genre", pa.string()),
        ("director", pa.string()),
        ("writer", pa.string()),
        ("year", pa.int32()),
        ("synopsis", pa.string()),
        ("like_count", pa.int64()),
        ("dislike_count", pa.int64()),
        ("like_ratio", pa.float64()),
        ("view_count", pa.int64()),
        ("relationship", pa.string()),
        ("duration_s", pa.float64()),
        ("fps", pa.int32()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("num_frames", pa.int64()),
        ("split", pa.string()),
    ]
)


def plan_movie(index: int, options: CorpusOptions, seed: int) -> tuple[MovieScript, Staging]:
    """Draw movie ``index``'s catalog facts, script and staging (no pixels)."""
    rng = np.random.default_rng([seed, _SCRIPT, index])
    franchise, instalment = franchise_of(index, seed, _FRANCHISE)
    meta = sample_meta(index, options.minutes * 60 / 2, rng, franchise, instalment)
    script = write_script(meta, options.fps, rng)
    return script, choreograph(script, options.width, options.height, rng)


def renderer(script: MovieScript, staging: Staging, seed: int) -> MovieRenderer:
    """The frame renderer of a planned movie."""
    rng = np.random.default_rng([seed, _RENDER, script.meta.index])
    return MovieRenderer(script, staging, rng)


def assign_splits(count: int, seed: int) -> list[str]:
    """Split movies 60/20/20 into train/val/test (at least one val and test movie from 3 on)."""
    n_val = n_test = max(1, round(0.2 * count)) if count >= 3 else 0
    order = np.random.default_rng([seed, _SPLIT]).permutation(count)
    splits = ["train"] * count
    for rank, movie in enumerate(order):
        if rank < n_val:
            splits[int(movie)] = "val"
        elif rank < n_val + n_test:
            splits[int(movie)] = "test"
    return splits


def _catalog_row(
    script: MovieScript, options: CorpusOptions, seed: int, split: str
) -> dict[str, Any]:
    meta: MovieMeta = script.meta
    rng = np.random.default_rng([seed, _TEXT, meta.index])
    votes = engagement(meta, rng)
    return {
        "movie_id": meta.movie_id,
        "path": f"movies/{meta.movie_id}.mp4",
        "title": title(script, rng),
        "genre": meta.genre.name,
        "director": meta.director.name,
        "writer": meta.writer.name,
        "year": meta.year,
        "synopsis": synopsis(script, rng),
        "like_count": votes.like_count,
        "dislike_count": votes.dislike_count,
        "like_ratio": votes.like_ratio,
        "view_count": votes.view_count,
        "relationship": meta.relationship,
        "duration_s": script.num_frames / script.fps,
        "fps": options.fps,
        "width": options.width,
        "height": options.height,
        "num_frames": script.num_frames,
        "split": split,
    }


def _corpus_info(options: CorpusOptions, preset: str, seed: int) -> dict[str, Any]:
    return {
        "generator": "movierep.corpus",
        "generator_version": GENERATOR_VERSION,
        "preset": preset,
        "seed": seed,
        "options": dataclasses.asdict(options),
        "codec": video_codec(),
        "classes": {
            **vocabularies(),
            "directors": [d.name for d in DIRECTORS],
            "writers": [w.name for w in WRITERS],
            "kinetics": list(ACTIONS),
        },
    }


def make_movie(
    root: Path, index: int, options: CorpusOptions, seed: int, split: str
) -> tuple[MovieMeta, dict[str, Any], TruthTables]:
    """Plan, render and encode movie ``index``; return its facts, catalog row and truth rows."""
    script, staging = plan_movie(index, options, seed)
    frames = renderer(script, staging, seed).frames()
    path = root / "movies" / f"{script.meta.movie_id}.mp4"
    write_video(path, frames, options.fps, options.width, options.height, options.crf)
    truth = TruthTables()
    truth.add_movie(script, staging)
    return script.meta, _catalog_row(script, options, seed, split), truth


#: Everything ``make_corpus`` (and the benchmark exports) write: cleared before a rebuild.
GENERATED = ("movies", "truth", "kinetics", "vidsitu", "lvu", "movienet")


def _prepare_folder(root: Path) -> Path:
    """Create ``root``, or clear the generated parts of an older corpus there.

    Raises:
        UserError: ``root`` is a file, or a non-empty folder that is not a corpus.
    """
    if root.exists() and not root.is_dir():
        raise UserError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()):
        if not (root / "corpus.json").is_file():
            raise UserError(f"{root}: folder is not empty and not a corpus; choose a new folder")
        for name in GENERATED:
            shutil.rmtree(root / name, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _run_movies(
    jobs: list[tuple[Path, int, CorpusOptions, int, str]], workers: int
) -> Iterator[tuple[MovieMeta, dict[str, Any], TruthTables]]:
    """Yield :func:`make_movie` results in movie order, from ``workers`` processes."""
    if workers == 1:
        yield from (make_movie(*job) for job in jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(make_movie, *zip(*jobs, strict=True))


def make_corpus(
    out: str | Path, preset: str = "tiny", seed: int = 0, workers: int = 1, **overrides: Any
) -> Path:
    """Generate a synthetic corpus into ``out`` (layout in ``docs/contracts.md``).

    Args:
        out: output folder: new, empty, or an older corpus (which is replaced).
        preset: ``tiny`` or ``demo`` (:data:`PRESETS`).
        seed: random seed; with the options it fixes every annotation byte.
        workers: processes rendering movies in parallel (the output does not depend on it).
        **overrides: :class:`CorpusOptions` fields (``movies``, ``minutes``, ``fps``, ...).

    Returns:
        ``out`` as a Path. Benchmark exports (``vidsitu/``, ``lvu/``, ``movienet/``) are
        added by ``movierep.corpus.export.export_benchmarks`` when that module is installed.
    """
    options = resolve_options(preset, **overrides)
    if workers < 1:
        raise UserError("corpus options: --workers must be at least 1")
    root = _prepare_folder(Path(out))
    splits = assign_splits(options.movies, seed)
    jobs = [(root, i, options, seed, splits[i]) for i in range(options.movies)]
    truth = TruthTables()
    catalog_rows, metas = [], []
    for meta, row, movie_truth in progress(
        _run_movies(jobs, workers), desc="movies", total=options.movies
    ):
        truth.extend(movie_truth)
        catalog_rows.append(row)
        metas.append(meta)
    imdb = imdb_ids(row["movie_id"] for row in catalog_rows)  # the benchmarks' ids too
    catalog_rows = [{**row, "imdb_id": imdb[row["movie_id"]]} for row in catalog_rows]
    write_table(root / "catalog.parquet", pa.Table.from_pylist(catalog_rows, schema=CATALOG_SCHEMA))
    audience_rng = np.random.default_rng([seed, _AUDIENCE])
    write_table(root / "watch_log.parquet", watch_log(metas, options.users, audience_rng))
    for name in ("shots", "scenes", "events", "event_links", "characters", "boxes"):
        write_table(root / "truth" / f"{name}.parquet", truth.table(name))
    write_table(root / "moderation.parquet", truth.table("moderation"))
    per_class = {"train": options.kinetics_train, "val": options.kinetics_val}
    make_kinetics(root / "kinetics", per_class, options.kinetics_seconds, options.fps,
                  options.width, options.height, seed, options.crf, workers)  # fmt: skip
    info = json.dumps(_corpus_info(options, preset, seed), indent=2, sort_keys=True)
    files.write_text(root / "corpus.json", info + "\n")
    _export_benchmarks(root)
    return root


def _export_benchmarks(root: Path) -> None:
    """Derive the benchmark-format folders when ``movierep.corpus.export`` is available."""
    try:
        from movierep.corpus import export
    except ImportError:
        return
    export.export_benchmarks(root)
