"""Speed of the synthetic corpus generator (targets: tiny < 20 s, demo < 5 min on 2 cores).

Measures:

* ``render_fps``: frames/s of ``MovieRenderer`` alone (one 1-minute movie, no encoding).
* ``render_encode_fps``: frames/s rendered and encoded to H.264 (same movie).
* ``tiny_s``: wall seconds of ``make_corpus(preset="tiny")`` without the benchmark exports.
* ``demo_s`` (with ``--demo``): the same for the demo preset, with ``--workers``.

Usage::

    python benchmarks/corpus_speed.py                 # writes benchmarks/results/corpus_speed.json
    python benchmarks/corpus_speed.py --demo --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import movierep.corpus.make as make
from movierep import files
from movierep.corpus.encode import write_video
from movierep.corpus.presets import resolve_options

RESULTS = Path(__file__).resolve().parent / "results" / "corpus_speed.json"


def _frames_per_second(encode: bool, tmp: Path) -> float:
    options = resolve_options("tiny", movies=1, minutes=1.0)
    script, staging = make.plan_movie(0, options, seed=0)
    frames = make.renderer(script, staging, seed=0)
    start = time.perf_counter()
    if encode:
        write_video(tmp / "movie.mp4", frames.frames(), options.fps, options.width, options.height)
    else:
        for _ in frames.frames():
            pass
    return script.num_frames / (time.perf_counter() - start)


def _corpus_seconds(preset: str, workers: int, tmp: Path) -> float:
    export = make._export_benchmarks
    make._export_benchmarks = lambda root: None  # time the generator only
    try:
        start = time.perf_counter()
        make.make_corpus(tmp / preset, preset=preset, seed=0, workers=workers)
        return time.perf_counter() - start
    finally:
        make._export_benchmarks = export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="also time the demo preset")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        results["render_fps"] = round(_frames_per_second(False, tmp), 1)
        results["render_encode_fps"] = round(_frames_per_second(True, tmp), 1)
        results["tiny_s"] = round(_corpus_seconds("tiny", 1, tmp), 2)
        if args.demo:
            results["demo_s"] = round(_corpus_seconds("demo", args.workers, tmp), 2)
            results["demo_workers"] = args.workers
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(RESULTS, results, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
