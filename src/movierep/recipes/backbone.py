"""What the three backbone recipes (CVRL, MoDist, supervised) share.

The backbone choice, the papers' optimisers, the CPU profile, the loader, and the run.

Hierarchical-SSL §3.2 pretrains the low level of the hierarchy, the Slow-D clip backbone,
with clip-level contrastive learning (CVRL, MoDist) on Kinetics-400 and optionally then on
in-domain movie clips ("K400+VS"); the "Sup" baseline trains it with class labels.
"K400 then K400+VS" is two runs: the second starts from the first one's checkpoint
(``init=Path("runs/cvrl_k400/last")``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import DataLoader, Dataset

from movierep import config, dist
from movierep.checkpoint import InferenceInputs
from movierep.data.clips import ClipConfig
from movierep.data.sampling import seeded_loader
from movierep.errors import UserError
from movierep.models import create_model, load_pretrained
from movierep.models.factory import arch_name, model_config
from movierep.train.loop import FitResult, TrainConfig, fit, seed_everything

#: Backbone presets a run may name as ``model.arch``.
BACKBONES = ("slow_d_r50", "slow_d_tiny")

#: Builds the objective and its training dataset from (run config, backbone, data, out).
BuildObjective = Callable[[Any, nn.Module, Sequence[Path], Path], tuple[nn.Module, Dataset[Any]]]


@dataclass(frozen=True)
class BackboneConfig:
    """Which backbone to train, and how its batch norm behaves under DDP.

    Attributes:
        arch: ``slow_d_r50`` (paper) or ``slow_d_tiny`` (CPU).
        sync_batch_norm: under DDP on GPUs, batch-norm statistics over the global batch
            (``nn.SyncBatchNorm``), as CVRL's release trains (its per-replica statistics
            would let a contrastive model tell the replicas' batches apart). PyTorch syncs
            on CUDA only; CPU (gloo) runs keep per-process statistics.
        input_difference: Slow-D sees frame differences instead of frames (TSN's RGB
            difference; :func:`movierep.models.slow_d.frame_differences`). Off in the
            papers; stored in the checkpoint, so feature extraction follows it.
    """

    arch: str = "slow_d_r50"
    sync_batch_norm: bool = True
    input_difference: bool = False


def backbone_inputs(data: ClipConfig) -> InferenceInputs:
    """What a backbone trained on ``data``'s clips must be fed: T, stride, S and view aspect."""
    aspect = data.eval_view_aspect if data.eval_view_aspect is not None else data.view_aspect
    return InferenceInputs(
        clip_frames=data.num_frames,
        frame_stride=data.frame_stride,
        crop_size=data.crop_size,
        view_aspect=float(aspect),
    )


def contrastive_train() -> TrainConfig:
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


def supervised_train() -> TrainConfig:
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


