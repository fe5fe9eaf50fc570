"""MoDist recipe: CVRL plus motion distillation from an optical-flow pathway (Xiao et al. 2021).

The run config's defaults are the paper profile (CVRL's optimisation and clips, the
authors' MoCo settings: momentum 0.999, queues of 65,536, 2-layer heads, positives
0.5-10 s apart); the ``cpu`` profile trains ``slow_d_tiny`` with ``motion_net_tiny``.
Optical flow is computed once per video from the decoded-frame cache, for every clip
start at the clip stride (:func:`movierep.video.flow.video_flow`); with
``data.frame_cache=decode`` it is computed per drawn clip and cached under ``out/flow_cache``.
The objective is in :mod:`movierep.pretrain.modist`.

Launch (same code path)::

    movierep train backbone --method modist --data corpus/kinetics --profile cpu --out runs/md
    torchrun --standalone --nproc_per_node=8 -m movierep train backbone --method modist ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from movierep import config
from movierep.data.clips import (
    ClipConfig,
    ClipPairDataset,
    clip_augment,
    frame_source,
    sample_shifted_pair_starts,
)
from movierep.data.sources import concat_sources, open_source
from movierep.errors import UserError
from movierep.models import create_model
from movierep.pretrain.modist import MoDist, MoDistConfig
from movierep.recipes.backbone import CPU_COMMON, BackboneConfig, contrastive_train, train_backbone
from movierep.train.loop import FitResult, TrainConfig
from movierep.video.flow import FLOW_METHODS

METHOD = "modist"

#: Motion pathways a run may name as ``modist.motion_arch``.
MOTION_NETS = ("motion_net", "motion_net_tiny")


@dataclass(frozen=True)
class MoDistRun:
    """``train backbone --method modist``: backbone, clips, MoDist objective, optimisation."""

    model: BackboneConfig = field(default_factory=BackboneConfig)
    data: ClipConfig = field(default_factory=ClipConfig)
    modist: MoDistConfig = field(default_factory=MoDistConfig)
    train: TrainConfig = field(default_factory=contrastive_train)


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        **CPU_COMMON,
        "modist.proj_hidden_dim": 256,
        "modist.proj_dim": 64,
        "modist.motion_arch": "motion_net_tiny",
        # a queue of ~15 steps of keys, and key encoders that follow within ~100 steps
        # (0.999 would leave them 74% at their initial weights after the 300 CPU steps)
        "modist.queue_size": 512,
        "modist.momentum": 0.99,
        # DIS's ULTRAFAST preset: 9x cheaper than MEDIUM at 128×72 (0.25 vs 2.2 ms per
        # frame pair on 2 cores), and the motion pathway sees 48² crops of the frames
        "modist.flow_method": "dis-ultrafast",
    },
}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> MoDistRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(MoDistRun, PROFILES, profile, config_file, sets)


def build(
    cfg: MoDistRun, backbone: nn.Module, data: Sequence[Path], out: Path
) -> tuple[nn.Module, Dataset[Any]]:
    """The MoDist objective (backbone + motion pathway) and its dataset of clip pairs + flow."""
    d, m = cfg.data, cfg.modist
    source = concat_sources([open_source(p, d.split, segment_s=d.segment_s) for p in data])
    if m.flow_method not in FLOW_METHODS:
        raise UserError(
            f"modist.flow_method={m.flow_method!r}: unknown; known: {', '.join(FLOW_METHODS)}"
        )
    if m.motion_arch not in MOTION_NETS:
        raise UserError(
            f"modist.motion_arch={m.motion_arch!r}: unknown; known: {', '.join(MOTION_NETS)}"
        )
    motion = create_model(m.motion_arch, camera_compensation=m.camera_compensation)
    objective = MoDist(backbone, motion, m)
    dataset = ClipPairDataset(
        source.spans,
        clip_augment(d),
        num_frames=d.num_frames,
        frame_stride=d.frame_stride,
        frames=frame_source(d, flow_root=out / "flow_cache", flow_method=m.flow_method),
        flow=True,
        pair_starts=partial(sample_shifted_pair_starts, min_gap=m.min_gap_s, max_gap=m.max_gap_s),
        augment_on=d.augment_on,
    )
    return objective, dataset


def run(cfg: MoDistRun, *, data: Sequence[Path], out: Path, init: Path | None = None) -> FitResult:
    """Pretrain the backbone with MoDist; the exported backbone is ``out/last``."""
    return train_backbone(METHOD, cfg, build, data, out, init)
