"""THE training loop: every pretraining objective in movierep trains through :func:`fit`.

Launch recipes (the same code path in both)::

    python -m movierep train backbone --method cvrl --profile cpu ...            # 1 process
    torchrun --standalone --nproc_per_node=8 -m movierep train backbone ...       # DDP (NCCL)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_endpoint=HOST:PORT -m movierep ...

The loop knows nothing of any method. An *objective* is an ``nn.Module`` whose
``forward(batch)`` returns a dict with a scalar ``"loss"`` (and any other scalars to log);
it owns every trainable part and buffer (queues, momentum encoders) and may update buffers
inside ``forward`` under ``torch.no_grad()``. The loop owns the device, the DDP wrapper,
bf16 autocast on CUDA, the optimiser and learning-rate schedule, gradient clipping, the
NaN stop, checkpoints and resume, progress, and ``metrics.jsonl`` / ``summary.md``.
``batch_size`` is per process; the global batch is ``batch_size * world_size`` and is
logged, with the throughput (``samples_per_s``) and the share of time spent waiting for
the loader (``data_wait_frac``).
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from movierep import checkpoint, dist
from movierep.errors import UserError
from movierep.runlog import MetricsLogger, progress, write_summary
from movierep.train.lars import LARS
from movierep.train.schedules import warmup_constant, warmup_cosine, warmup_linear

Batch = dict[str, Any]
Export = Callable[[], tuple[nn.Module, str, dict[str, Any]]]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by every objective (defaults: a generic AdamW run).

    Attributes:
        steps: total optimisation steps.
        batch_size: clips / sequences per process and step.
        lr: peak learning rate (after warm-up).
        weight_decay: decoupled (AdamW) or L2 (Adam/SGD/LARS) weight decay.
        decay_all: decay every parameter, biases and norm scales too (a plain
            ``AdamW(module.parameters())``, as LVU's fine-tuning); by default 1-D
            parameters do not decay (:func:`param_groups`).
        optimizer: ``adamw``, ``adam`` (L2 weight decay), ``sgd`` or ``lars`` (CVRL).
        momentum: SGD / LARS momentum.
        warmup_steps: linear warm-up steps.
        schedule: ``cosine`` (to 0 after warm-up), ``constant``, or ``linear`` (linear
            decay to 0 after warm-up, :func:`~movierep.train.schedules.warmup_linear`).
        grad_clip: max global gradient norm, or None.
        bf16: bf16 autocast on CUDA (ignored on CPU).
        log_every: steps between metrics records.
        ckpt_every: steps between checkpoints (one more at the end).
        seed: seed of initialisation and sampling.
        num_workers: DataLoader workers.
        device: ``auto``, ``cpu``, ``cuda``...
        epochs: when set, ``steps`` follows from the data: ``epochs`` passes over it at
            the global batch (:func:`sized_for`); papers state schedules in epochs.
        warmup_epochs: when set with ``epochs``, the warm-up in epochs.
        global_batch_size: when set, the batch over all processes; each process takes
            ``global_batch_size / world size`` (a paper's batch stays the paper's on any
            number of GPUs).
    """

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    decay_all: bool = False
    optimizer: Literal["adamw", "adam", "sgd", "lars"] = "adamw"
    momentum: float = 0.9
    warmup_steps: int = 0
    schedule: Literal["cosine", "constant", "linear"] = "cosine"
    grad_clip: float | None = None
    bf16: bool = True
    log_every: int = 10
    ckpt_every: int = 500
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    epochs: float | None = None
    warmup_epochs: float | None = None
    global_batch_size: int | None = None


