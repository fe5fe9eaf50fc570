"""``movierep train``: the pretraining commands of the hierarchy's levels.

Thin argparse over :mod:`movierep.recipes`: ``train backbone`` runs the CVRL, MoDist or
supervised recipe, ``train contextualizer`` the mask-prediction recipe; Movies2Scenes'
``train image-encoder`` (the CLIP stand-in), ``train moviesim`` (shot adjacency) and
``train scenes`` (scene MoCo). Every run resolves
its config as defaults ← ``--profile`` ← ``--config`` ← ``--set``; ``--print-config``
shows every key with its resolved and its paper value and exits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from movierep import config, dist
from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.recipes import BACKBONE_METHODS, image_encoder, maskpred, moviesim, scenes
from movierep.train.loop import FitResult

BACKBONE_EPILOG = """examples:
  movierep train backbone --method cvrl --data corpus/kinetics --profile cpu --out runs/cvrl_k400
  movierep train backbone --method cvrl --data corpus --init runs/cvrl_k400/last --profile cpu \\
      --out runs/cvrl_k400_vs
  movierep train backbone --method modist --profile cpu --print-config
  torchrun --standalone --nproc_per_node=8 -m movierep train backbone --method modist \\
      --data k400/ --out runs/modist"""
CONTEXTUALIZER_EPILOG = """examples:
  movierep train contextualizer --features runs/feats/events.parquet runs/lvu_events.parquet \\
      --profile cpu --out runs/txe
  movierep train contextualizer --profile cpu --print-config
ablations (paper Table 2):
  --set maskpred.mask_sizes=[1,2]  --set data.token_stride=3  --set maskpred.loss=l2
  --set maskpred.sampling=max_discrepancy"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``train backbone`` and ``train contextualizer``."""
    parser = sub.add_parser(
        "train",
        help="pretrain an encoder (backbone, contextualizer, image-encoder, moviesim, scenes)",
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
    _register_movies2scenes(levels)


def _register_movies2scenes(levels: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    image = levels.add_parser(
        "image-encoder",
        help="pretrain the image ViT on shot keyframes (SimCLR; stands in for CLIP)",
        description=(
            "Pretrain movierep's image ViT on the keyframes of a shots folder with SimCLR. "
            "It stands in for CLIP's ViT-B/16 as E_fixed and as the scene encoder's start "
            "(a CLIP file in OpenAI's layout can be used instead wherever an encoder is asked)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep train image-encoder --shots runs/shots --corpus corpus --split train \\\n"
            "      --profile cpu --out runs/vit"
        ),
    )
    image.add_argument(
        "--shots", type=Path, help="shots folder (movierep ingest shots) with keyframes"
    )
    _add_movie_filter(image)
    _add_run_args(image)
    image.set_defaults(func=run_image_encoder)

    sim = levels.add_parser(
        "moviesim",
        help="learn movie similarity with the shot-adjacency network (Movies2Scenes Fig. 2)",
        description=(
            "Compute similar-movie pairs (co-watch, synopsis, genre or a + of them) and train "
            "E_learnable and L_output on cached E_fixed shot features to tell similar movie "
            "pairs from random ones. Writes OUT/pairs.parquet; resumes from OUT/last."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep train moviesim --corpus corpus --shot-features runs/shot_features.parquet "
            "\\\n      --split train --profile cpu --out runs/moviesim_cowatch\n"
            "  ... --set pairs.sources=genre+synopsis     ... --set pairs.catalog_fraction=0.33"
        ),
    )
    sim.add_argument("--shot-features", type=Path, help="E_fixed features (extract shots)")
    sim.add_argument(
        "--synopsis-encoder", type=Path, default=None, help="sentence-transformers folder"
    )
    _add_movie_filter(sim)
    _add_run_args(sim)
    sim.set_defaults(func=run_moviesim)

    scene = levels.add_parser(
        "scenes",
        help="train the ViT scene encoder with MoCo on selected scene pairs (Fig. 3)",
        description=(
            "Momentum contrast on P_scene (movierep select-pairs): the ViT with interpolated "
            "position embeddings, initialised from E_fixed. OUT/last is E_scene."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep train scenes --pairs runs/p_scene.parquet --shots runs/shots "
            "--init runs/vit/last \\\n      --profile cpu --out runs/scenes\n"
            "  ... --set data.shots_per_scene=4   (the 4 vs 9 shots ablation)"
        ),
    )
    scene.add_argument("--pairs", type=Path, help="P_scene table (movierep select-pairs)")
    scene.add_argument("--shots", type=Path, help="shots folder the pairs index")
    scene.add_argument("--init", type=Path, help="E_fixed: CLIP file or ViT checkpoint")
    _add_run_args(scene)
    scene.set_defaults(func=run_scenes)


def _add_movie_filter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, default=None, help="catalog (corpus folder)")
    parser.add_argument(
        "--split", default=None, help="with --corpus: only this catalog split's movies"
    )


def _movie_ids(args: argparse.Namespace) -> list[str] | None:
    if args.split is None:
        return None
    if args.corpus is None:
        raise UserError("--split needs --corpus")
    return Corpus(args.corpus).split_ids(args.split)


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
            raise UserError(
                f"{command}: --{name.replace('_', '-')} is required (unless --print-config)"
            )


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


def run_image_encoder(args: argparse.Namespace) -> int:
    """Run ``movierep train image-encoder``."""
    cfg = image_encoder.resolve(args.profile, args.config, _sets(args))
    if args.print_config:
        print(config.describe(cfg, image_encoder.resolve("paper")))
        return 0
    _require(args, "train image-encoder", "shots", "out")
    try:
        _report(image_encoder.run(cfg, shots=args.shots, out=args.out, movie_ids=_movie_ids(args)))
    finally:
        dist.destroy()
    return 0


def run_moviesim(args: argparse.Namespace) -> int:
    """Run ``movierep train moviesim``."""
    cfg = moviesim.resolve(args.profile, args.config, _sets(args))
    if args.print_config:
        print(config.describe(cfg, moviesim.resolve("paper")))
        return 0
    _require(args, "train moviesim", "corpus", "shot_features", "out")
    try:
        result = moviesim.run(
            cfg,
            corpus=args.corpus,
            shot_features=args.shot_features,
            out=args.out,
            movie_ids=_movie_ids(args),
            synopsis_encoder=args.synopsis_encoder,
        )
        _report(result)
    finally:
        dist.destroy()
    return 0


def run_scenes(args: argparse.Namespace) -> int:
    """Run ``movierep train scenes``."""
    cfg = scenes.resolve(args.profile, args.config, _sets(args))
    if args.print_config:
        print(config.describe(cfg, scenes.resolve("paper")))
        return 0
    _require(args, "train scenes", "pairs", "shots", "init", "out")
    try:
        _report(scenes.run(cfg, pairs=args.pairs, shots=args.shots, init=args.init, out=args.out))
    finally:
        dist.destroy()
    return 0
