"""``movierep ingest shots`` and ``ingest events``: videos into shots + keyframes, and events.

Both commands take videos, folders, ``.txt`` lists, corpus folders or ``catalog.parquet``
files, resume where an earlier run stopped, record every failed video in
``OUT/failures.parquet`` without stopping (exit status 1 when some failed, 2 when all
did; a damaged video keeps what decodes and is listed there with outcome ``partial``,
up to ``--max-lost-fraction`` lost), and split the work with ``--shard i/n`` or over
torchrun ranks (``torchrun --nproc_per_node 4 -m movierep ingest shots movies/ --out runs/shots``),
or run each video as a Ray task with ``--engine ray`` (:mod:`movierep.scale.ray_jobs`:
the same part files and merge, so engines may take turns on one output folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from movierep import dist
from movierep.errors import UserError
from movierep.jobs import JobReport, JobRunner, parse_shard, run_jobs
from movierep.video.damage import MAX_LOST_FRACTION

ENGINES = ("local", "ray")

SHOTS_EXAMPLE = """example:
  movierep ingest shots movies/ --out runs/shots
  movierep ingest shots corpus/ --out runs/shots --detector scenedetect --shard 0/4
  movierep ingest shots corpus/ --out runs/shots --engine ray --address auto"""
EVENTS_EXAMPLE = """example:
  movierep ingest events movies/ --out runs/events
  movierep ingest events corpus/catalog.parquet --out runs/events --stride 1"""


def shard_arg(text: str) -> tuple[int, int]:
    """Argparse type for ``--shard i/n`` (a bad value is a usage error, exit status 2)."""
    try:
        return parse_shard(text)
    except UserError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        help="video files, folders, .txt lists, corpus folders or catalog.parquet files",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--shard", type=shard_arg, help="run only part i of n (i/n, e.g. 0/4); default: all"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_args(parser, "videos at once (default: one per CPU)")


def add_engine_args(parser: argparse.ArgumentParser, workers: str) -> None:
    """Add ``--engine local|ray``, ``--address`` and ``--workers`` (``workers``: its help)."""
    parser.add_argument(
        "--engine",
        default="local",
        help="local (this process; torchrun or --shard for several) or ray (a Ray cluster)",
    )
    parser.add_argument(
        "--address", metavar="ADDR", help="with --engine ray: the cluster (default: start one)"
    )
    parser.add_argument(
        "--workers", type=_positive_int, metavar="N", help=f"with --engine ray: {workers}"
    )


def check_engine(args: argparse.Namespace) -> bool:
    """True for ``--engine ray`` (Ray importable); ``--address``/``--workers`` need it."""
    if args.engine not in ENGINES:
        raise UserError(f"--engine {args.engine!r}: unknown (choose from {', '.join(ENGINES)})")
    if args.engine == "local":
        if args.address is not None or args.workers is not None:
            raise UserError("--address and --workers go with --engine ray")
        return False
    from movierep.scale.session import require_ray

    require_ray()
    return True


def job_runner(args: argparse.Namespace) -> JobRunner:
    """What runs the per-video jobs: :func:`movierep.jobs.run_jobs`, or Ray tasks."""
    if not check_engine(args):
        return run_jobs
    from movierep.scale.ray_jobs import RayJobs

    return RayJobs(address=args.address, workers=args.workers)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ingest`` and its ``shots`` and ``events`` commands."""
    parser = sub.add_parser(
        "ingest",
        help="turn videos into shots + keyframes or 2 s events (no model; see extract)",
        description=(
            "Ingest videos into the units the models read: shots with keyframes, or 2 s "
            "events. No model runs here; `movierep extract` computes features of them."
        ),
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    shots = kinds.add_parser(
        "shots",
        help="detect shots and save 3 keyframes per shot",
        description=(
            "Detect the shots of every video (TransNetV2 by default, PySceneDetect as the "
            "fast option) and save MovieNet-style keyframes. Writes OUT/shots.parquet, "
            "OUT/keyframes.parquet, OUT/keyframes/ and OUT/failures.parquet; reruns resume."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SHOTS_EXAMPLE,
    )
    _add_common(shots)
    shots.add_argument(
        "--detector",
        choices=["transnetv2", "scenedetect", "scenedetect-adaptive"],
        default="transnetv2",
        help="shot boundary detector (default: transnetv2)",
    )
    shots.add_argument(
        "--threshold",
        type=float,
        help="detector threshold (TransNetV2 0.5, PySceneDetect content 27, adaptive 3)",
    )
    shots.add_argument("--no-keyframes", action="store_true", help="skip keyframe images")
    shots.add_argument(
        "--keyframe-height", type=int, default=240, help="keyframe height in px (default 240)"
    )
    shots.add_argument("--device", default="cpu", help="torch device for TransNetV2 (cpu)")
    shots.add_argument(
        "--batch-windows",
        type=_positive_int,
        default=1,
        help="TransNetV2 windows per forward (1; more pays off on a GPU)",
    )
    shots.add_argument(
        "--exact",
        action="store_true",
        help="TransNetV2 through the package's own modules (bit-identical to its "
        "predict_frames, about 1.5x slower on CPU)",
    )
    shots.add_argument(
        "--bf16", action="store_true", help="TransNetV2 in bfloat16 (faster, |dp|~1e-3)"
    )
    shots.add_argument("--threads", type=int, default=0, help="decoder threads (0: auto)")
    shots.add_argument(
        "--partial",
        action="store_true",
        help="keep the shots of a truncated video (data ending early) up to where it ends "
        "instead of failing it",
    )
    add_damage_arg(shots)
    shots.set_defaults(func=run_shots)

    events = kinds.add_parser(
        "events",
        help="split videos into consecutive 2 s events",
        description=(
            "Write OUT/events.parquet: consecutive windows (length --length s, starts every "
            "--stride s) of every video, the units the backbone turns into event features."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EVENTS_EXAMPLE,
    )
    _add_common(events)
    events.add_argument("--length", type=float, default=2.0, help="event length in s (2)")
    events.add_argument("--stride", type=float, default=2.0, help="event stride in s (2)")
    events.set_defaults(func=run_events)


def add_damage_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-lost-fraction`` (damaged videos keep what decodes, up to this loss)."""
    parser.add_argument(
        "--max-lost-fraction",
        type=_fraction,
        default=MAX_LOST_FRACTION,
        metavar="F",
        help="undecodable packets are skipped and the loss recorded (outcome partial in "
        f"failures.parquet); a video that lost more than F of its duration fails "
        f"(default {MAX_LOST_FRACTION})",
    )


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _finish(report: JobReport, merged: bool, out: Path, stage: str) -> int:
    print("\n".join(report.lines()), file=sys.stderr)
    if merged:
        print(f"wrote {out / f'{stage}.parquet'} and {out / 'failures.parquet'}", file=sys.stderr)
    elif dist.is_main():
        print(
            f"{stage}: other shards still running; rerun without --shard to merge",
            file=sys.stderr,
        )
    return report.exit_status()


def run_shots(args: argparse.Namespace) -> int:
    """Run ``movierep ingest shots``."""
    from movierep.video.ingest import ingest_shots

    run = job_runner(args)
    if run is not run_jobs and args.device != "cpu":
        raise UserError(f"--device {args.device}: --engine ray detects shots in CPU tasks")
    dist.init_from_env()
    report, table = ingest_shots(
        args.inputs,
        args.out,
        args.shard,
        keyframes=not args.no_keyframes,
        show_progress=not args.quiet,
        run=run,
        detector=args.detector,
        threshold=args.threshold,
        keyframe_height=args.keyframe_height,
        device=args.device,
        batch_windows=args.batch_windows,
        exact=args.exact,
        bf16=args.bf16,
        threads=args.threads,
        on_error="stop" if args.partial else "raise",
        max_lost_fraction=args.max_lost_fraction,
    )
    return _finish(report, table is not None, args.out, "shots")


def run_events(args: argparse.Namespace) -> int:
    """Run ``movierep ingest events``."""
    from movierep.video.ingest import ingest_events

    run = job_runner(args)
    dist.init_from_env()
    report, table = ingest_events(
        args.inputs,
        args.out,
        args.shard,
        length=args.length,
        stride=args.stride,
        show_progress=not args.quiet,
        run=run,
    )
    return _finish(report, table is not None, args.out, "events")
