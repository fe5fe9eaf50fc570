r"""``movierep train contextualizer``: event mask-prediction pretraining of TxE (Xiao et al. §3.3).

Reads one or more event-features tables (frozen backbone features from any source, e.g.
the corpus' VidSitu-format clips and LVU-format clips), cuts each into sequences of N
consecutive events of one video, and trains TxE with Eq. 1 through
:func:`movierep.train.loop.fit` (resumable; the same command under ``torchrun``).

Launch::

    movierep train contextualizer --features vs.parquet lvu.parquet --profile cpu --out runs/txe
    torchrun --standalone --nproc_per_node=8 -m movierep train contextualizer \\
        --features vs.parquet lvu.parquet --out runs/txe
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, DistributedSampler, RandomSampler, Sampler

from movierep import config, dist
from movierep.data.sequences import EventSequenceDataset, SequenceConfig
from movierep.errors import UserError
from movierep.models.txe import TxE, TxEConfig
from movierep.pretrain.maskpred import MaskPredConfig, MaskPredObjective
from movierep.train.loop import TrainConfig, fit, seed_everything


@dataclass(frozen=True)
class ContextualizerRun:
    """A mask-prediction run: TxE size, sequences, mask prediction, optimisation.

    The paper fixes TxE, N, α, τ and K; its optimisation settings are in a supplement we
    do not have, so ``train`` holds our choices (AdamW, warm-up + cosine, clip 1.0).
    ``txe.input_dim`` is set from the feature tables.
    """

    txe: TxEConfig = field(default_factory=TxEConfig)
    data: SequenceConfig = field(default_factory=SequenceConfig)
    maskpred: MaskPredConfig = field(default_factory=MaskPredConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=20000,
            batch_size=256,
            lr=1e-4,
            weight_decay=0.05,
            warmup_steps=1000,
            grad_clip=1.0,
            log_every=50,
            ckpt_every=1000,
        )
    )


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        "txe.hidden_dim": 128,
        "txe.num_heads": 4,
        "maskpred.queue_size": 4096,
        "train.steps": 300,
        "train.batch_size": 32,
        "train.lr": 1e-3,
        "train.warmup_steps": 20,
        "train.log_every": 10,
        "train.ckpt_every": 100,
    },
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``contextualizer`` under ``movierep train``."""
    parser = sub.add_parser(
        "contextualizer",
        help="pretrain the TxE contextualizer by event mask prediction",
        description=(
            "Pretrain TxE on frozen event features by masked-event prediction (Eq. 1). "
            "Resumes from OUT/last; runs the same under torchrun."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "example:\n"
            "  movierep train contextualizer --features runs/feats/vidsitu.parquet "
            "runs/feats/lvu.parquet --profile cpu --out runs/txe\n"
            "ablations (paper Table 2):\n"
            "  --set maskpred.mask_sizes=[1,2]  --set data.token_stride=3  "
            "--set maskpred.loss=l2  --set maskpred.sampling=max_discrepancy"
        ),
    )
    parser.add_argument(
        "--features",
        type=Path,
        nargs="+",
        required=True,
        metavar="PARQUET",
        help="event-features tables (movierep extract events); several sources may be mixed",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="run folder (checkpoints in OUT/last)"
    )
    parser.add_argument("--steps", type=int, default=None, help="override train.steps")
    parser.add_argument("--seed", type=int, default=None, help="override train.seed")
    config.add_config_args(parser)
    parser.set_defaults(func=run)


def load_sequences(
    paths: list[Path], num_tokens: int, data: SequenceConfig
) -> tuple[ConcatDataset[Any], int]:
    """All sequences of all tables, and their feature size D (which must agree)."""
    parts = [
        EventSequenceDataset.from_parquet(p, num_tokens, data.token_stride, data.windows)
        for p in paths
    ]
    dims = {p.feature_dim for p in parts}
    if len(dims) > 1:
        listing = ", ".join(f"{p.source} (D={p.feature_dim})" for p in parts)
        raise UserError(f"event features of different sizes cannot be mixed: {listing}")
    if sum(len(p) for p in parts) == 0:
        raise UserError(
            f"{paths[0]}: no sequence of {num_tokens} consecutive events in the given tables"
        )
    return ConcatDataset(parts), dims.pop()


def run(args: argparse.Namespace) -> int:
    """Train TxE with mask prediction; the exported model is ``OUT/last`` (arch ``txe``)."""
    sets = list(args.sets)
    if args.steps is not None:
        sets.append(f"train.steps={args.steps}")
    if args.seed is not None:
        sets.append(f"train.seed={args.seed}")
    cfg = config.build(ContextualizerRun, PROFILES, args.profile, args.config, sets)
    dist.init_from_env()
    dataset, dim = load_sequences(list(args.features), cfg.txe.num_tokens, cfg.data)
    if cfg.txe.output_dim not in (None, dim):
        raise UserError(
            f"--set txe.output_dim={cfg.txe.output_dim}: mask prediction compares TxE outputs "
            f"with the D={dim} event features; leave it unset"
        )
    cfg = dataclasses.replace(cfg, txe=dataclasses.replace(cfg.txe, input_dim=dim))
    world = dist.world_size()
    if len(dataset) < cfg.train.batch_size * world:
        raise UserError(
            f"{args.features[0]}: {len(dataset)} sequences are fewer than one global batch "
            f"({cfg.train.batch_size} x {world}); lower train.batch_size"
        )
    seed_everything(cfg.train.seed)
    txe = TxE(**config.to_dict(cfg.txe))
    objective = MaskPredObjective(txe, **config.to_dict(cfg.maskpred))
    seed_everything(cfg.train.seed + dist.rank())  # different masks on every rank
    sampler: Sampler[int]
    if world > 1:
        sampler = DistributedSampler(dataset, shuffle=True, seed=cfg.train.seed, drop_last=True)
    else:
        sampler = RandomSampler(dataset)
    loader = DataLoader(
        dataset,
        batch_size=cfg.train.batch_size,
        sampler=sampler,
        drop_last=True,  # equal batches on every rank keep the queue's DDP gather in step
        num_workers=cfg.train.num_workers,
    )
    if dist.is_main():
        config.write_config(cfg, args.out)

    def export() -> tuple[nn.Module, str, dict[str, Any]]:
        return objective.txe, "txe", config.to_dict(cfg.txe)

    result = fit(
        objective,
        loader,
        cfg.train,
        args.out,
        export=export,
        run_config=config.to_dict(cfg),
        title="TxE mask prediction",
    )
    if dist.is_main():
        shown = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
        print(f"step {result.step}: {shown}\ncheckpoint: {result.checkpoint}")
    return 0
