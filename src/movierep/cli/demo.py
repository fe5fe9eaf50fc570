"""``movierep demo``: the whole hierarchy end to end on the embedded synthetic corpus."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    parser = sub.add_parser(
        "demo",
        help="run the hierarchy end to end on the synthetic corpus and write a report",
        description=(
            "Generate the synthetic corpus, detect shots, cut 2 s events, pretrain Slow-D with "
            "CVRL, extract event features, pretrain TxE with event mask prediction, and measure "
            "every level against the corpus' ground truth (OUT/report.md). A rerun skips the "
            "stages that finished."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  movierep demo --out runs/demo --preset tiny",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    parser.add_argument(
        "--preset", default="demo", choices=["tiny", "demo"], help="corpus and run sizes"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of corpus and training")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo pipeline."""
    from movierep.demo import run_demo

    run_demo(args.out, args.preset, args.seed)
    print(f"report: {args.out / 'report.md'}")
    return 0
