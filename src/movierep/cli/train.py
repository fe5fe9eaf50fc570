"""``movierep train``: the pretraining commands of the hierarchy's levels."""

from __future__ import annotations

import argparse

from movierep.cli import train_backbone, train_contextualizer


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``train backbone`` and ``train contextualizer``."""
    parser = sub.add_parser(
        "train",
        help="pretrain a level of the hierarchy (backbone, contextualizer)",
        description="Pretrain a level of the hierarchy without labels.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep train backbone --method cvrl --data corpus/ --profile cpu --out runs/cvrl\n"
            "  movierep train contextualizer --features runs/feats/events.parquet "
            "--profile cpu --out runs/txe"
        ),
    )
    levels = parser.add_subparsers(dest="level", metavar="LEVEL", required=True)
    train_backbone.register(levels)
    train_contextualizer.register(levels)
