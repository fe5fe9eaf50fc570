"""Training throughput of every recipe, end to end through ``fit``: the old input path vs the new.

For each recipe a short CLI run (``movierep train ...``, its ``cpu`` profile as the demo
trains it) is timed from the loop's own log: ``samples_per_s`` (pairs, clips, sequences or
scene pairs per second, data loading included, from the end of the first quarter of the
steps to the last: the steady rate; ``samples_per_s_from_start`` counts from step 1) and
``data_wait_frac`` (the share of that time the step waited for its batch). Backbone
recipes (CVRL, MoDist, supervised) run twice in one invocation, on the same machine:

- ``old``: every clip decoded from its video when drawn and augmented in the loader
  workers (``data.frame_cache=decode``, ``data.augment_on=worker``; MoDist's flow per
  drawn clip), the input path before the decoded-frame cache;
- ``new``: the decoded-frame cache (a gather of memory-mapped frames; MoDist's flow
  computed once per video) and the batch augmented in the training process
  (:mod:`movierep.data.batch_augment`).

and a third, ``baseline``: the same command run by the code of commit
:data:`BASELINE` (the last commit before issue 30: decode per clip, augment in the
workers, and Slow-D's convolutions on channels-first input), extracted with
``git archive`` and put first on ``PYTHONPATH``, so "today's" speed is measured in the
same run on the same machine. ``speedup`` is new / baseline; ``pipeline_speedup`` is
new / old, the input pipeline's share (both paths run today's model code).

The cache is filled before the ``new`` runs are timed (the one-time cost, decoding and
flow, is reported as ``cache_build_s``). TxE, E_fixed, shot adjacency and scene MoCo read
features or keyframes, not video; they are timed once.

Inputs are the demo's stages on the ``demo`` corpus (60 movies × 30 s), run once into
``--work`` with few steps (a rerun reuses them).

Usage::

    python benchmarks/train_throughput.py            # writes results/train_throughput.json
    python benchmarks/train_throughput.py --quick    # 6 steps per case, a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "train_throughput.json"
#: The code "today's" throughput is measured with (the last commit before issue 30).
BASELINE = "54fe24b"
OLD = ["--set", "data.frame_cache=decode", "--set", "data.augment_on=worker"]


def prepare(work: Path) -> dict[str, Path]:
    """The demo's stages that make every recipe's inputs (each run once, then reused)."""
    from movierep.demo.paths import Paths
    from movierep.demo.pipeline import Pipeline
    from movierep.demo.presets import PRESETS
    from movierep.demo.run import stages
    from movierep.demo.scenes import m2s

    preset = replace(
        PRESETS["demo"],
        backbone_steps={"cvrl": 2, "modist": 2, "supervised": 2},
        txe_steps=2,
        image_steps=2,
        moviesim_steps=2,
        scene_steps=1,
        sources=("cowatch",),
    )
    p = Paths(work)
    wanted = {
        "corpus", "shots", "events", "backbone-cvrl", "backbone-modist", "backbone-supervised",
        "event-features", "image-encoder", "scenes-cowatch",
    }  # fmt: skip
    todo = [(n, f) for n, f in stages(p, preset, 0, False) if n in wanted]
    pipe = Pipeline(work, [n for n, _ in todo])
    for name, fn in todo:
        pipe.stage(name, fn)
    cow = m2s(p) / "scene_encoders" / "cowatch"
    return {
        "corpus": p.corpus,
        "kinetics": p.corpus / "kinetics",
        "shots": p.shots,
        "events": p.events("cvrl"),
        "shot_features": m2s(p) / "shot_features.parquet",
        "pairs": cow / "p_scene.parquet",
        "image_encoder": m2s(p) / "image_encoder" / "last",
    }


def cases(inputs: dict[str, Path]) -> dict[str, list[str]]:
    """Each timed case: ``movierep`` arguments (the ``--out`` is added per run)."""
    clips = ["--data", str(inputs["kinetics"]), "--data", str(inputs["corpus"])]
    return {
        "cvrl": ["train", "backbone", "--method", "cvrl", *clips],
        "modist": ["train", "backbone", "--method", "modist", *clips],
        "supervised": [
            "train", "backbone", "--method", "supervised", "--data", str(inputs["kinetics"]),
            "--set", "supervised.labels=class",
        ],
        "txe": ["train", "contextualizer", "--features", str(inputs["events"])],
        "image_encoder": [
            "train", "image-encoder", "--shots", str(inputs["shots"]),
            "--set", "train.batch_size=32",
        ],
        "shot_adjacency": [
            "train", "moviesim", "--corpus", str(inputs["corpus"]), "--split", "train",
            "--shot-features", str(inputs["shot_features"]),
        ],
        "scene_moco": [
            "train", "scenes", "--pairs", str(inputs["pairs"]), "--shots", str(inputs["shots"]),
            "--init", str(inputs["image_encoder"]),
        ],
    }  # fmt: skip


def timed_run(args: list[str], out: Path, steps: int, env: dict[str, str]) -> dict[str, Any]:
    """Run one training command; its loop's throughput and wait share at the last step."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "movierep", *args, "--profile", "cpu", "--steps", str(steps)]
    cmd += ["--set", f"train.log_every={max(1, steps // 4)}", "--out", str(out)]
    tic = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - tic
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    first, last = records[0], records[-1]
    wait = last.get("data_wait_frac")
    # elapsed time at a record: samples so far / cumulative rate
    batch = int(json.loads((out / "config.json").read_text())["train"]["batch_size"])
    t0 = first["step"] * batch / first["samples_per_s"]
    t1 = last["step"] * batch / last["samples_per_s"]
    steady = (last["step"] - first["step"]) * batch / max(t1 - t0, 1e-9)
    return {
        # after the first quarter of the steps (start-up, first-touch page faults excluded)
        "samples_per_s": round(steady, 2),
        "samples_per_s_from_start": round(float(last["samples_per_s"]), 2),
        # None for the baseline commit, which does not log it
        "data_wait_frac": None if wait is None else round(float(wait), 3),
        "batch_size": batch,
        "steps": steps,
        "command_wall_s": round(wall, 1),
    }


