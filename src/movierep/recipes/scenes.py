r"""Scene-encoder recipe (``train scenes``): momentum contrast on ``P_scene`` (Fig. 3).

The scene encoder starts from E_fixed's weights (CLIP's ViT-B/16 in the paper; a CLIP
file or a ``train image-encoder`` checkpoint here) and sees a scene as n shots × 1
keyframe through interpolated position embeddings (:class:`movierep.models.vit.ViT`).
Queries and keys are the selected scene pairs (:class:`movierep.data.shot_images.ScenePairDataset`),
the objective MoCo (:mod:`movierep.pretrain.scene_moco`), the optimiser Adam (§4.2). The
export, ``out/last``, is E_scene: the query encoder without
its last FC layer (arch ``vit``).

The ``paper`` profile is the supplement's (§1.1 b): n = 9 shots × 1 frame; "following
[5] [MoCo], we use feature dimension of 128, queue size of 65,536, MoCo momentum of 0.999
and softmax temperature of 0.07 ... we use learning rate of 5e-6, weight decay of 1e-8,
number of warm-up epochs of 5, batch size of 128 and number of epoch of 20", with Adam
(L2 weight decay, ``train.optimizer=adam``). The batch is global (128 over 8 GPUs is 16
per GPU, ``train.global_batch_size``) and an epoch is one pass over ``P_scene``. The
supplement names no gradient clipping and no schedule after the warm-up: none, and a
cosine decay (ours).

The ``cpu`` profile is derived from it: ``vit_tiny`` scenes of 4 shots (the corpus'
scenes are ~4 shots long) with a 4,096-key queue and momentum 0.99, 300 steps of 32
pairs at lr 1e-4 (5e-6 moves a from-scratch ``vit_tiny`` too little in 300 steps).
``data.shots_per_scene=4`` with the paper profile is the "4 vs 9 shots" ablation
(§4.3.3 c).

Launch::

    movierep train scenes --pairs runs/p_scene.parquet --shots runs/shots --init runs/vit/last \\
        --profile cpu --out runs/scenes
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from torch import nn

from movierep import config, dist, tables
from movierep.checkpoint import InferenceInputs
from movierep.data.sampling import seeded_loader
from movierep.data.shot_images import ScenePairDataset, ShotImages
from movierep.errors import UserError
from movierep.features.image_encoder import load_image_encoder
from movierep.models.vit import ViT
from movierep.pretrain.scene_moco import SceneMoCo, SceneMoCoConfig
from movierep.recipes.image_encoder import image_augment
from movierep.train.loop import FitResult, TrainConfig, fit, seed_everything, sized_for


@dataclass(frozen=True)
class SceneDataConfig:
    """A scene: n shots × 1 keyframe (9), augmented alike across its frames (crop area, colour)."""

    shots_per_scene: int = 9
    crop_area: tuple[float, float] = (0.5, 1.0)
    color_strength: float = 0.5


def _paper_train() -> TrainConfig:
    return TrainConfig(
        optimizer="adam",
        lr=5e-6,
        weight_decay=1e-8,
        global_batch_size=128,
        epochs=20,
        warmup_epochs=5,
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
        "train.epochs": None,
        "train.warmup_epochs": None,
        "train.global_batch_size": None,
        "train.steps": 300,
        "train.batch_size": 32,
        "train.optimizer": "adamw",
        "train.weight_decay": 0.0,
        "train.grad_clip": 1.0,
        "train.lr": 1e-4,
        "train.warmup_steps": 20,
        "train.log_every": 10,
        "train.ckpt_every": 100,
        "train.num_workers": 2,
    },
}


def inference_inputs(cfg: SceneRun, encoder: ViT) -> InferenceInputs:
    """What the trained E_scene must be fed: scenes of ``shots_per_scene`` shots × 1 keyframe.

    Stated in every checkpoint, so ``extract scenes``, ``embed`` and ``embed_video`` embed
    windows of the length the encoder was trained on (4 shots in the ``cpu`` profile).
    """
    return InferenceInputs(
        shots_per_scene=cfg.data.shots_per_scene, frames_per_shot=1, image_size=encoder.image_size
    )


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
    world = dist.world_size()
    cfg = dataclasses.replace(cfg, train=sized_for(cfg.train, table.num_rows, world))
    if table.num_rows < cfg.train.batch_size * world:
        raise UserError(
            f"{pairs}: {table.num_rows} scene pairs are fewer than one global batch "
            f"({cfg.train.batch_size} x {world}); lower train.batch_size"
        )
    if cfg.moco.queue_size >= table.num_rows:
        print(
            f"warning: {pairs}: moco.queue_size={cfg.moco.queue_size} is not below the "
            f"{table.num_rows} scene pairs, so the queue holds keys of a query's own pair "
            "as negatives; lower moco.queue_size"
        )
    movies = pc.unique(pa.concat_arrays([
        table.column("movie_a").combine_chunks(), table.column("movie_b").combine_chunks()
    ])).to_pylist()  # fmt: skip
    images = ShotImages(shots, movie_ids=sorted(movies))
    seed_everything(cfg.train.seed)
    encoder = load_image_encoder(init).train()
    augment = image_augment(encoder.image_size, cfg.data.crop_area, cfg.data.color_strength)
    objective = SceneMoCo(encoder, cfg.moco)
    loader = seeded_loader(
        ScenePairDataset(images, table, cfg.data.shots_per_scene, augment),
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
        inputs=inference_inputs(cfg, encoder),
        title="scene encoder (MoCo on P_scene)",
    )
