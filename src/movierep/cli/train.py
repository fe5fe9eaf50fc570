"""``movierep train``: the pretraining commands of the hierarchy's levels.

Thin argparse over :mod:`movierep.recipes`: ``train backbone`` runs the CVRL, MoDist or
supervised recipe, ``train contextualizer`` the mask-prediction recipe. Every run resolves
its config as defaults ← ``--profile`` ← ``--config`` ← ``--set``; ``--print-config``
shows every key with its resolved and its paper value and exits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from movierep import config, dist
from movierep.errors import UserError
from movierep.recipes import BACKBONE_METHODS, maskpred
from movierep.train.loop import FitResult

BACKBONE_EPILOG = """examples:
  movierep train backbone --method cvrl --data corpus/kinetics --profile cpu --out runs/cvrl_k400
  movierep train backbone --method cvrl --data corpus --init runs/cvrl_k400/last --profile cpu \\
      --out runs/cvrl_k400_vs
  movierep train backbone --method modist --profile cpu --print-config
  torchrun --standalone --nproc_per_node=8 -m movierep train backbone --method modist \\
      --data k400/ --out runs/modist"""
CONTEXTUALIZER_EPILOG = """examples:
  movierep train contextualizer --features runs/feats/vidsitu.parquet runs/feats/lvu.parquet \\
      --profile cpu --out runs/txe
  movierep train contextualizer --profile cpu --print-config
ablations (paper Table 2):
  --set maskpred.mask_sizes=[1,2]  --set data.token_stride=3  --set maskpred.loss=l2
  --set maskpred.sampling=max_discrepancy"""


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

    backbone = levels.add_parser(
        "backbone",
        help="pretrain the Slow-D clip backbone (CVRL, MoDist or supervised)",
        description=(
            "Pretrain the Slow-D event backbone with CVRL, MoDist or labels "
            "(movierep.recipes). Resumes from OUT/last; runs the same under torchrun."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=BACKBONE_EPILOG,
    )
    backbone.add_argument("--method", choices=sorted(BACKBONE_METHODS), required=True)
    backbone.add_argument(
        "--data",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="corpus folder, Kinetics-style folder or CSV, or folder of videos (several: joined)",
    )
    backbone.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="CKPT",
        help="start from this backbone checkpoint (its architecture replaces model.arch)",
    )
    _add_run_args(backbone)
    backbone.set_defaults(func=run_backbone)

    contextualizer = levels.add_parser(
        "contextualizer",
        help="pretrain the TxE contextualizer by event mask prediction",
        description=(
            "Pretrain TxE on frozen event features by masked-event prediction (Eq. 1). "
            "Resumes from OUT/last; runs the same under torchrun."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=CONTEXTUALIZER_EPILOG,
    )
    contextualizer.add_argument(
        "--features",
        type=Path,
        nargs="+",
        metavar="PARQUET",
        help="event-features tables (movierep extract events); several sources may be mixed",
    )
    _add_run_args(contextualizer)
    contextualizer.set_defaults(func=run_contextualizer)


def _add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="run folder (resumes if it holds last/)")
    parser.add_argument("--steps", type=int, default=None, help="override train.steps")
    parser.add_argument("--seed", type=int, default=None, help="override train.seed")
    config.add_config_args(parser)


def _sets(args: argparse.Namespace) -> list[str]:
    sets = list(args.sets)
    if args.steps is not None:
        sets.append(f"train.steps={args.steps}")
    if args.seed is not None:
        sets.append(f"train.seed={args.seed}")
    return sets


def _require(args: argparse.Namespace, command: str, *names: str) -> None:
    for name in names:
        if getattr(args, name) is None:
            raise UserError(f"{command}: --{name} is required (unless --print-config)")


def _report(result: FitResult) -> None:
    if dist.is_main():
        print(result.summary())


def run_backbone(args: argparse.Namespace) -> int:
    """Run ``movierep train backbone``."""
    recipe = BACKBONE_METHODS[args.method]
    cfg = recipe.resolve(args.profile, args.config, _sets(args))
    if args.print_config:
        print(config.describe(cfg, recipe.resolve("paper")))
        return 0
    _require(args, "train backbone", "data", "out")
    try:
        _report(recipe.run(cfg, data=args.data, out=args.out, init=args.init))
    finally:
        dist.destroy()
    return 0


def run_contextualizer(args: argparse.Namespace) -> int:
    """Run ``movierep train contextualizer``."""
    cfg = maskpred.resolve(args.profile, args.config, _sets(args))
    if args.print_config:
        print(config.describe(cfg, maskpred.resolve("paper")))
        return 0
    _require(args, "train contextualizer", "features", "out")
    try:
        _report(maskpred.run(cfg, features=args.features, out=args.out))
    finally:
        dist.destroy()
    return 0
