"""Derive the real benchmarks' file formats from a synthetic corpus' base files.

``export_benchmarks(root)`` reads ``catalog.parquet``, ``truth/*.parquet`` and ``movies/``
(docs/contracts.md "Corpus layout") and writes ``vidsitu/``, ``lvu/`` and ``movienet/`` in
the formats of ``shared/benchmarks.md``, so the benchmark readers of
:mod:`movierep.data.benchmarks` read the corpus exactly as they read the real data. Each
movie is decoded once; its VidSitu and LVU clips and MovieNet keyframes are written in
that pass (:mod:`.cut`). The same
corpus gives byte-identical annotation files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from movierep.corpus.export import lvu, movienet, vidsitu
from movierep.corpus.export.cut import ClipRequest, cut_movie
from movierep.corpus.export.source import CorpusSource
from movierep.runlog import progress

BENCHMARK_DIRS = ("vidsitu", "lvu", "movienet")


def export_benchmarks(root: Path) -> None:
    """Write ``root/vidsitu``, ``root/lvu`` and ``root/movienet`` from the corpus base files.

    Existing benchmark folders are replaced.

    Args:
        root: corpus folder (``corpus.json``, ``catalog.parquet``, ``truth/``, ``movies/``).

    Raises:
        UserError: a missing table or column, an unknown movie id, or an unreadable movie.
    """
    root = Path(root)
    source = CorpusSource.read(root)
    for name in BENCHMARK_DIRS:
        shutil.rmtree(root / name, ignore_errors=True)
    vidsitu_clips = vidsitu.plan_clips(source, root / "vidsitu")
    lvu_clips = lvu.plan_clips(source, root / "lvu")
    keyframes = movienet.plan_keyframes(source, root / "movienet")
    clips: dict[str, list[ClipRequest]] = {m.movie_id: [] for m in source.movies}
    for clip in vidsitu_clips:
        clips[clip.movie.movie_id].append(clip.request)
    for lvu_clip in lvu_clips:
        clips[lvu_clip.movie.movie_id].append(lvu_clip.request)
    for movie in progress(source.movies, desc="export benchmarks", unit="movie"):
        cut_movie(movie.path, clips[movie.movie_id], keyframes.get(movie.movie_id, []))
    vidsitu.write_annotations(source, vidsitu_clips, root / "vidsitu")
    lvu.write_annotations(source, lvu_clips, root / "lvu")
    movienet.write_annotations(source, root / "movienet")


__all__ = ["BENCHMARK_DIRS", "export_benchmarks"]
