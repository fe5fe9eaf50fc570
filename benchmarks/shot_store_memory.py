"""Peak memory of per-movie shot-feature reads on a synthetic 10,000 × 1,500-shot catalog.

Writes ``benchmarks/results/shot_store_memory.json``. Movies2Scenes reads E_fixed shot
features one movie pair at a time (movie-similarity learning, scene-pair selection); the
paper's catalog is 30K movies, 33M shots × 512 float32 ≈ 67 GB, so the features must not
be loaded whole (:func:`movierep.features.shot_features.movie_features` did that). This measures
:class:`movierep.features.shot_store.ShotFeatureStore` at real-catalog row counts:

1. ``write``: a synthetic ``shot_features`` table of 10,000 movies × 1,500 shots (15M rows)
   written by :func:`~movierep.features.shot_store.write_shot_features` (each movie whole
   in its own row group). **D = 128 float32** (7.7 GB of features): D = 512 would be 30.7
   GB, more than the free disk of the machine it ran on; rows and row groups are the
   paper's order of magnitude, and the store's memory per movie scales with D linearly.
2. ``pairs``: build the store's index (footer only), then read both movies of 1,000 random
   movie pairs.
3. ``select``: ``select_pairs`` (the ``movierep select-pairs`` code path) over 200 similar
   movie pairs (100 movies × 2 random neighbours, as a pairs table lists them) with a
   small random ShotAdjacencyNet (D → 128 hidden, cosine), scenes of 9 shots.
4. ``large_groups``: the same movies' first 1,000 written as one concatenated table
   (pyarrow's default row groups of up to 1Mi rows: grouped by movie, not aligned; how
   ``movierep extract shots`` merged its parts before it streamed them through
   :func:`write_shot_features`): per-movie read time and memory, and
   :func:`regroup_shot_features`.
5. ``whole_table``: the old whole-table load, ``movie_features(read_table(...))``, on
   those 1,000 movies; its peak over the bytes of features gives the factor used to
   extrapolate to the full synthetic catalog and to the paper's.

Each step runs in a fresh subprocess; peak RSS is the process's ``VmHWM`` (resident high
water mark), reported with the RSS after imports (torch, pyarrow, movierep) subtracted as
``above_baseline``. Reads may be served from the OS page cache, which is not RSS. The
synthetic files are written under ``--dir`` (default: the system temp folder) and deleted.

Usage::

    python benchmarks/shot_store_memory.py [--movies 10000] [--shots 1500] [--dim 128]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from movierep import tables
from movierep.checkpoint import save_checkpoint
from movierep.features.shot_features import movie_features, shot_features_schema
from movierep.features.shot_store import (
    ShotFeatureStore,
    regroup_shot_features,
    write_shot_features,
)
from movierep.models.factory import create_model, model_config
from movierep.similarity import scene_pairs
from movierep.similarity.scene_pairs import select_pairs

RESULTS = Path(__file__).resolve().parent / "results" / "shot_store_memory.json"
READ_PAIRS = 1000
SELECT_MOVIES, NEIGHBOURS = 100, 2
SMALL_MOVIES = 1000
#: Data-segment limit of every step: a regression to whole-table loads fails, not the machine.
LIMIT_BYTES = 8 * 2**30
WINDOW = 9
PAPER = {"movies": 30_000, "shots": 33_000_000, "dim": 512}
NET = {"hidden_dim": 128, "num_shots": 32, "scene_kernel": 4, "scene_stride": 2,
       "pool_kernel": 4, "pool_stride": 2, "cosine": True}  # fmt: skip


def mib(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def movie_ids(n: int) -> list[str]:
    return [f"tt{i:07d}" for i in range(n)]


def movie_rows(movie: str, index: int, shots: int, dim: int) -> pa.Table:
    """One synthetic movie: ``shots`` shots of 2 s, Gaussian features (seeded by its index)."""
    x = np.random.default_rng(index).standard_normal((shots, dim), dtype=np.float32)
    start = np.arange(shots, dtype=np.float64) * 2.0
    return pa.Table.from_pydict(
        {
            "movie_id": [movie] * shots,
            "shot_index": np.arange(shots, dtype=np.int32),
            "start_time": start,
            "end_time": start + 2.0,
            "feature": tables.embedding_array(x),
        },
        schema=shot_features_schema(dim),
    )


def case_write(args: dict[str, Any]) -> dict[str, Any]:
    movies, shots, dim = args["movies"], args["shots"], args["dim"]
    ids = movie_ids(movies)
    t0 = time.perf_counter()
    write_shot_features(
        args["path"], shot_features_schema(dim),
        (movie_rows(m, i, shots, dim) for i, m in enumerate(ids)),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    small = pa.concat_tables(movie_rows(m, i, shots, dim) for i, m in enumerate(ids[:SMALL_MOVIES]))
    pq.write_table(small, args["small"])  # extract's merge: pyarrow's default row groups
    meta = pq.ParquetFile(args["path"]).metadata
    small_meta = pq.ParquetFile(args["small"]).metadata
    return {
        "seconds": seconds,
        "bytes": os.path.getsize(args["path"]),
        "row_groups": meta.num_row_groups,
        "rows": meta.num_rows,
        "small_bytes": os.path.getsize(args["small"]),
        "small_row_groups": [
            small_meta.row_group(g).num_rows for g in range(small_meta.num_row_groups)
        ],
    }


def read_pairs(store: ShotFeatureStore, movies: list[str], pairs: int, seed: int) -> float:
    """Seconds per movie pair of reading both movies of ``pairs`` random pairs."""
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(movies), (pairs, 2))
    t0 = time.perf_counter()
    for i, j in chosen.tolist():
        a, b = store[movies[i]], store[movies[j]]
        assert a.shape[0] > 0 and b.shape[0] > 0
    return (time.perf_counter() - t0) / pairs


def case_pairs(args: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    store = ShotFeatureStore(args["path"])
    index_seconds = time.perf_counter() - t0
    index_rss = mib("VmRSS")
    per_pair = read_pairs(store, list(store), READ_PAIRS, seed=0)
    x = store[next(iter(store))]
    return {
        "movies": len(store),
        "index_seconds": index_seconds,
        "rss_after_index_mib": index_rss,
        "pairs": READ_PAIRS,
        "seconds_per_pair": per_pair,
        "movie_mib": x.numel() * x.element_size() / 2**20,
        "cache_movies": store.cache_size,
    }


def case_select(args: dict[str, Any]) -> dict[str, Any]:
    if "ShotFeatureStore" not in vars(scene_pairs):
        raise RuntimeError("select_pairs does not read through the ShotFeatureStore")
    run = Path(args["run"])
    torch.manual_seed(0)
    net = create_model("shot_adjacency", input_dim=args["dim"], **NET)
    save_checkpoint(run / "last", net, "shot_adjacency", model_config(net))
    rng = np.random.default_rng(1)
    ids = movie_ids(args["movies"])
    chosen = rng.choice(len(ids), SELECT_MOVIES, replace=False)
    pairs = [
        (ids[i], ids[j])
        for i in sorted(chosen.tolist())
        for j in rng.choice(len(ids), NEIGHBOURS, replace=False).tolist()
        if j != i
    ]
    movie_a, movie_b = zip(*pairs, strict=True)
    tables.write_table(run / "pairs.parquet", pa.table({"movie_a": movie_a, "movie_b": movie_b}))
    t0 = time.perf_counter()
    selection = select_pairs(
        run, args["path"], run / "p_scene.parquet", window=WINDOW, device="cpu"
    )
    seconds = time.perf_counter() - t0
    return {
        "movie_pairs": selection.movie_pairs,
        "scene_pairs": selection.num_rows,
        "scene_pairs_per_movie_pair": selection.per_movie_pair,
        "seconds": seconds,
        "seconds_per_pair": seconds / max(selection.movie_pairs, 1),
        "window": WINDOW,
        "net": {"input_dim": args["dim"], **NET},
        "torch_threads": torch.get_num_threads(),
    }


def case_large_groups(args: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    store = ShotFeatureStore(args["small"], cache_size=0)
    index_seconds = time.perf_counter() - t0
    reads = 20
    rng = np.random.default_rng(2)
    movies = list(store)
    t0 = time.perf_counter()
    for i in rng.integers(0, len(movies), reads).tolist():
        store[movies[i]]
    per_movie = (time.perf_counter() - t0) / reads
    t0 = time.perf_counter()
    regroup_shot_features(args["small"], args["regrouped"])
    regroup_seconds = time.perf_counter() - t0
    aligned = ShotFeatureStore(args["regrouped"], cache_size=0)
    t0 = time.perf_counter()
    for i in rng.integers(0, len(movies), reads).tolist():
        aligned[movies[i]]
    return {
        "movies": len(movies),
        "grouped_by_movie": store.grouped,
        "index_seconds": index_seconds,
        "seconds_per_movie": per_movie,
        "regroup_seconds": regroup_seconds,
        "seconds_per_movie_after_regroup": (time.perf_counter() - t0) / reads,
    }


def case_whole_table(args: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    feats = movie_features(tables.read_table(args["small"]))
    seconds = time.perf_counter() - t0
    feature_bytes = sum(x.numel() * x.element_size() for x in feats.values())
    return {"movies": len(feats), "seconds": seconds, "feature_bytes": feature_bytes}


CASES = {
    "write": case_write,
    "pairs": case_pairs,
    "select": case_select,
    "large_groups": case_large_groups,
    "whole_table": case_whole_table,
}


def run_case(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """One case in this process: its result plus baseline and peak RSS (MiB)."""
    resource.setrlimit(resource.RLIMIT_DATA, (LIMIT_BYTES, LIMIT_BYTES))
    baseline = mib("VmRSS")
    result = CASES[name](args)
    peak = mib("VmHWM")
    return {**result, "baseline_rss_mib": baseline, "peak_rss_mib": peak,
            "peak_above_baseline_mib": peak - baseline}  # fmt: skip


def in_subprocess(name: str, args: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--case", name, "--args", json.dumps(args)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"case {name} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", type=int, default=10_000)
    parser.add_argument("--shots", type=int, default=1_500)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: one case, print JSON
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, json.loads(args.args))))
        return 0

    rows = args.movies * args.shots
    feature_bytes = rows * args.dim * 4
    free = shutil.disk_usage(args.dir).free
    if feature_bytes * 1.1 + 2**30 > free:
        raise SystemExit(f"{args.dir}: {free / 1e9:.1f} GB free, the catalog needs more")
    work = Path(tempfile.mkdtemp(prefix="shot_store_", dir=args.dir))
    paths = {
        "path": str(work / "shot_features.parquet"),
        "small": str(work / "small_default_groups.parquet"),
        "regrouped": str(work / "small_regrouped.parquet"),
        "run": str(work / "moviesim"),
    }
    common = {"movies": args.movies, "shots": args.shots, "dim": args.dim, **paths}
    results: dict[str, Any] = {}
    try:
        for name in CASES:
            results[name] = in_subprocess(name, common)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    whole = results["whole_table"]
    factor = (whole["peak_rss_mib"] - whole["baseline_rss_mib"]) * 2**20 / whole["feature_bytes"]
    paper_bytes = PAPER["shots"] * PAPER["dim"] * 4
    report = {
        "benchmark": "shot_store_memory",
        "catalog": {
            "movies": args.movies,
            "shots_per_movie": args.shots,
            "rows": rows,
            "dim": args.dim,
            "dtype": "float32",
            "why_dim": f"D = 512 would be {rows * 512 * 4 / 1e9:.1f} GB of features, more "
            "than the disk had free; memory per movie scales linearly with D",
            "feature_bytes": feature_bytes,
            "file_bytes": results["write"]["bytes"],
            "file_gb": results["write"]["bytes"] / 1e9,
            "row_groups": results["write"]["row_groups"],
            "write_seconds": results["write"]["seconds"],
        },
        "store": {
            "index_seconds": results["pairs"]["index_seconds"],
            "read_pairs": results["pairs"],
            "select_pairs": results["select"],
            "large_row_groups": results["large_groups"],
        },
        "whole_table_load": {
            "measured_on": whole,
            "peak_over_feature_bytes": factor,
            "this_catalog_gb": {
                "features": feature_bytes / 1e9,
                "peak": factor * feature_bytes / 1e9,
            },
            "paper_catalog_gb": {"features": paper_bytes / 1e9, "peak": factor * paper_bytes / 1e9},
            "note": "movie_features(read_table(...)) holds the Arrow table, its combined "
            "chunks and the per-movie tensors at once",
        },
        "peak_rss_mib": {name: r["peak_rss_mib"] for name, r in results.items()},
        "peak_above_baseline_mib": {
            name: r["peak_above_baseline_mib"] for name, r in results.items()
        },
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "pyarrow": pa.__version__,
        },
        "note": "peak RSS = VmHWM of a fresh process per step; reads may hit the page cache",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
