"""Checkpoints: a folder a user can open, written atomically, read without unpickling.

Layout::

    ckpt/
      config.json            {"arch", "model_kwargs", "inputs", "run_config", "step",
                              "movierep_version"}
      model.safetensors      the exported model (what load_pretrained returns)
      objective.safetensors  the whole training objective (heads, queues, momentum encoders)
      trainer_state.pt       optimizer / step / RNG, read with torch.load(weights_only=True)

``inputs`` states what the model must be fed at inference, as it was trained
(:class:`InferenceInputs`: clip frames, stride and view for backbones, the token stride for
TxE, shots per scene and frames per shot for scene encoders, the image size for ViTs).
:func:`read_inputs` is the one function that reads it; ``extract``, ``embed``,
``embed_video`` and ``serve`` default to it and refuse a flag that contradicts it
(:func:`resolve_input`).

The folder is first written under a temporary name beside its final place and then
swapped in (:func:`movierep.files.atomic_dir`), so a crash never leaves a half checkpoint
that looks whole. Models are rebuilt from a checkpoint by
:func:`movierep.models.load_pretrained`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from movierep.errors import UserError
from movierep.files import atomic_dir, write_json
from movierep.version import __version__

CONFIG = "config.json"
MODEL = "model.safetensors"
OBJECTIVE = "objective.safetensors"
TRAINER_STATE = "trainer_state.pt"


@dataclass(frozen=True)
class InferenceInputs:
    """What a checkpoint's model must be fed at inference: the inputs it was trained on.

    A field is ``None`` when it does not apply to the model (a TxE has no clip frames).

    Attributes:
        clip_frames: backbones: T frames per clip.
        frame_stride: backbones: source frames between two clip frames.
        crop_size: backbones: S, the height of the evaluation view.
        view_aspect: backbones: width / height of the evaluation view (1.0: square).
        token_stride: TxE: seconds between two event tokens.
        shots_per_scene: scene encoders: shots per scene window.
        frames_per_shot: scene encoders: keyframes per shot.
        image_size: ViTs: (H, W) of one frame.
    """

    clip_frames: int | None = None
    frame_stride: int | None = None
    crop_size: int | None = None
    view_aspect: float | None = None
    token_stride: float | None = None
    shots_per_scene: int | None = None
    frames_per_shot: int | None = None
    image_size: tuple[int, int] | None = None


def _inputs_dict(inputs: InferenceInputs) -> dict[str, Any]:
    """The JSON form of ``inputs``: only the fields that apply (tuples as lists)."""
    out = {k: v for k, v in dataclasses.asdict(inputs).items() if v is not None}
    if "image_size" in out:
        out["image_size"] = list(out["image_size"])
    return out


def _tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """State dict as contiguous CPU tensors, shared storage broken (safetensors requires it)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    arch: str,
    model_kwargs: dict[str, Any],
    *,
    inputs: InferenceInputs | None = None,
    run_config: dict[str, Any] | None = None,
    objective: nn.Module | None = None,
    trainer_state: dict[str, Any] | None = None,
    step: int = 0,
) -> Path:
    """Write a checkpoint folder atomically (replacing an older one at ``path``).

    Args:
        path: the checkpoint folder.
        model: the exported module, rebuilt from its architecture config ``model_kwargs``.
        arch: architecture name in :data:`movierep.models.factory.MODELS`.
        model_kwargs: constructor arguments of ``model`` (plain JSON values).
        inputs: what the model must be fed at inference (:class:`InferenceInputs`);
            ``None`` leaves them to the run config (how checkpoints stated them before).
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
    if inputs is not None:  # without, read_inputs falls back to the run config
        meta["inputs"] = _inputs_dict(inputs)
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


def read_inputs(path: str | Path) -> InferenceInputs:
    """The inference inputs a checkpoint states (the one reader of them).

    Checkpoints written before ``inputs`` existed state them inside their run config
    (``data.num_frames``, ``data.token_stride``, ``data.shots_per_scene``...) and their
    model arguments (``image_size``); those are read instead.

    Args:
        path: a checkpoint folder.

    Returns:
        The inputs; fields that the checkpoint does not state are ``None``.

    Raises:
        UserError: not a checkpoint, or an ``inputs`` entry of the wrong type.
    """
    meta = read_config(path)
    stated = meta.get("inputs")
    if stated is None:
        stated = _legacy_inputs(meta)
    if not isinstance(stated, dict):
        raise UserError(f"{Path(path) / CONFIG}: 'inputs' must be a mapping")
    known = {f.name: f for f in dataclasses.fields(InferenceInputs)}
    values: dict[str, Any] = {}
    for key, value in stated.items():
        if key not in known:
            raise UserError(f"{Path(path) / CONFIG}: unknown inference input {key!r}")
        try:
            if key == "image_size":
                h, w = (value, value) if isinstance(value, int) else value
                values[key] = (int(h), int(w))
            elif key in ("view_aspect", "token_stride"):
                values[key] = float(value)
            else:
                values[key] = int(value)
        except (TypeError, ValueError):
            raise UserError(f"{Path(path) / CONFIG}: inputs.{key}={value!r} is not valid") from None
    return InferenceInputs(**values)


def _legacy_inputs(meta: dict[str, Any]) -> dict[str, Any]:
    """Inputs of a checkpoint from before ``inputs``: read from its run config and arguments.

    Each recipe's ``data`` section names its own inputs (clip fields for backbones,
    ``token_stride`` for TxE, ``shots_per_scene`` for scene encoders), so the keys alone
    say which apply.
    """
    run = meta.get("run_config") or {}
    data: dict[str, Any] = run["data"] if isinstance(run.get("data"), dict) else {}
    out: dict[str, Any] = {}
    for key, name in (
        ("clip_frames", "num_frames"),
        ("frame_stride", "frame_stride"),
        ("crop_size", "crop_size"),
        ("shots_per_scene", "shots_per_scene"),
        ("token_stride", "token_stride"),
    ):
        if data.get(name) is not None:
            out[key] = data[name]
    aspect = data.get("eval_view_aspect") or data.get("view_aspect")
    if aspect:
        out["view_aspect"] = aspect
    if "shots_per_scene" in out:
        out["frames_per_shot"] = 1
    size = (meta.get("model_kwargs") or {}).get("image_size")
    if size is not None:
        out["image_size"] = size
    return out


def resolve_input(
    path: str | Path | None,
    name: str,
    flag: str,
    given: Any,
    stated: Any,
    default: Any,
) -> Any:
    """One inference input: the checkpoint's, a flag's, or the default; never two that differ.

    Args:
        path: the checkpoint folder (for the message; ``None`` when there is none).
        name: the input's field name in :class:`InferenceInputs`.
        flag: how the user gives it (``--shots-per-scene``, ``shots_per_scene=``).
        given: the user's value, ``None`` when not given.
        stated: the checkpoint's value, ``None`` when it states none.
        default: used when neither is given.

    Raises:
        UserError: ``given`` contradicts what the checkpoint states.
    """
    if given is None:
        return default if stated is None else stated
    if stated is not None and given != stated:
        raise UserError(
            f"{path}: trained with {name} = {stated}, but {flag} {given} was given; "
            f"leave {flag} out to use the checkpoint's"
        )
    return given


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
