"""Speed and peak memory of Movies2Scenes' two training steps on CPU.

Each case runs in a fresh subprocess (so ``ru_maxrss`` is that case's peak):

* ``moviesim_paper_cpu``: one movie-similarity step at the paper's sizes: 1,024 shots per
  movie, 512-d E_fixed features, E_learnable 2×512, kernels 16 / strides 8, cross-entropy,
  Adam step; movie pairs/s.
* ``moviesim_cpu_profile``: the same at the ``cpu`` profile (32 shots, 256-d, kernels 4/2).
* ``scenes_cpu_profile``: one scene-MoCo step of the ``cpu`` profile (``vit_tiny`` at
  64×112, 4-shot scenes, query + momentum key encoder, 4,096-key queue, Adam); scene
  pairs/s (one pair = a query and a key clip).
* ``scenes_paper_forward_cpu``: forward of the paper's scene encoder (ViT-B/16 at 224²,
  9 shots × 1 frame = 1,764 patch tokens), scenes/s.

Usage::

    python benchmarks/movies2scenes_speed.py          # writes results/movies2scenes_speed.json
    python benchmarks/movies2scenes_speed.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "movies2scenes_speed.json"

CASES: dict[str, dict[str, Any]] = {
    "moviesim_paper_cpu": {"kind": "moviesim", "batch": 8, "shots": 1024, "dim": 512,
                           "kernel": 16, "stride": 8, "steps": 10},
    "moviesim_cpu_profile": {"kind": "moviesim", "batch": 32, "shots": 32, "dim": 256,
                             "kernel": 4, "stride": 2, "steps": 20},
    "scenes_cpu_profile": {"kind": "scenes", "batch": 32, "shots": 4, "steps": 5},
    "scenes_paper_forward_cpu": {"kind": "scene_forward", "batch": 2, "shots": 9, "steps": 2},
}  # fmt: skip


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Time one case in this process; returns the measurements."""
    import torch

    from movierep.models.shot_adjacency import ShotAdjacencyConfig, ShotAdjacencyNet
    from movierep.models.vit import vit_b16, vit_tiny
    from movierep.pretrain.moviesim import MovieSimilarity
    from movierep.pretrain.scene_moco import SceneMoCo, SceneMoCoConfig

    torch.manual_seed(0)
    baseline = max_rss_mb()
    B = case["batch"]
    if case["kind"] == "moviesim":
        S, D, k, s = case["shots"], case["dim"], case["kernel"], case["stride"]
        objective: torch.nn.Module = MovieSimilarity(
            ShotAdjacencyNet(
                ShotAdjacencyConfig(
                    input_dim=D,
                    num_shots=S,
                    scene_kernel=k,
                    scene_stride=s,
                    pool_kernel=k,
                    pool_stride=s,
                )
            )
        )
        batch = {
            "x1": torch.randn(B, S, D), "x2": torch.randn(B, S, D),
            "len1": torch.full((B,), S), "len2": torch.full((B,), S * 3 // 4),
            "label": torch.randint(2, (B,)),
        }  # fmt: skip
        items = B
    elif case["kind"] == "scenes":
        objective = SceneMoCo(vit_tiny(), SceneMoCoConfig(queue_size=4096, momentum=0.99))
        n = case["shots"]
        batch = {"query": torch.randn(B, n, 3, 64, 112), "key": torch.randn(B, n, 3, 64, 112)}
        items = B
    else:
        model = vit_b16().eval()
        x = torch.randn(B, case["shots"], 3, 224, 224)

        def forward() -> None:
            with torch.no_grad():
                model(x)

        step = forward
        items = B
        params = sum(p.numel() for p in model.parameters())
    if case["kind"] != "scene_forward":
        trainable = [p for p in objective.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=1e-4)
        params = sum(p.numel() for p in trainable)

        def train() -> None:
            loss = objective(batch)["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        step = train
    step()  # warm-up
    times = []
    for _ in range(case["steps"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        **case,
        "trainable_params": params,
        "sec_per_step_median": median,
        "items_per_s": items / median,
        "items_per_s_best": items / min(times),
        "baseline_rss_mib": round(baseline, 1),
        "peak_rss_mib": round(max_rss_mb(), 1),
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="1 step per case")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return 0

    import torch

    load_at_start = os.getloadavg()[0]
    results = {}
    for name, case in CASES.items():
        if args.quick:
            case = {**case, "steps": 1}
        proc = subprocess.run(
            [sys.executable, __file__, "--case", json.dumps(case)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{name}: {results[name]['items_per_s']:.2f} items/s, "
            f"peak {results[name]['peak_rss_mib']:.0f} MiB"
        )
    report = {
        "benchmark": "movies2scenes_speed",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "notes": "items_per_s: movie pairs/s (moviesim), scene pairs/s (scenes: a query and a "
        "key clip each), scenes/s (forward); median step time; peak_rss_mib is ru_maxrss of a "
        "fresh subprocess per case (includes the Python + torch baseline).",
        "load_average_1m_at_start": load_at_start,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from movierep import files  # strict JSON: a NaN is written as null

    files.write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
