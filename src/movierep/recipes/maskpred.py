r"""Mask-prediction recipe: pretrain the TxE contextualizer on event features (Xiao et al. §3.3).

Reads one or more event-features tables (frozen backbone features from any source, e.g.
the corpus' VidSitu-format and LVU-format clips), cuts each into sequences of N
consecutive events of one video, and trains TxE with Eq. 1
(:mod:`movierep.pretrain.maskpred`) through :func:`movierep.train.loop.fit`.

The paper fixes TxE, N, α, τ and K; its optimisation settings are in a supplement we do
not have, so ``train`` holds our choices (AdamW, warm-up + cosine, clip 1.0).

Launch::

    movierep train contextualizer --features vs.parquet lvu.parquet --profile cpu --out runs/txe
    torchrun --standalone --nproc_per_node=8 -m movierep train contextualizer \
        --features vs.parquet lvu.parquet --out runs/txe
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import ConcatDataset

from movierep import config, dist
from movierep.checkpoint import InferenceInputs
from movierep.data.sampling import seeded_loader
from movierep.data.sequences import EventSequenceDataset, SequenceConfig
from movierep.errors import UserError
from movierep.models.txe import TXE_TINY, TxE, TxEConfig
from movierep.pretrain.maskpred import MaskPredConfig, MaskPredObjective
from movierep.train.loop import FitResult, TrainConfig, fit, seed_everything


def _paper_train() -> TrainConfig:
    return TrainConfig(
        steps=20000,
        batch_size=256,
        lr=1e-4,
        weight_decay=0.05,
        warmup_steps=1000,
        grad_clip=1.0,
        log_every=50,
        ckpt_every=1000,
    )


@dataclass(frozen=True)
class MaskPredRun:
    """``train contextualizer``: TxE size, sequences, mask prediction, optimisation.

    ``txe.input_dim`` is set from the feature tables.
    """

    txe: TxEConfig = field(default_factory=TxEConfig)
    data: SequenceConfig = field(default_factory=SequenceConfig)
    maskpred: MaskPredConfig = field(default_factory=MaskPredConfig)
    train: TrainConfig = field(default_factory=_paper_train)


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        **config.preset_overrides("txe", TXE_TINY),
        "maskpred.queue_size": 4096,
        "train.steps": 300,
        "train.batch_size": 32,
        "train.lr": 1e-3,
        "train.warmup_steps": 20,
        "train.log_every": 10,
        "train.ckpt_every": 100,
    },
}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> MaskPredRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(MaskPredRun, PROFILES, profile, config_file, sets)


def load_sequences(
    paths: Sequence[Path], num_tokens: int, data: SequenceConfig
) -> tuple[ConcatDataset[Any], int]:
    """All sequences of all tables, and their feature size D (which must agree)."""
    parts = [EventSequenceDataset.from_parquet(p, num_tokens, data) for p in paths]
    dims = {p.feature_dim for p in parts}
    if len(dims) > 1:
        listing = ", ".join(f"{p.source} (D={p.feature_dim})" for p in parts)
        raise UserError(f"event features of different sizes cannot be mixed: {listing}")
    if sum(len(p) for p in parts) == 0:
        raise UserError(
            f"{paths[0]}: no sequence of {num_tokens} consecutive events in the given tables"
        )
    return ConcatDataset(parts), dims.pop()


def run(cfg: MaskPredRun, *, features: Sequence[Path], out: Path) -> FitResult:
    """Train TxE with mask prediction; the exported model is ``out/last`` (arch ``txe``).

    Args:
        cfg: the resolved run config.
        features: event-features tables (``movierep extract events``); several sources may
            be mixed if their feature sizes agree.
        out: run folder; resumes from ``out/last``.
    """
    dist.init_from_env()
    features, out = [Path(p) for p in features], Path(out)
    dataset, dim = load_sequences(features, cfg.txe.num_tokens, cfg.data)
    if cfg.txe.output_dim not in (None, dim):
        raise UserError(
            f"txe.output_dim={cfg.txe.output_dim}: mask prediction compares TxE outputs "
            f"with the D={dim} event features; leave it unset"
        )
    cfg = dataclasses.replace(cfg, txe=dataclasses.replace(cfg.txe, input_dim=dim))
    world = dist.world_size()
    if len(dataset) < cfg.train.batch_size * world:
        raise UserError(
            f"{features[0]}: {len(dataset)} sequences are fewer than one global batch "
            f"({cfg.train.batch_size} x {world}); lower train.batch_size"
        )
    seed_everything(cfg.train.seed)
    txe = TxE(cfg.txe)
    objective = MaskPredObjective(txe, cfg.maskpred)
    seed_everything(cfg.train.seed + dist.rank())  # different masks on every rank
    # drop-last batches keep the queue's DDP gather in step on every rank
    loader = seeded_loader(
        dataset,
        batch_size=cfg.train.batch_size,
        seed=cfg.train.seed,
        num_workers=cfg.train.num_workers,
        name=str(features[0]),
    )
    if dist.is_main():
        config.write_config(cfg, out)

    def export() -> tuple[nn.Module, str, dict[str, Any]]:
        return objective.txe, "txe", config.to_dict(cfg.txe)

    return fit(
        objective,
        loader,
        cfg.train,
        out,
        export=export,
        run_config=config.to_dict(cfg),
        inputs=InferenceInputs(token_stride=cfg.data.token_stride),
        title="TxE mask prediction",
    )