#: CPU sizes shared by the three methods: tiny Slow-D, 8 frames × stride 6 (1.92 s at
#: 25 fps: the clip spans the corpus' whole 2 s event, where stride 2 saw 0.64 s of it),
#: 48² training crops, whole-frame 48×85 evaluation views, half-strength colour jitter,
#: AdamW; two loader workers (each single-threaded, which keeps the small augmentation ops
#: from fighting the training step for the two cores of a laptop-class CPU). Picked by the
#: sweep in docs/recipes.md (CVRL, 300 steps, demo corpus v2, seed 0): whole-frame
#: evaluation raised place kNN from 0.61 to 0.69 (random init 0.35 to 0.42); 16:9 training
#: crops, frame differences, same-video batches and MoDist left verbs at 0.20 (below the
#: 0.275 majority) and cost up to 2x the time.
CPU_COMMON: dict[str, Any] = {
    "model.arch": "slow_d_tiny",
    "data.num_frames": 8,
    "data.frame_stride": 6,
    "data.crop_size": 48,
    "data.eval_view_aspect": 16 / 9,
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


def build_backbone(
    arch: str, init: Path | None = None, *, input_difference: bool = False
) -> nn.Module:
    """A fresh backbone preset, or the backbone of a checkpoint to continue from (``init``).

    ``input_difference`` applies to a fresh backbone; a checkpoint keeps its own.
    """
    if init is not None:
        model = load_pretrained(init)
        if not hasattr(model, "model_kwargs") or not hasattr(model, "feature_dim"):
            raise UserError(f"{init}: not a backbone checkpoint")
        return model.train()
    if arch not in BACKBONES:
        raise UserError(f"model.arch={arch!r}: unknown; known: {', '.join(BACKBONES)}")
    return create_model(arch, input_difference=input_difference)


def make_loader(
    dataset: Dataset[Any], train: TrainConfig, *, name: str, spans_per_video: int = 1
) -> DataLoader[Any]:
    """The shuffling, drop-last, DDP-sharded and resumable loader of a training dataset.

    ``spans_per_video`` k > 1 fills each batch with runs of k spans of one movie (the
    dataset's ``spans``, grouped by ``VideoSpan.group``): same-video negatives, see
    :mod:`movierep.data.sampling`.
    """
    groups = None
    if spans_per_video > 1:
        spans = getattr(dataset, "spans", None)
        if spans is None:
            raise UserError(f"{name}: data.spans_per_video needs a dataset of video spans")
        groups = [s.group or s.video_id for s in spans]
    return seeded_loader(
        dataset,
        batch_size=train.batch_size,
        num_workers=train.num_workers,
        seed=train.seed,
        name=name,
        groups=groups,
        group_size=spans_per_video,
        collate_fn=getattr(dataset, "collate", None),
    )


def train_backbone(
    method: str,
    cfg: Any,
    build_objective: BuildObjective,
    data: Sequence[Path],
    out: Path,
    init: Path | None = None,
) -> FitResult:
    """Build backbone, objective and loader from ``cfg`` and train through the loop.

    Args:
        method: recipe name, stored in the checkpoint's run config.
        cfg: the resolved run config (``model``, ``data``, ``train`` and the method's section).
        build_objective: the method's ``build`` function.
        data: corpus folders, Kinetics-style folders or CSVs, or folders of videos (joined).
        out: run folder; resumes from ``out/last``.
        init: start from this backbone checkpoint (its architecture replaces ``model.arch``).

    Returns:
        The loop's result; the exported backbone is ``out/last`` (arch ``slow_d``).
    """
    dist.init_from_env()
    data, out = [Path(p) for p in data], Path(out)
    seed_everything(cfg.train.seed)
    backbone = build_backbone(cfg.model.arch, init, input_difference=cfg.model.input_difference)
    objective, dataset = build_objective(cfg, backbone, data, out)
    on_gpu = dist.device(cfg.train.device).type == "cuda"
    if cfg.model.sync_batch_norm and dist.world_size() > 1 and on_gpu:
        # replaces the batch norms in place below the top module
        objective = nn.SyncBatchNorm.convert_sync_batchnorm(objective)  # type: ignore[no-untyped-call]
    # Same initial weights on every rank (DDP also broadcasts them); different
    # augmentation draws per rank.
    seed_everything(cfg.train.seed + dist.rank())
    loader = make_loader(
        dataset,
        cfg.train,
        name=", ".join(map(str, data)),
        spans_per_video=cfg.data.spans_per_video,
    )
    run_config = {**config.to_dict(cfg), "method": method, "init": str(init or "")}
    if dist.is_main():
        config.write_config(cfg, out)
    return fit(
        objective,
        loader,
        cfg.train,
        out,
        export=lambda: (backbone, arch_name(backbone), model_config(backbone)),
        run_config=run_config,
        inputs=backbone_inputs(cfg.data),
        title=f"{method} backbone",
        prepare=getattr(dataset, "prepare_batch", None),
    )
