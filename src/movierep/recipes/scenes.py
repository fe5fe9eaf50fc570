r"""Scene-encoder recipe (``train scenes``): momentum contrast on ``P_scene`` (Fig. 3).

The scene encoder starts from E_fixed's weights (CLIP's ViT-B/16 in the paper; a CLIP
file or a ``train image-encoder`` checkpoint here) and sees a scene as n shots × 1
keyframe through interpolated position embeddings (:class:`movierep.models.vit.ViT`).
Queries and keys are the selected scene pairs (:class:`movierep.data.shot_images.ScenePairDataset`),
the objective MoCo (:mod:`movierep.pretrain.scene_moco`), the optimiser Adam (§4.2; AdamW
with zero weight decay). The export, ``out/last``, is E_scene: the query encoder without
its last FC layer (arch ``vit``).

The paper fixes n = 9 shots × 1 frame and MoCo's defaults; batch, learning rate and steps
are ours. ``cpu`` trains ``vit_tiny`` scenes of 4 shots (the corpus' scenes are ~4 shots
long) with a 4,096-key queue. ``data.shots_per_scene=4`` with the paper profile is the
"4 vs 9 shots" ablation (§4.3.3 c).

Launch::

    movierep train scenes --pairs runs/p_scene.parquet --shots runs/shots --init runs/vit/last \\
        --profile cpu --out runs/scenes
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from movierep import config, dist, tables
from movierep.data.sampling import seeded_loader
from movierep.data.shot_images import ScenePairDataset, ShotImages
from movierep.errors import UserError
from movierep.features.scenes import load_image_encoder
from movierep.pretrain.scene_moco import SceneMoCo, SceneMoCoConfig
from movierep.recipes.image_encoder import image_augment
from movierep.train.loop import FitResult, TrainConfig, fit, seed_everything


@dataclass(frozen=True)
class SceneDataConfig:
    """A scene: n shots × 1 keyframe (9), augmented alike across its frames (crop area, colour)."""

    shots_per_scene: int = 9
    crop_area: tuple[float, float] = (0.5, 1.0)
    color_strength: float = 0.5


def _paper_train() -> TrainConfig:
    return TrainConfig(
        steps=20000,
        batch_size=256,
        lr=1e-4,
        weight_decay=0.0,
        warmup_steps=1000,
        grad_clip=1.0,
        log_every=50,
        ckpt_every=2000,
    )


@dataclass(frozen=True)
class SceneRun:
    """``train scenes``: scenes, MoCo, optimisation."""

    data: SceneDataConfig = field(default_factory=SceneDataConfig)
    moco: SceneMoCoConfig = field(default_factory=SceneMoCoConfig)
    train: TrainConfig = field(default_factory=_paper_train)


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        "data.shots_per_scene": 4,
        "moco.queue_size": 4096,
        "moco.momentum": 0.99,
        "train.steps": 300,
        "train.batch_size": 32,
        "train.lr": 1e-4,
        "train.warmup_steps": 20,
        "train.log_every": 10,
        "train.ckpt_every": 100,
        "train.num_workers": 2,
    },
}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> SceneRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(SceneRun, PROFILES, profile, config_file, sets)


def run(cfg: SceneRun, *, pairs: Path, shots: Path, init: Path, out: Path) -> FitResult:
    """Train the scene encoder; the export ``out/last`` is E_scene (arch ``vit``).

    Args:
        cfg: the resolved run config.
        pairs: the ``P_scene`` table (``movierep select-pairs``).
        shots: the shots folder whose keyframes the pairs index.
        init: E_fixed (a CLIP file or a ViT checkpoint folder): the initial weights.
        out: run folder; resumes from ``out/last``.
    """
    dist.init_from_env()
    table = tables.read_table(pairs)
    tables.require_columns(
        table, ["movie_a", "a_start", "a_end", "movie_b", "b_start", "b_end"], pairs
    )
    rows = table.to_pylist()
    world = dist.world_size()
    if len(rows) < cfg.train.batch_size * world:
        raise UserError(
            f"{pairs}: {len(rows)} scene pairs are fewer than one global batch "
            f"({cfg.train.batch_size} x {world}); lower train.batch_size"
        )
    movies = sorted({r["movie_a"] for r in rows} | {r["movie_b"] for r in rows})
    images = ShotImages(shots, movie_ids=movies)
    seed_everything(cfg.train.seed)
    encoder = load_image_encoder(init).train()
    augment = image_augment(encoder.image_size, cfg.data.crop_area, cfg.data.color_strength)
    objective = SceneMoCo(encoder, **config.to_dict(cfg.moco))
    loader = seeded_loader(
        ScenePairDataset(images, rows, cfg.data.shots_per_scene, augment),
        batch_size=cfg.train.batch_size,
        seed=cfg.train.seed,
        num_workers=cfg.train.num_workers,
        name=str(pairs),
    )
    if dist.is_main():
        config.write_config(cfg, out)

    def export() -> tuple[nn.Module, str, dict[str, Any]]:
        return objective.encoder_q, "vit", encoder.model_kwargs

    return fit(
        objective,
        loader,
        cfg.train,
        out,
        export=export,
        run_config={**config.to_dict(cfg), "init": str(init), "pairs": str(pairs)},
        title="scene encoder (MoCo on P_scene)",
    )
