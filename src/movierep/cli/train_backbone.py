"""``movierep train backbone``: pretrain the Slow-D event backbone (CVRL, MoDist or supervised).

Hierarchical-SSL §3.2 pretrains the low level of the hierarchy, the Slow-D clip backbone,
with clip-level contrastive learning (CVRL, MoDist) on Kinetics-400 and optionally then on
in-domain movie clips ("K400+VS"); the "Sup" baseline trains it with class labels. The
run configs below hold those recipes as defaults (the ``paper`` profile) and a ``cpu``
profile that keeps every mechanism at a size that learns in CPU minutes.

Launch (same code path)::

    python -m movierep train backbone --method cvrl --data corpus/kinetics --out runs/cvrl
    torchrun --standalone --nproc_per_node=8 -m movierep train backbone --method cvrl ...

"K400 then K400+VS": train on the Kinetics-style data, then start a second run on the
movies from the first one's checkpoint with ``--init runs/cvrl_k400/last``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import DataLoader, Dataset

from movierep import config, dist
from movierep.data.clips import (
    CachedFlow,
    ClipConfig,
    ClipPairDataset,
    LabelledClipDataset,
    clip_augment,
    clip_loader,
)
from movierep.data.sources import (
    ClipSource,
    catalog_source,
    concat_sources,
    event_label_source,
    kinetics_source,
    open_source,
)
from movierep.errors import UserError
from movierep.models.motion import MotionNet, motion_net_tiny
from movierep.models.slow_d import slow_d_r50, slow_d_tiny
from movierep.pretrain.cvrl import CVRL, CVRLConfig
from movierep.pretrain.modist import MoDist, MoDistConfig
from movierep.pretrain.supervised import Supervised, SupervisedConfig
from movierep.train.loop import TrainConfig, fit, seed_everything

#: Backbone presets by name; every one is saved as the ``slow_d`` architecture.
BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "slow_d_r50": slow_d_r50,
    "slow_d_tiny": slow_d_tiny,
}
MOTION_NETS: dict[str, Callable[..., nn.Module]] = {
    "motion_net": MotionNet,
    "motion_net_tiny": motion_net_tiny,
}


@dataclass(frozen=True)
class BackboneConfig:
    """Which backbone to train: ``slow_d_r50`` (paper) or ``slow_d_tiny`` (CPU)."""

    arch: str = "slow_d_r50"


def _contrastive_train() -> TrainConfig:
    """CVRL's optimisation (Qian et al. §4.1; TF Model Garden ``video_ssl``) for 400 epochs of K400.

    LARS, lr 0.32 for a global batch of 1024 (= 64 per process on 16 processes; scale lr
    linearly for another global batch), weight decay 1e-6, 5 warm-up epochs then cosine
    decay. 400 epochs × 240k clips / 1024 = 93,750 steps (Xiao et al. §3.4).
    """
    return TrainConfig(
        steps=93_750,
        batch_size=64,
        lr=0.32,
        weight_decay=1e-6,
        optimizer="lars",
        momentum=0.9,
        warmup_steps=1_172,
        schedule="cosine",
        bf16=True,
        log_every=50,
        ckpt_every=2_000,
    )


def _supervised_train() -> TrainConfig:
    """The Slow-only K400 recipe (Feichtenhofer et al. 2019, SlowFast): SGD, lr 0.1 at batch 64.

    196 epochs × 240k clips / 64 ≈ 735k steps, 34 warm-up epochs, cosine, weight decay 1e-4.
    """
    return TrainConfig(
        steps=735_000,
        batch_size=8,
        lr=0.1,
        weight_decay=1e-4,
        optimizer="sgd",
        momentum=0.9,
        warmup_steps=127_500,
        schedule="cosine",
        bf16=True,
        log_every=50,
        ckpt_every=5_000,
    )


@dataclass(frozen=True)
class CVRLRun:
    """``train backbone --method cvrl``."""

    model: BackboneConfig = field(default_factory=BackboneConfig)
    data: ClipConfig = field(default_factory=ClipConfig)
    cvrl: CVRLConfig = field(default_factory=CVRLConfig)
    train: TrainConfig = field(default_factory=_contrastive_train)


@dataclass(frozen=True)
class MoDistRun:
    """``train backbone --method modist``."""

    model: BackboneConfig = field(default_factory=BackboneConfig)
    data: ClipConfig = field(default_factory=ClipConfig)
    modist: MoDistConfig = field(default_factory=MoDistConfig)
    train: TrainConfig = field(default_factory=_contrastive_train)


@dataclass(frozen=True)
class SupervisedRun:
    """``train backbone --method supervised``."""

    model: BackboneConfig = field(default_factory=BackboneConfig)
    data: ClipConfig = field(default_factory=ClipConfig)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)
    train: TrainConfig = field(default_factory=_supervised_train)


#: CPU sizes shared by the three methods: tiny Slow-D, 8 frames × stride 2, 48² crops,
#: half-strength colour jitter (on the demo corpus, 300 steps: place kNN 0.73 vs. 0.56 at
#: random init; 32² crops at full strength stayed at chance), AdamW; two loader workers
#: (each single-threaded, which keeps the small augmentation ops from fighting the
#: training step for the two cores of a laptop-class CPU).
_CPU_COMMON: dict[str, Any] = {
    "model.arch": "slow_d_tiny",
    "data.num_frames": 8,
    "data.frame_stride": 2,
    "data.crop_size": 48,
    "data.color_strength": 0.5,
    "data.segment_s": 4.0,
    "train.steps": 200,
    "train.batch_size": 16,
    "train.optimizer": "adamw",
    "train.lr": 5e-3,
    "train.weight_decay": 1e-4,
    "train.warmup_steps": 10,
    "train.log_every": 10,
    "train.ckpt_every": 100,
    "train.num_workers": 2,
}
CVRL_PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {**_CPU_COMMON, "cvrl.proj_hidden_dim": 256, "cvrl.proj_dim": 64},
}
MODIST_PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        **_CPU_COMMON,
        "modist.proj_hidden_dim": 256,
        "modist.proj_dim": 64,
        "modist.motion_arch": "motion_net_tiny",
    },
}
SUPERVISED_PROFILES: dict[str, dict[str, Any]] = {"paper": {}, "cpu": dict(_CPU_COMMON)}

METHODS: dict[str, tuple[type, dict[str, dict[str, Any]]]] = {
    "cvrl": (CVRLRun, CVRL_PROFILES),
    "modist": (MoDistRun, MODIST_PROFILES),
    "supervised": (SupervisedRun, SUPERVISED_PROFILES),
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backbone`` under ``movierep train``."""
    parser = sub.add_parser(
        "backbone",
        help="pretrain the Slow-D clip backbone (CVRL, MoDist or supervised)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep train backbone --method cvrl --data corpus/kinetics --profile cpu "
            "--out runs/cvrl_k400\n"
            "  movierep train backbone --method cvrl --data corpus --init runs/cvrl_k400/last "
            "--profile cpu --out runs/cvrl_k400_vs\n"
            "  torchrun --standalone --nproc_per_node=8 -m movierep train backbone "
            "--method modist --data k400/ --out runs/modist"
        ),
    )
    parser.add_argument("--method", choices=sorted(METHODS), required=True)
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        metavar="PATH",
        help="corpus folder, Kinetics-style folder or CSV, or folder of videos (several: joined)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        metavar="CKPT",
        help="start from this backbone checkpoint (its architecture replaces model.arch)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="run folder (resumes if it holds last/)"
    )
    parser.add_argument("--steps", type=int, default=None, help="override train.steps")
    parser.add_argument("--seed", type=int, default=None, help="override train.seed")
    config.add_config_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the run config, build data and objective, and train through the loop."""
    run_cls, profiles = METHODS[args.method]
    sets = list(args.sets)
    if args.steps is not None:
        sets.append(f"train.steps={args.steps}")
    if args.seed is not None:
        sets.append(f"train.seed={args.seed}")
    cfg: Any = config.build(run_cls, profiles, args.profile, args.config, sets)
    dist.init_from_env()
    try:
        seed_everything(cfg.train.seed)
        backbone = build_backbone(cfg.model.arch, args.init)
        objective, dataset = build_objective(args.method, cfg, backbone, args.data, args.out)
        # Same initial weights on every rank (DDP also broadcasts them); different
        # augmentation draws per rank.
        seed_everything(cfg.train.seed + dist.rank())
        loader = make_loader(dataset, cfg.train, name=", ".join(map(str, args.data)))
        run_config = {**config.to_dict(cfg), "method": args.method, "init": str(args.init or "")}
        if dist.is_main():
            config.write_config(cfg, args.out)
        result = fit(
            objective,
            loader,
            cfg.train,
            args.out,
            export=lambda: (backbone, "slow_d", dict(vars(backbone)["model_kwargs"])),
            run_config=run_config,
            title=f"{args.method} backbone",
        )
        if dist.is_main():
            shown = ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
            print(f"trained {result.step} steps ({shown}); checkpoint: {result.checkpoint}")
    finally:
        dist.destroy()
    return 0


def build_backbone(arch: str, init: Path | None) -> nn.Module:
    """A fresh backbone preset, or the backbone of a checkpoint to continue from (``--init``)."""
    if init is not None:
        from movierep.checkpoint import load_pretrained

        model = load_pretrained(init)
        if not hasattr(model, "model_kwargs") or not hasattr(model, "feature_dim"):
            raise UserError(f"{init}: not a backbone checkpoint")
        return model.train()
    if arch not in BACKBONES:
        raise UserError(f"model.arch={arch!r}: unknown; known: {', '.join(BACKBONES)}")
    return BACKBONES[arch]()


def build_objective(
    method: str, cfg: Any, backbone: nn.Module, data: list[Path], out: Path
) -> tuple[nn.Module, Dataset[Any]]:
    """The objective module of ``method`` and its training dataset."""
    d: ClipConfig = cfg.data
    augment = clip_augment(d)
    if method == "supervised":
        sup: SupervisedConfig = cfg.supervised
        source = concat_sources([labelled_source(p, sup.labels, d) for p in data])
        if len(source.classes) < 2:
            raise UserError(f"{data[0]}: supervised training needs at least 2 classes")
        dataset: Dataset[Any] = LabelledClipDataset(
            source.spans, augment, num_frames=d.num_frames, frame_stride=d.frame_stride
        )
        return Supervised(backbone, len(source.classes), dropout=sup.dropout), dataset
    source = concat_sources([open_source(p, d.split, segment_s=d.segment_s) for p in data])
    if method == "cvrl":
        c: CVRLConfig = cfg.cvrl
        objective: nn.Module = CVRL(
            backbone,
            temperature=c.temperature,
            proj_hidden_dim=c.proj_hidden_dim,
            proj_dim=c.proj_dim,
            proj_layers=c.proj_layers,
        )
        flow = None
    else:
        m: MoDistConfig = cfg.modist
        if m.motion_arch not in MOTION_NETS:
            raise UserError(
                f"modist.motion_arch={m.motion_arch!r}: unknown; known: {', '.join(MOTION_NETS)}"
            )
        objective = MoDist(
            backbone,
            MOTION_NETS[m.motion_arch](),
            temperature=m.temperature,
            proj_hidden_dim=m.proj_hidden_dim,
            proj_dim=m.proj_dim,
            proj_layers=m.proj_layers,
        )
        flow = CachedFlow(out / "flow_cache")
    dataset = ClipPairDataset(
        source.spans,
        augment,
        num_frames=d.num_frames,
        frame_stride=d.frame_stride,
        flow=flow,
    )
    return objective, dataset


def labelled_source(path: Path, labels: str, d: ClipConfig) -> ClipSource:
    """The labelled spans for the supervised baseline (see :class:`SupervisedConfig`)."""
    is_corpus = (path / "catalog.parquet").is_file()
    if labels == "auto":
        labels = "verb" if is_corpus else "class"
    if labels == "class":
        if path.suffix == ".csv":
            return kinetics_source(path.parent, path.stem)
        return kinetics_source(path, d.split)
    if not is_corpus:
        raise UserError(f"{path}: labels {labels!r} need a corpus folder (catalog.parquet)")
    if labels == "genre":
        return catalog_source(path, d.split, segment_s=d.segment_s, label="genre")
    if labels in ("verb", "place"):
        return event_label_source(path, d.split, column=labels)
    raise UserError(f"supervised.labels={labels!r}: choose auto, class, genre, verb or place")


def make_loader(dataset: Dataset[Any], train: TrainConfig, *, name: str) -> DataLoader[Any]:
    """The shuffling, drop-last (DDP-sharded) loader of a training dataset."""
    return clip_loader(
        dataset,
        batch_size=train.batch_size,
        num_workers=train.num_workers,
        seed=train.seed,
        name=name,
    )
