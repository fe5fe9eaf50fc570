"""Supervised recipe: the backbone trained with labels, the papers' "Sup" reference rows.

Labels come from the data (:class:`movierep.pretrain.supervised.SupervisedConfig`):
Kinetics-style classes, catalog genres, the verbs / places of a corpus' annotated events,
or the verbs of a VidSitu folder's train events (Xiao et al. Table 3's "vb finetune":
``--data corpus/vidsitu --init runs/cvrl/last``). The paper profile is the Slow-only K400
recipe (SGD, lr 0.1 at batch 64); the ``cpu`` profile shares the contrastive recipes' clip
and model sizes.

Launch::

    movierep train backbone --method supervised --data corpus/kinetics --profile cpu --out runs/sup
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from movierep import config
from movierep.data.clips import ClipConfig, LabelledClipDataset, clip_augment, frame_source
from movierep.data.sources import (
    ClipSource,
    catalog_source,
    concat_sources,
    event_label_source,
    kinetics_source,
    vidsitu_source,
)
from movierep.errors import UserError
from movierep.pretrain.supervised import Supervised, SupervisedConfig
from movierep.recipes.backbone import CPU_COMMON, BackboneConfig, supervised_train, train_backbone
from movierep.train.loop import FitResult, TrainConfig

METHOD = "supervised"


@dataclass(frozen=True)
class SupervisedRun:
    """``train backbone --method supervised``: backbone, clips, labels, optimisation."""

    model: BackboneConfig = field(default_factory=BackboneConfig)
    data: ClipConfig = field(default_factory=ClipConfig)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)
    train: TrainConfig = field(default_factory=supervised_train)


PROFILES: dict[str, dict[str, Any]] = {"paper": {}, "cpu": dict(CPU_COMMON)}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> SupervisedRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(SupervisedRun, PROFILES, profile, config_file, sets)


def labelled_source(path: Path, labels: str, d: ClipConfig) -> ClipSource:
    """The labelled spans of ``path`` (see :class:`SupervisedConfig` for ``labels``)."""
    is_corpus = (path / "catalog.parquet").is_file()
    if (path / "vidsitu_annotations").is_dir():
        if labels not in ("auto", "verb"):
            raise UserError(f"{path}: a VidSitu folder has verb labels only, not {labels!r}")
        return vidsitu_source(path, "train" if d.split == "all" else d.split)
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


def build(
    cfg: SupervisedRun, backbone: nn.Module, data: Sequence[Path], out: Path
) -> tuple[nn.Module, Dataset[Any]]:
    """The classification objective around ``backbone`` and its labelled clip dataset."""
    d, sup = cfg.data, cfg.supervised
    source = concat_sources([labelled_source(p, sup.labels, d) for p in data])
    if len(source.classes) < 2:
        raise UserError(f"{data[0]}: supervised training needs at least 2 classes")
    dataset = LabelledClipDataset(
        source.spans,
        clip_augment(d),
        num_frames=d.num_frames,
        frame_stride=d.frame_stride,
        frames=frame_source(d),
        augment_on=d.augment_on,
    )
    return Supervised(backbone, len(source.classes), sup), dataset


def run(
    cfg: SupervisedRun, *, data: Sequence[Path], out: Path, init: Path | None = None
) -> FitResult:
    """Train the backbone with labels; the exported backbone is ``out/last``."""
    return train_backbone(METHOD, cfg, build, data, out, init)