def baseline_src(work: Path, ref: str = BASELINE) -> Path:
    """The ``src`` folder of commit ``ref``, extracted once under ``work``."""
    root = work / f"baseline-{ref}"
    if not (root / "src" / "movierep").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        here = Path(__file__).resolve().parent.parent
        archive = subprocess.run(
            ["git", "-C", str(here), "archive", ref, "src"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root / "src"


def warm_cache(inputs: dict[str, Path], cache_dir: Path) -> dict[str, float]:
    """Decode every training video into the cache and compute MoDist's flow (timed)."""
    from movierep.data.sources import catalog_source, kinetics_source
    from movierep.recipes import modist
    from movierep.video.flow import video_flow
    from movierep.video.frame_cache import FrameCache

    cfg = modist.resolve("cpu")
    spans = kinetics_source(inputs["kinetics"]).spans
    spans += catalog_source(inputs["corpus"], "train", segment_s=cfg.data.segment_s).spans
    cache = FrameCache(cache_dir / "frames")
    tic = time.monotonic()
    videos = [cache.open(p) for p in dict.fromkeys(s.path for s in spans)]
    decode = time.monotonic() - tic
    tic = time.monotonic()
    for video in videos:
        video_flow(video, cfg.data.frame_stride, cfg.modist.flow_method)
    return {"decode_s": round(decode, 1), "flow_s": round(time.monotonic() - tic, 1),
            "videos": len(videos)}  # fmt: skip


def main() -> None:
    """Run every case and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/train_throughput"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    steps = 6 if args.quick else args.steps
    inputs = prepare(args.work)
    cache_dir = args.work / "cache"
    env = {**os.environ, "MOVIEREP_CACHE_DIR": str(cache_dir)}
    results: dict[str, Any] = {"cache_build_s": warm_cache(inputs, cache_dir)}
    for name, argv in cases(inputs).items():
        if args.only and name not in args.only:
            continue
        row: dict[str, Any] = {}
        if name in ("cvrl", "modist", "supervised"):
            old_env = {**env, "PYTHONPATH": str(baseline_src(args.work))}
            runs = args.work / "runs"
            row["baseline"] = timed_run(argv, runs / f"{name}_baseline", steps, old_env)
            row["old"] = timed_run([*argv, *OLD], runs / f"{name}_old", steps, env)
        row["new"] = timed_run(argv, args.work / "runs" / name, steps, env)
        if "old" in row:
            new_rate = row["new"]["samples_per_s"]
            row["speedup"] = round(new_rate / row["baseline"]["samples_per_s"], 2)
            row["pipeline_speedup"] = round(new_rate / row["old"]["samples_per_s"], 2)
        results[name] = row
        print(name, json.dumps(row), flush=True)
    payload = {
        "benchmark": "train_throughput",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch_threads": __import__("torch").get_num_threads(),
        },
        "unit": "samples/s through fit (pairs for CVRL/MoDist, clips for supervised, "
        "sequences for TxE, images for E_fixed, movie pairs for shot adjacency, scene "
        "pairs for scene MoCo)",
        "baseline_commit": BASELINE,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from movierep import files  # strict JSON: a NaN is written as null

    files.write_json(args.out, payload)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
