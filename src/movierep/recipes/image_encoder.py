"""Image-encoder recipe: movierep's own stand-in for CLIP's ViT (``train image-encoder``).

Movies2Scenes uses CLIP's ViT-B/16 as E_fixed and as the scene encoder's initialisation.
With a CLIP release file at hand, pass it wherever an image encoder is asked for (it is
read in OpenAI's layout by :func:`movierep.models.vit.load_clip_visual`). Without one,
this recipe pretrains the same ViT on the catalog's shot keyframes (all three per shot)
with SimCLR (:mod:`movierep.pretrain.image_contrast`); the result is a checkpoint folder
that every Movies2Scenes stage accepts in CLIP's place.

The ``paper`` profile is ViT-B/16 at 224² (the size of the CLIP model it stands in
for; its optimisation follows MoCo v3's ViT recipe: AdamW, lr 1.5e-4 × batch/256,
weight decay 0.1, warm-up, cosine); ``cpu`` is ``vit_tiny`` at 64×112 in CPU minutes.

Launch::

    movierep train image-encoder --shots runs/shots --corpus corpus --profile cpu --out runs/vit
    torchrun --standalone --nproc_per_node=8 -m movierep train image-encoder --shots ... --out ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from movierep import config, dist
from movierep.checkpoint import InferenceInputs
from movierep.data.augment import ClipAugment
from movierep.data.sampling import seeded_loader
from movierep.data.shot_images import KeyframeViews, ShotImages
from movierep.errors import UserError
from movierep.models.vit import CLIP_MEAN, CLIP_STD, VIT_TINY, ViT, ViTConfig
from movierep.pretrain.image_contrast import ImageContrast, ImageContrastConfig
from movierep.train.loop import FitResult, TrainConfig, fit, seed_everything


@dataclass(frozen=True)
class ImageViewConfig:
    """SimCLR's augmentation of one keyframe (crop area, colour jitter strength)."""

    crop_area: tuple[float, float] = (0.08, 1.0)
    color_strength: float = 1.0


def _paper_train() -> TrainConfig:
    return TrainConfig(
        steps=100000,
        batch_size=1024,
        lr=6e-4,
        weight_decay=0.1,
        warmup_steps=10000,
        grad_clip=1.0,
        log_every=50,
        ckpt_every=2000,
    )


@dataclass(frozen=True)
class ImageEncoderRun:
    """``train image-encoder``: the ViT (CLIP ViT-B/16), the views, SimCLR, optimisation."""

    model: ViTConfig = field(default_factory=ViTConfig)
    data: ImageViewConfig = field(default_factory=ImageViewConfig)
    simclr: ImageContrastConfig = field(default_factory=ImageContrastConfig)
    train: TrainConfig = field(default_factory=_paper_train)


#: The CPU-sized ViT of every Movies2Scenes ``cpu`` profile (:data:`~movierep.models.vit.VIT_TINY`).
CPU_VIT: dict[str, Any] = config.preset_overrides("model", VIT_TINY)

PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        **CPU_VIT,
        "data.crop_area": (0.25, 1.0),
        "data.color_strength": 0.5,
        "simclr.proj_hidden_dim": 512,
        "train.steps": 400,
        "train.batch_size": 64,
        "train.lr": 1e-3,
        "train.weight_decay": 0.05,
        "train.warmup_steps": 30,
        "train.log_every": 10,
        "train.ckpt_every": 100,
        "train.num_workers": 2,
    },
}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> ImageEncoderRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(ImageEncoderRun, PROFILES, profile, config_file, sets)


def image_augment(
    image_size: tuple[int, int], crop_area: tuple[float, float], color: float
) -> ClipAugment:
    """SimCLR's view of a keyframe at the encoder's input size, CLIP's normalisation."""
    height, width = image_size
    return ClipAugment(
        size=height,
        view_aspect=width / height,
        crop_area=crop_area,
        brightness=0.8 * color,
        contrast=0.8 * color,
        saturation=0.8 * color,
        hue=0.2 * color,
        mean=CLIP_MEAN,
        std=CLIP_STD,
    )


def run(
    cfg: ImageEncoderRun,
    *,
    shots: Path,
    out: Path,
    movie_ids: Sequence[str] | None = None,
) -> FitResult:
    """Pretrain the ViT on a shots folder's keyframes; the export is ``out/last`` (arch ``vit``).

    Args:
        cfg: the resolved run config.
        shots: a ``movierep ingest shots`` folder.
        out: run folder; resumes from ``out/last``.
        movie_ids: train on these movies' keyframes only (e.g. the train split).
    """
    dist.init_from_env()
    images = ShotImages(shots, k=None, movie_ids=movie_ids)
    paths = images.all_paths()
    world = dist.world_size()
    if len(paths) < cfg.train.batch_size * world:
        raise UserError(
            f"{shots}: {len(paths)} keyframes are fewer than one global batch "
            f"({cfg.train.batch_size} x {world}); lower train.batch_size"
        )
    augment = image_augment(cfg.model.image_size, cfg.data.crop_area, cfg.data.color_strength)
    seed_everything(cfg.train.seed)
    encoder = ViT(cfg.model)
    objective = ImageContrast(encoder, cfg.simclr)
    loader = seeded_loader(
        KeyframeViews(paths, augment),
        batch_size=cfg.train.batch_size,
        seed=cfg.train.seed,
        num_workers=cfg.train.num_workers,
        name=str(shots),
    )
    if dist.is_main():
        config.write_config(cfg, out)

    def export() -> tuple[nn.Module, str, dict[str, Any]]:
        return objective.encoder, "vit", encoder.model_kwargs

    return fit(
        objective,
        loader,
        cfg.train,
        out,
        export=export,
        run_config=config.to_dict(cfg),
        inputs=InferenceInputs(image_size=encoder.image_size),
        title="image encoder (SimCLR on keyframes)",
    )
