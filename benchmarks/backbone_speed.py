"""Speed and peak memory of the Slow-D backbone on CPU.

Measures, each case in a fresh subprocess (so ``ru_maxrss`` is that case's peak):

* ``cvrl_train_cpu``: one CVRL training step of the ``cpu`` profile (Slow-D tiny +
  projection head + NT-Xent on two views, SGD step): training clips/s (both views count).
* ``modist_train_cpu``: the same plus the tiny motion pathway on 15-frame flow and the
  four MoDist terms.
* ``paper_forward_cpu``: forward of the paper Slow-D R50 at 16×224×224 (eval, no grad),
  clips/s.
* ``augment_cpu_{64,224}``: CVRL augmentation of a 16×240×320 uint8 clip with every op
  on, one thread (as in a data-loader worker), clips/s.
* ``flow_dis_cpu``: OpenCV DIS flow of a 16×120×160 clip, clips/s.

Usage::

    python benchmarks/backbone_speed.py            # writes benchmarks/results/backbone_speed.json
    python benchmarks/backbone_speed.py --quick    # fewer steps, for a smoke run
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

RESULTS = Path(__file__).resolve().parent / "results" / "backbone_speed.json"

CASES: dict[str, dict[str, Any]] = {
    "cvrl_train_cpu": {"kind": "cvrl", "batch": 8, "frames": 16, "size": 64, "steps": 10},
    "modist_train_cpu": {"kind": "modist", "batch": 8, "frames": 16, "size": 64, "steps": 10},
    "paper_forward_cpu": {"kind": "forward", "batch": 2, "frames": 16, "size": 224, "steps": 3},
    "augment_cpu_64": {"kind": "augment", "batch": 1, "frames": 16, "size": 64, "steps": 50},
    "augment_cpu_224": {"kind": "augment", "batch": 1, "frames": 16, "size": 224, "steps": 10},
    "flow_dis_cpu": {"kind": "flow", "batch": 1, "frames": 16, "size": 160, "steps": 10},
}


def max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Time one case in this process; returns the measurements."""
    import torch

    from movierep.losses.infonce import nt_xent
    from movierep.losses.modist import modist_loss
    from movierep.models.heads import ProjectionHead
    from movierep.models.motion import motion_net_tiny
    from movierep.models.slow_d import slow_d_r50, slow_d_tiny

    torch.manual_seed(0)
    B, T, S, steps = case["batch"], case["frames"], case["size"], case["steps"]
    baseline = max_rss_mb()

    if case["kind"] in ("augment", "flow"):
        import dataclasses

        import numpy as np

        from movierep.data.augment import ClipAugment
        from movierep.video.flow import compute_flow

        torch.set_num_threads(1)
        rgb = torch.randint(0, 256, (T, 240, 320, 3), dtype=torch.uint8)
        augment = ClipAugment(size=S)
        draw = augment.sample_params(torch.Generator().manual_seed(0), 240, 320)
        everything = dataclasses.replace(draw, jitter=True, grayscale=True, blur_sigma=1.0)
        small = np.ascontiguousarray(rgb[:, ::2, ::2].numpy())

        def step() -> None:
            if case["kind"] == "augment":
                augment.apply(rgb, everything)
            else:
                compute_flow(small, method="dis")

        params = 0
        clips_per_step = 1
    elif case["kind"] == "forward":
        model = slow_d_r50().eval()
        x = torch.randn(B, 3, T, S, S)

        def step() -> None:
            with torch.no_grad():
                model(x)

        params = sum(p.numel() for p in model.parameters())
        clips_per_step = B
    else:
        model = slow_d_tiny()
        head = ProjectionHead(
            input_dim=model.feature_dim, hidden_dim=256, output_dim=128, num_layers=3
        )
        modules: list[torch.nn.Module] = [model, head]
        motion = motion_net_tiny() if case["kind"] == "modist" else None
        motion_head = None
        if motion is not None:
            motion_head = ProjectionHead(
                input_dim=motion.feature_dim, hidden_dim=256, output_dim=128, num_layers=3
            )
            modules += [motion, motion_head]
        trainable = [p for m in modules for p in m.parameters()]
        optimizer = torch.optim.SGD(trainable, lr=0.01, momentum=0.9)
        views = torch.randn(2, B, 3, T, S, S)
        flows = torch.randn(2, B, 2, T - 1, S, S) * 3

        def step() -> None:
            z = head(model(views.flatten(0, 1))).unflatten(0, (2, B))
            if motion is None or motion_head is None:
                loss = nt_xent(z[0], z[1], temperature=0.1)
            else:
                m = motion_head(motion(flows.flatten(0, 1))).unflatten(0, (2, B))
                loss = modist_loss(z[0], z[1], m[0], m[1], temperature=0.1)["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        params = sum(p.numel() for p in trainable)
        clips_per_step = 2 * B

    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        **case,
        "params": params,
        "sec_per_step_median": median,
        "sec_per_step_min": min(times),
        "clips_per_s": clips_per_step / median,
        "clips_per_s_best": clips_per_step / min(times),
        "baseline_rss_mib": round(baseline, 1),
        "peak_rss_mib": round(max_rss_mb(), 1),
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="2 steps per case")
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
            case = {**case, "steps": 1 if case["kind"] == "forward" else 2}
        proc = subprocess.run(
            [sys.executable, __file__, "--case", json.dumps(case)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{name}: {results[name]['clips_per_s']:.2f} clips/s, "
            f"peak {results[name]['peak_rss_mib']:.0f} MiB"
        )
    report = {
        "benchmark": "backbone_speed",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "notes": "clips_per_s uses the median step time (clips_per_s_best the fastest step: "
        "the machine is shared, so medians are noisy); peak_rss_mib is ru_maxrss of a fresh "
        "subprocess per case (includes the Python + torch baseline, baseline_rss_mib); "
        "train cases count both views as clips.",
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
