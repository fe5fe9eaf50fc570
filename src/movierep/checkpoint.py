"""Checkpoints: a folder a user can open, written atomically, read without unpickling.

Layout::

    ckpt/
      config.json            {"arch", "model_kwargs", "run_config", "step", "movierep_version"}
      model.safetensors      the exported model (what load_pretrained returns)
      objective.safetensors  the whole training objective (heads, queues, momentum encoders)
      trainer_state.pt       optimizer / step / RNG, read with torch.load(weights_only=True)

The folder is first written under a temporary name beside its final place and then
swapped in (:func:`movierep.files.atomic_dir`), so a crash never leaves a half checkpoint
that looks whole. Models are rebuilt from a checkpoint by
:func:`movierep.models.load_pretrained`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from movierep import __version__
from movierep.errors import UserError
from movierep.files import atomic_dir, write_json

CONFIG = "config.json"
MODEL = "model.safetensors"
OBJECTIVE = "objective.safetensors"
TRAINER_STATE = "trainer_state.pt"


def _tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """State dict as contiguous CPU tensors, shared storage broken (safetensors requires it)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    arch: str,
    model_kwargs: dict[str, Any],
    *,
    run_config: dict[str, Any] | None = None,
    objective: nn.Module | None = None,
    trainer_state: dict[str, Any] | None = None,
    step: int = 0,
) -> Path:
    """Write a checkpoint folder atomically (replacing an older one at ``path``).

    Args:
        path: the checkpoint folder.
        model: the exported module, rebuilt by ``MODELS[arch](**model_kwargs)``.
        arch: architecture name in :data:`movierep.models.factory.MODELS`.
        model_kwargs: constructor arguments of ``model`` (plain JSON values).
        run_config: the resolved run config (as a dict) that produced it.
        objective: the whole training objective, for resuming.
        trainer_state: optimizer state, step, RNG states (tensors and plain values only).
        step: training step reached.
    """
    meta = {
        "arch": arch,
        "model_kwargs": model_kwargs,
        "run_config": run_config or {},
        "step": step,
        "movierep_version": __version__,
    }
    with atomic_dir(path) as tmp:
        write_json(tmp / CONFIG, meta)
        save_file(_tensors(model), str(tmp / MODEL))
        if objective is not None:
            save_file(_tensors(objective), str(tmp / OBJECTIVE))
        if trainer_state is not None:
            torch.save(trainer_state, tmp / TRAINER_STATE)
    return Path(path)


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint's ``config.json``; a missing or broken folder is a UserError."""
    path = Path(path)
    cfg_path = path / CONFIG
    if not path.is_dir() or not cfg_path.is_file() or not (path / MODEL).is_file():
        raise UserError(f"{path}: not a movierep checkpoint (needs {CONFIG} and {MODEL})")
    try:
        meta: dict[str, Any] = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{cfg_path}: not valid JSON ({err})") from None
    if "arch" not in meta or "model_kwargs" not in meta:
        raise UserError(f"{cfg_path}: missing 'arch' or 'model_kwargs'")
    return meta


def load_state(module: nn.Module, file: str | Path, *, strict: bool = True) -> None:
    """Load a safetensors state dict into ``module``, naming the file on a mismatch."""
    try:
        state = load_file(str(file))
    except Exception as err:
        raise UserError(f"{file}: unreadable safetensors file ({err})") from None
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as err:
        detail = str(err).split("\n\t")[1] if "\n\t" in str(err) else str(err)
        raise UserError(f"{file}: weights do not match the architecture ({detail})") from None
    if strict and (missing or unexpected):
        raise UserError(
            f"{file}: weights do not match the architecture "
            f"(missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]})"
        )


def load_trainer_state(path: str | Path) -> dict[str, Any] | None:
    """Read ``trainer_state.pt`` with ``weights_only=True`` (never unpickles code)."""
    file = Path(path) / TRAINER_STATE
    if not file.is_file():
        return None
    state: dict[str, Any] = torch.load(file, map_location="cpu", weights_only=True)
    return state
