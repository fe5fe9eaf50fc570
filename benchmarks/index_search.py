"""Vector index speed and recall: approximate (IVF, HNSW) against exact search, 512-d.

Writes ``benchmarks/results/index_search.json``. For n = 100k and 1M L2-normalised 512-d
vectors and 1,000 queries (k = 10), each index is built the way ``movierep index`` builds it
(:mod:`movierep.store.index`: ``make_index``, ``default_params``, ``train``) and measured:

- ``exact``: ``IndexFlatIP`` (cosine), ms/query over a batch of 1,000 queries (and one query
  at a time), which is also the ground truth;
- ``ivf``: ``IndexIVFFlat``, nlist = 4·√n, trained on ≤ 64·nlist vectors; build time (train,
  add), index size, and for every nprobe of a sweep: recall@10 against exact, ms/query,
  speed-up over exact;
- ``hnsw``: ``IndexHNSWFlat`` (M = 32, efConstruction = 40) the same, sweeping efSearch;
- ``chosen``: the cheapest setting with recall@10 ≥ 0.95, and whether it is ≥ 10x as fast
  as exact search (the target).

Two data sets, both normalised, queries drawn fresh from the same distribution:

- ``uniform``: i.i.d. Gaussian vectors (uniform on the sphere), the "random vectors" of the
  target. In 512-d such points have no near neighbours: every cosine is ≈ N(0, 1/512),
  and the 10th-nearest is hardly nearer than the 1000th, so no partitioning or graph can
  find them without scanning most of the data (a known worst case for every ANN method).
- ``clustered``: a Gaussian mixture, n/100 random centres, each point = centre + noise of
  the same per-coordinate scale (cosine ≈ 0.5 within a cluster): vectors with
  neighbourhood structure, as learned embeddings have.

Run with one thread (the machine has 2 cores and was shared while measuring)::

    OMP_NUM_THREADS=1 python benchmarks/index_search.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from movierep import files
from movierep.store.index import default_params, make_index, set_search_params, train

RESULTS = Path(__file__).parent / "results" / "index_search.json"
DIM, K, QUERIES = 512, 10, 1000
TARGET_RECALL, TARGET_SPEEDUP = 0.95, 10.0
NPROBES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
EF_SEARCHES = (16, 32, 64, 128, 256, 512)


def vectors(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` normalised database vectors and :data:`QUERIES` queries of one data set."""
    rng = np.random.default_rng(seed)
    total = n + QUERIES
    if kind == "uniform":
        x = rng.standard_normal((total, DIM), dtype=np.float32)
    else:
        centres = rng.standard_normal((max(n // 100, 1), DIM), dtype=np.float32)
        x = rng.standard_normal((total, DIM), dtype=np.float32)
        for start in range(0, total, 100_000):  # in blocks: no second full-size copy
            stop = min(start + 100_000, total)
            x[start:stop] += centres[rng.integers(0, len(centres), stop - start)]
    faiss.normalize_L2(x)
    return x[:n], np.ascontiguousarray(x[n:])


def rss_mib() -> float:
    """This process's resident memory now (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_search(index: Any, q: np.ndarray) -> tuple[np.ndarray, float]:
    """Ids of the k nearest, and ms/query for the batch."""
    start = time.perf_counter()
    _, ids = index.search(q, K)
    return ids, (time.perf_counter() - start) * 1000 / len(q)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of the true k nearest among the k found."""
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def index_mib(index: Any) -> float:
    """Size of the index written to disk (MiB): what it holds in memory, plus a header."""
    with tempfile.NamedTemporaryFile(suffix=".faiss") as tmp:
        faiss.write_index(index, tmp.name)
        return os.path.getsize(tmp.name) / 2**20


def approximate(
    kind: str, x: np.ndarray, q: np.ndarray, truth: np.ndarray, exact_ms: float
) -> dict[str, Any]:
    """Build one approximate index as ``movierep index`` does, then sweep its search knob."""
    params = default_params(kind, len(x))
    before = rss_mib()
    index = make_index(kind, DIM, params)
    start = time.perf_counter()
    trained = train(index, x, params) if kind == "ivf" else 0
    train_s = time.perf_counter() - start
    index.add(x)
    build_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "build_params": {k: v for k, v in params.items() if k not in ("nprobe", "efSearch")},
        "build_s": build_s,
        "train_s": train_s,
        "trained_on": trained,
        "rss_growth_mib": rss_mib() - before,
        "index_mib": index_mib(index),
        "sweep": [],
    }
    knob, values = ("nprobe", NPROBES) if kind == "ivf" else ("efSearch", EF_SEARCHES)
    for value in values:
        if kind == "ivf" and value > params["nlist"]:
            break
        set_search_params(index, kind, {**params, knob: value})
        ids, ms = timed_search(index, q)
        rec = recall_at_k(ids, truth)
        result["sweep"].append(
            {knob: value, "recall_at_10": rec, "ms_per_query": ms, "speedup": exact_ms / ms}
        )
        print(f"    {kind} {knob}={value}: recall@10 {rec:.4f}, {ms:.3f} ms/q", flush=True)
    good = [s for s in result["sweep"] if s["recall_at_10"] >= TARGET_RECALL]
    result["chosen"] = good[0] if good else None
    result["target_met"] = bool(good) and good[0]["speedup"] >= TARGET_SPEEDUP
    default = {"ivf": 16, "hnsw": 64}[kind]
    result["library_default"] = next((s for s in result["sweep"] if s[knob] == default), None)
    del index
    return result


def run(kind: str, n: int, methods: list[str], results: dict[str, Any]) -> None:
    """Measure exact and approximate search on one data set at one size."""
    print(f"{kind} n={n}", flush=True)
    x, q = vectors(kind, n, seed=n)
    entry: dict[str, Any] = {"n": n, "dim": DIM, "queries": QUERIES, "k": K}
    flat = make_index("flat", DIM, {})
    start = time.perf_counter()
    flat.add(x)
    entry["exact_build_s"] = time.perf_counter() - start
    truth, exact_ms = timed_search(flat, q)
    start = time.perf_counter()
    for i in range(20):
        flat.search(q[i : i + 1], K)
    entry["exact"] = {
        "ms_per_query": exact_ms,
        "single_query_ms": (time.perf_counter() - start) * 1000 / 20,
        "index_mib": x.nbytes / 2**20,
    }
    print(f"    exact: {exact_ms:.3f} ms/q", flush=True)
    del flat
    for method in methods:
        entry[method] = approximate(method, x, q, truth, exact_ms)
        results["runs"][f"{kind}_{n}"] = entry
        save(results)
    results["runs"][f"{kind}_{n}"] = entry
    save(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k and 100k vectors (smoke run)")
    parser.add_argument(
        "--hnsw-uniform-1m",
        action="store_true",
        help="also build HNSW on 1M uniform vectors (~10+ min on one core)",
    )
    args = parser.parse_args()
    faiss.omp_set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "threads": faiss.omp_get_max_threads(),
            "python": platform.python_version(),
            "faiss": faiss.__version__,
            "numpy": np.__version__,
        },
        "note": (
            "OMP_NUM_THREADS=1: one thread for every index (the 2-core machine was shared "
            "with another job while measuring); latencies are for 1,000 queries searched as "
            "one batch, single_query_ms one at a time."
        ),
        "target": {"recall_at_10": TARGET_RECALL, "speedup_vs_exact": TARGET_SPEEDUP},
        "runs": {},
    }
    plan = [
        ("uniform", small, ["ivf", "hnsw"]),
        ("clustered", small, ["ivf", "hnsw"]),
        ("clustered", large, ["ivf", "hnsw"]),
        ("uniform", large, ["ivf", "hnsw"] if args.hnsw_uniform_1m else ["ivf"]),
    ]
    if not args.hnsw_uniform_1m:
        results["skipped"] = (
            f"hnsw on uniform {large}: its build takes >10 min on one core and on uniform "
            f"{small} no efSearch reaches the target (see uniform_{small}.hnsw)"
        )
    for kind, n, methods in plan:
        run(kind, n, methods, results)
    results["summary"] = summary(results)
    save(results)
    print("\n".join(results["summary"]))
    print(f"wrote {RESULTS}")


def summary(results: dict[str, Any]) -> list[str]:
    """One line per run and method: the chosen setting, or the best recall reached."""
    lines = []
    for name, entry in results["runs"].items():
        for method in ("ivf", "hnsw"):
            if method not in entry:
                continue
            r = entry[method]
            if r["chosen"]:
                c = r["chosen"]
                knob = "nprobe" if method == "ivf" else "efSearch"
                lines.append(
                    f"{name} {method}: {knob}={c[knob]} recall@10 {c['recall_at_10']:.3f} "
                    f"at {c['speedup']:.1f}x exact ({c['ms_per_query']:.3f} vs "
                    f"{entry['exact']['ms_per_query']:.3f} ms/q); target "
                    f"{'met' if r['target_met'] else 'NOT met'}; build {r['build_s']:.0f} s"
                )
            else:
                best = max(r["sweep"], key=lambda s: s["recall_at_10"])
                lines.append(
                    f"{name} {method}: recall@10 never reached {TARGET_RECALL} (best "
                    f"{best['recall_at_10']:.3f} at {best['speedup']:.2f}x exact); target NOT met"
                )
    return lines


def save(results: dict[str, Any]) -> None:
    """Write the results so far (a long run that is cut off keeps what it measured)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(RESULTS, results, indent=2)


if __name__ == "__main__":
    main()
