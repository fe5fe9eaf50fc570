"""Throughput and peak memory of ``embed_catalog`` (``movierep embed``) on one long movie, CPU.

Writes ``benchmarks/results/embed_throughput.json``. The movie is a one-movie synthetic
corpus (``movierep.corpus.make_corpus``, 128×72, 25 fps). Each case runs
:func:`movierep.store.embed.embed_catalog` into a fresh store in a fresh process, and
reports x real time (video seconds per wall second, ingestion included: decode, shots,
keyframes, events, every encoder, writes) and that process's peak RSS (VmHWM). Weights
are random (speed does not depend on them):

- ``cpu_*``: the CPU profiles' encoders: ``slow_d_tiny`` with the ``--profile cpu`` clip
  (8 frames × stride 6, 48×85 view), ``vit_tiny`` (64×112) as E_fixed and as E_scene
  (9-shot scenes); with TransNetV2 (the default detector) or PySceneDetect; all three
  levels, or one level alone;
- ``paper_all_levels_transnetv2``: the paper's sizes (Slow-D R50 16×4 at 224², ViT-B/16
  at 224² for shots and 9-shot scenes) on a shorter movie.

Run (one thread; the 2-core machine was shared)::

    OMP_NUM_THREADS=1 python benchmarks/embed_throughput.py [--minutes 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "embed_throughput.json"


def make_movie(folder: Path, minutes: float) -> Path:
    """A one-movie corpus of about ``minutes`` minutes; returns the corpus folder."""
    from movierep.corpus import make_corpus

    return make_corpus(
        folder / f"corpus_{minutes:g}min", preset="tiny", seed=0, movies=1, minutes=minutes,
        kinetics_train=0, kinetics_val=0,
    )  # fmt: skip


def make_encoders(folder: Path, paper: bool) -> dict[str, str]:
    """Random-weight checkpoints of the encoders of one size; returns their paths."""
    import torch

    from movierep.checkpoint import save_checkpoint
    from movierep.models.slow_d import slow_d_r50, slow_d_tiny
    from movierep.models.vit import vit_b16, vit_tiny

    torch.manual_seed(0)
    backbone = slow_d_r50() if paper else slow_d_tiny()
    clip = {"num_frames": 16, "frame_stride": 4, "crop_size": 224} if paper else {
        "num_frames": 8, "frame_stride": 6, "crop_size": 48, "eval_view_aspect": 16 / 9,
    }  # fmt: skip
    name = "paper" if paper else "cpu"
    save_checkpoint(
        folder / f"{name}_bb", backbone, "slow_d", backbone.model_kwargs,
        run_config={"data": clip},
    )  # fmt: skip
    vit = vit_b16() if paper else vit_tiny()
    save_checkpoint(folder / f"{name}_vit", vit, "vit", vit.model_kwargs)
    return {"backbone": str(folder / f"{name}_bb"), "vit": str(folder / f"{name}_vit")}


def child(spec: dict[str, Any]) -> None:
    """In a fresh process: embed the movie into a new store, print the measurements."""
    import torch

    from movierep.store.embed import embed_catalog
    from movierep.store.layout import read_level

    start = time.perf_counter()
    report = embed_catalog(
        [spec["corpus"]],
        spec["store"],
        spec["levels"],
        event_checkpoint=spec["backbone"],
        shot_encoder=spec["vit"],
        scene_encoder=spec["vit"],
        shots_per_scene=9,
        detector=spec["detector"],
        device="cpu",
        show_progress=False,
    )
    seconds = time.perf_counter() - start
    if report.failed:
        raise SystemExit(f"embedding failed: {report.failed}")
    status = Path("/proc/self/status").read_text().splitlines()
    (peak_kib,) = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
    rows = {level: read_level(spec["store"], level).num_rows for level in spec["levels"]}
    out = {"seconds": seconds, "peak_rss_mib": peak_kib / 1024, "rows": rows,
           "torch_threads": torch.get_num_threads()}  # fmt: skip
    print(json.dumps(out))


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the CPU movie")
    parser.add_argument("--paper-minutes", type=float, default=1.0, help="paper-size movie")
    parser.add_argument("--quick", action="store_true", help="1-minute movie, CPU sizes only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    import av
    import torch

    from movierep.video.decode import probe

    minutes = 1.0 if args.quick else args.minutes
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "av": av.__version__,
        },
        "note": (
            "OMP_NUM_THREADS=1 (the 2-core machine was shared with another job); x_realtime "
            "= video seconds / wall seconds of embed_catalog, ingestion included; peak RSS "
            "of a fresh process running only that case"
        ),
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cpu = make_encoders(folder, paper=False)
        corpus = make_movie(folder, minutes)
        duration = probe(next((corpus / "movies").glob("*.mp4"))).duration
        cases: list[tuple[str, Path, float, dict[str, str], list[str], str]] = [
            ("cpu_all_levels_transnetv2", corpus, duration, cpu, ["event", "shot", "scene"],
             "transnetv2"),
            ("cpu_all_levels_scenedetect", corpus, duration, cpu, ["event", "shot", "scene"],
             "scenedetect"),
            ("cpu_event_only_scenedetect", corpus, duration, cpu, ["event"], "scenedetect"),
            ("cpu_shot_only_scenedetect", corpus, duration, cpu, ["shot"], "scenedetect"),
            ("cpu_scene_only_scenedetect", corpus, duration, cpu, ["scene"], "scenedetect"),
        ]  # fmt: skip
        if not args.quick:
            paper = make_encoders(folder, paper=True)
            short = make_movie(folder, args.paper_minutes)
            short_s = probe(next((short / "movies").glob("*.mp4"))).duration
            cases.append(
                ("paper_all_levels_transnetv2", short, short_s, paper,
                 ["event", "shot", "scene"], "transnetv2")
            )  # fmt: skip
        for name, movie, seconds, enc, levels, detector in cases:
            spec = {"corpus": str(movie), "store": str(folder / f"store_{name}"),
                    "levels": levels, "detector": detector, **enc}  # fmt: skip
            measured = run_case(spec)
            results["cases"][name] = {
                "video_s": seconds,
                "levels": levels,
                "detector": detector,
                "x_realtime": seconds / measured["seconds"],
                **measured,
            }
            print(name, json.dumps(results["cases"][name]), flush=True)
            save(results)
    print(f"wrote {RESULTS}")


def save(results: dict[str, Any]) -> None:
    """Write the results so far."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    from movierep import files  # strict JSON: a NaN is written as null

    files.write_json(RESULTS, results)


if __name__ == "__main__":
    main()