def sized_for(cfg: TrainConfig, examples: int, world_size: int) -> TrainConfig:
    """``cfg`` with the per-process batch and the step counts fixed by the data.

    The per-process batch is ``global_batch_size / world_size`` when a global batch is
    set; with ``epochs`` set, ``steps = round(epochs · ⌊examples / global batch⌋)`` (the
    loaders drop the last partial batch) and likewise the warm-up from ``warmup_epochs``.

    Args:
        cfg: the resolved optimisation settings.
        examples: items in the training set (pairs, clips, sequences).
        world_size: processes of the run.

    Raises:
        UserError: the global batch does not split evenly over the processes.
    """
    batch = cfg.batch_size
    if cfg.global_batch_size is not None:
        if cfg.global_batch_size % world_size:
            raise UserError(
                f"train.global_batch_size={cfg.global_batch_size} does not split over "
                f"{world_size} processes"
            )
        batch = cfg.global_batch_size // world_size
    steps, warmup = cfg.steps, cfg.warmup_steps
    if cfg.epochs is not None:
        per_epoch = max(1, examples // (batch * world_size))
        steps = max(1, round(cfg.epochs * per_epoch))
        if cfg.warmup_epochs is not None:
            warmup = min(round(cfg.warmup_epochs * per_epoch), steps - 1)
    return dataclasses.replace(cfg, batch_size=batch, steps=steps, warmup_steps=warmup)


@dataclass
class FitResult:
    """What :func:`fit` returns: the final step, the last logged scalars, the checkpoint."""

    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: steps, last logged scalars, checkpoint."""
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        return f"trained {self.step} steps ({shown}); checkpoint: {self.checkpoint}"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so CPU runs are reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds code that uses the global RNG)
    torch.manual_seed(seed)


def param_groups(
    module: nn.Module, weight_decay: float, decay_all: bool = False
) -> list[dict[str, Any]]:
    """Split parameters: weights decay; biases, norms and embeddings of size 1-D do not.

    The no-decay group is also excluded from LARS adaptation (SimCLR/CVRL practice). With
    ``decay_all`` every parameter is in the decaying group (the other is empty).
    """
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for _, p in module.named_parameters():
        if not p.requires_grad:
            continue
        (decay if decay_all or p.ndim > 1 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0, "lars_exclude": True},
    ]


def build_optimizer(module: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser named by ``cfg.optimizer`` over :func:`param_groups`."""
    groups = param_groups(module, cfg.weight_decay, cfg.decay_all)
    if cfg.optimizer == "adamw":
        for g in groups:
            g.pop("lars_exclude", None)
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.optimizer == "adam":
        for g in groups:
            g.pop("lars_exclude", None)
        return torch.optim.Adam(groups, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        for g in groups:
            g.pop("lars_exclude", None)
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    return LARS(groups, lr=cfg.lr, momentum=cfg.momentum)


def lr_schedule(cfg: TrainConfig) -> np.ndarray:
    """Learning rate for every step (steps,)."""
    if cfg.schedule == "cosine":
        return warmup_cosine(cfg.lr, cfg.steps, warmup_steps=cfg.warmup_steps)
    if cfg.schedule == "linear":
        return warmup_linear(cfg.lr, cfg.steps, warmup_steps=cfg.warmup_steps)
    return warmup_constant(cfg.lr, cfg.steps, warmup_steps=cfg.warmup_steps)


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


def _batches(
    data: Iterable[Batch], start_epoch: int, skip: int = 0
) -> Iterator[tuple[int, int, Batch]]:
    """Cycle ``data`` forever as ``(epoch, batches done in the epoch, batch)``.

    ``set_epoch`` is called on the data's sampler/dataset at each pass. The first ``skip``
    batches of ``start_epoch`` are left out (a resumed run): by the sampler when it can
    (``sampler.skip``, :class:`movierep.data.sampling.SeededSampler`; nothing is loaded),
    else by drawing and dropping them.
    """
    epoch = start_epoch
    while True:
        sampler = getattr(data, "sampler", None)
        for holder in (sampler, getattr(data, "dataset", None), data):
            if holder is not None and hasattr(holder, "set_epoch"):
                holder.set_epoch(epoch)
        dropped = 0
        if skip and hasattr(sampler, "skip") and getattr(data, "batch_size", None):
            sampler.skip(skip * data.batch_size)  # type: ignore[union-attr, attr-defined]
            dropped = skip
        count, empty = dropped, True
        for batch in data:
            empty = False
            if count < skip:  # fast-forward by drawing (data without a skipping sampler)
                count += 1
                continue
            count += 1
            yield epoch, count, batch
        if empty and not skip:
            raise ValueError("the training data yielded no batch")
        epoch, skip = epoch + 1, 0


def _trainer_state(
    optimizer: torch.optim.Optimizer, step: int, epoch: int, batch: int, rng: torch.Tensor
) -> dict[str, Any]:
    return {
        "optimizer": optimizer.state_dict(),
        "step": step,
        "epoch": epoch,
        "batch_in_epoch": batch,
        "torch_rng": rng,
        **({"cuda_rng": torch.cuda.get_rng_state()} if torch.cuda.is_available() else {}),
    }


def _gathered_rng() -> torch.Tensor:
    """Every rank's CPU RNG state, (world_size, S) uint8 (collective: call on all ranks)."""
    state = torch.get_rng_state().unsqueeze(0)
    return dist.all_gather(state) if dist.world_size() > 1 else state


def _restore_rng(saved: torch.Tensor) -> None:
    """Restore this rank's RNG state (a resumed job with another world size reseeds by rank)."""
    if saved.ndim == 1:  # a single state
        saved = saved.unsqueeze(0)
    if saved.shape[0] == dist.world_size():
        torch.set_rng_state(saved[dist.rank()].contiguous())
    else:
        torch.set_rng_state(saved[0].contiguous())
        torch.manual_seed(int(torch.randint(2**31, ())) + dist.rank())


def _save(
    path: Path,
    objective: nn.Module,
    export: Export,
    optimizer: torch.optim.Optimizer,
    step: int,
    epoch: int,
    batch: int,
    run_config: dict[str, Any],
    inputs: checkpoint.InferenceInputs | None,
    rng: torch.Tensor,
) -> Path:
    model, arch, kwargs = export()
    return checkpoint.save_checkpoint(
        path,
        model,
        arch,
        kwargs,
        inputs=inputs,
        run_config=run_config,
        objective=objective,
        trainer_state=_trainer_state(optimizer, step, epoch, batch, rng),
        step=step,
    )


def fit(
    objective: nn.Module,
    data: Iterable[Batch],
    cfg: TrainConfig,
    out_dir: str | Path,
    *,
    export: Export,
    run_config: dict[str, Any] | None = None,
    inputs: checkpoint.InferenceInputs | None = None,
    resume: bool = True,
    title: str = "training run",
    prepare: Callable[[Batch], Batch] | None = None,
) -> FitResult:
    """Train ``objective`` on ``data`` for ``cfg.steps`` steps, checkpointing into ``out_dir``.

    Args:
        objective: module whose ``forward(batch)`` returns ``{"loss": scalar, ...}``.
        data: iterable of batches (dicts of CPU tensors), e.g. a DataLoader; cycled.
        cfg: optimisation settings.
        out_dir: run folder; checkpoints go to ``out_dir/last``.
        export: returns ``(model, arch, model_kwargs)``, the module saved as the
            pretrained model (``model.safetensors``) of each checkpoint.
        run_config: the resolved run config (dict) stored in every checkpoint.
        inputs: what the exported model must be fed at inference, stated in every
            checkpoint (:class:`movierep.checkpoint.InferenceInputs`).
        resume: continue from ``out_dir/last`` when it holds a trainer state.
        title: heading of ``summary.md``.
        prepare: applied to every batch once it is on the training device, without
            gradients (e.g. the batch's clip augmentation,
            :meth:`movierep.data.clips.ClipPairDataset.prepare_batch`); its randomness must
            come from the batch (draws made by the loader's seeded items), so a resumed
            run stays exact.

    Returns:
        A :class:`FitResult` with the final step, last logged metrics and checkpoint path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = dist.device(cfg.device)
    objective.to(device)
    optimizer = build_optimizer(objective, cfg)
    start, start_epoch, skip = 0, 0, 0
    last = out / "last"
    if resume and (last / checkpoint.OBJECTIVE).is_file():
        checkpoint.load_state(objective, last / checkpoint.OBJECTIVE)
        state = checkpoint.load_trainer_state(last)
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])
            start, start_epoch = int(state["step"]), int(state["epoch"])
            if "batch_in_epoch" in state:  # continue inside the epoch, with the next batch
                skip = int(state["batch_in_epoch"])
            else:  # a checkpoint of movierep <= 0.1.0: the next epoch
                start_epoch += 1
            _restore_rng(state["torch_rng"])
            if "cuda_rng" in state and torch.cuda.is_available():
                torch.cuda.set_rng_state(state["cuda_rng"])
    model: nn.Module = objective
    if dist.world_size() > 1:
        ids = [device.index] if device.type == "cuda" else None
        model = DistributedDataParallel(objective, device_ids=ids)
    lrs = lr_schedule(cfg)
    logger = MetricsLogger(out, after_step=start)
    use_bf16 = cfg.bf16 and device.type == "cuda"
    result = FitResult(step=start)
    if start >= cfg.steps:
        result.checkpoint = last
        return result
    batches = _batches(data, start_epoch, skip)
    epoch, in_epoch = start_epoch, skip
    global_batch = cfg.batch_size * dist.world_size()
    tic, seen, waited = time.monotonic(), 0, 0.0
    model.train()
    for step in progress(range(start, cfg.steps), desc=title, total=cfg.steps - start):
        fetched = time.monotonic()
        epoch, in_epoch, batch = next(batches)
        waited += time.monotonic() - fetched
        batch = _to_device(batch, device)
        if prepare is not None:
            with torch.no_grad():
                batch = prepare(batch)
        for group in optimizer.param_groups:
            group["lr"] = float(lrs[step])
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            outputs = model(batch)
        loss = outputs["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}; stopping")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = None
        if cfg.grad_clip is not None:
            grad_norm = nn.utils.clip_grad_norm_(objective.parameters(), cfg.grad_clip)
        optimizer.step()
        seen += global_batch
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            scalars = {
                k: float(dist.all_reduce_mean(v.detach().float()))
                for k, v in outputs.items()
                if isinstance(v, torch.Tensor) and v.numel() == 1
            }
            scalars["lr"] = float(lrs[step])
            if grad_norm is not None:
                scalars["grad_norm"] = float(grad_norm)
            elapsed = time.monotonic() - tic
            scalars["samples_per_s"] = seen / max(elapsed, 1e-9)
            # the share of wall time the step waited for its batch: ~0 when the input
            # pipeline keeps up with the model, ~1 when the loader sets the pace
            scalars["data_wait_frac"] = waited / max(elapsed, 1e-9)
            logger.log(done, **scalars)
            result.metrics = scalars
        if done % cfg.ckpt_every == 0 and done < cfg.steps:
            rng = _gathered_rng()
            if dist.is_main():
                _save(
                    last, objective, export, optimizer, done, epoch, in_epoch,
                    run_config or {}, inputs, rng,
                )  # fmt: skip
            dist.barrier()
    rng = _gathered_rng()
    if dist.is_main():
        result.checkpoint = _save(
            last, objective, export, optimizer, cfg.steps, epoch, in_epoch,
            run_config or {}, inputs, rng,
        )  # fmt: skip
        write_summary(
            out,
            title,
            {
                "steps": cfg.steps,
                "global batch": global_batch,
                "processes": dist.world_size(),
                "device": str(device),
                **{k: v for k, v in result.metrics.items() if math.isfinite(v)},
                "checkpoint": str(result.checkpoint),
            },
        )
    dist.barrier()
    result.step = cfg.steps
    result.history = logger.history
    return result
