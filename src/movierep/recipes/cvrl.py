"""CVRL recipe: contrastive pretraining of the Slow-D backbone (Qian et al. 2021).

The run config's defaults are the paper profile (LARS, lr 0.32 at global batch 1024,
93,750 steps; 16×4 clips, 224² crops, CVRL's temporally consistent augmentation); the
``cpu`` profile trains ``slow_d_tiny`` on 8×2 clips at 48² in CPU minutes. CVRL's clip
sampling (two clips of one video, their gap drawn from a decreasing distribution) lives
in :func:`movierep.data.clips.sample_pair_starts`; the objective in
:mod:`movierep.pretrain.cvrl`.

Launch (same code path)::

    movierep train backbone --method cvrl --data corpus/kinetics --profile cpu --out runs/cvrl
    torchrun --standalone --nproc_per_node=8 -m movierep train backbone --method cvrl ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from movierep import config
from movierep.data.clips import ClipConfig, ClipPairDataset, clip_augment, frame_source
from movierep.data.sources import concat_sources, open_source
from movierep.pretrain.cvrl import CVRL, CVRLConfig
from movierep.recipes.backbone import CPU_COMMON, BackboneConfig, contrastive_train, train_backbone
from movierep.train.loop import FitResult, TrainConfig

METHOD = "cvrl"


@dataclass(frozen=True)
class CVRLRun:
    """``train backbone --method cvrl``: backbone, clips, CVRL objective, optimisation."""

    model: BackboneConfig = field(default_factory=BackboneConfig)
    data: ClipConfig = field(default_factory=ClipConfig)
    cvrl: CVRLConfig = field(default_factory=CVRLConfig)
    train: TrainConfig = field(default_factory=contrastive_train)


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {**CPU_COMMON, "cvrl.proj_hidden_dim": 256, "cvrl.proj_dim": 64},
}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> CVRLRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(CVRLRun, PROFILES, profile, config_file, sets)


def build(
    cfg: CVRLRun, backbone: nn.Module, data: Sequence[Path], out: Path
) -> tuple[nn.Module, Dataset[Any]]:
    """The CVRL objective around ``backbone`` and its dataset of clip pairs."""
    d = cfg.data
    source = concat_sources([open_source(p, d.split, segment_s=d.segment_s) for p in data])
    objective = CVRL(backbone, cfg.cvrl)
    dataset = ClipPairDataset(
        source.spans,
        clip_augment(d),
        num_frames=d.num_frames,
        frame_stride=d.frame_stride,
        frames=frame_source(d),
        augment_on=d.augment_on,
    )
    return objective, dataset


def run(cfg: CVRLRun, *, data: Sequence[Path], out: Path, init: Path | None = None) -> FitResult:
    """Pretrain the backbone with CVRL; the exported backbone is ``out/last``."""
    return train_backbone(METHOD, cfg, build, data, out, init)
