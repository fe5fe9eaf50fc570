"""The one model registry: build a model by name, or rebuild it from a checkpoint folder.

:data:`MODELS` maps a name to the callable that builds the module. Two kinds of names
share it:

- *architectures* (``slow_d``, ``motion_net``, ``txe``, ``txd``): classes whose constructor
  arguments a checkpoint's ``config.json`` stores as ``model_kwargs``, so that
  ``MODELS[arch](**model_kwargs)`` rebuilds the saved module exactly;
- *presets* (``slow_d_r50``, ``slow_d_tiny``, ``motion_net_tiny``): the paper's and the CPU
  sizes of an architecture, which build an instance of it (saved under the architecture's
  name, see :func:`arch_name`).

Stage packages add their models here, as a plain dict entry. ``create_model`` and
``load_pretrained`` are re-exported as ``movierep.create_model`` /
``movierep.load_pretrained``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from movierep.checkpoint import MODEL, load_state, read_config
from movierep.errors import UserError
from movierep.models.motion import MotionNet, motion_net_tiny
from movierep.models.shot_adjacency import ShotAdjacencyNet
from movierep.models.slow_d import SlowD, slow_d_r50, slow_d_tiny
from movierep.models.txd import TxD
from movierep.models.txe import TxE
from movierep.models.vit import ViT, vit_b16, vit_tiny

MODELS: dict[str, Callable[..., nn.Module]] = {
    # architectures: what a checkpoint's config.json names as "arch"
    "slow_d": SlowD,
    "motion_net": MotionNet,
    "txe": TxE,
    "txd": TxD,
    "shot_adjacency": ShotAdjacencyNet,
    "vit": ViT,
    # presets: named sizes of an architecture
    "slow_d_r50": slow_d_r50,
    "slow_d_tiny": slow_d_tiny,
    "motion_net_tiny": motion_net_tiny,
    "vit_b16": vit_b16,
    "vit_tiny": vit_tiny,
}


def list_models() -> list[str]:
    """Return the names that :func:`create_model` accepts, sorted."""
    return sorted(MODELS)


def arch_name(model: nn.Module) -> str:
    """The architecture name under which ``model`` is saved (the registry key of its class).

    Raises:
        UserError: the model's class is not registered.
    """
    for name, builder in MODELS.items():
        if builder is type(model):
            return name
    raise UserError(f"{type(model).__name__} is not a registered architecture; add it to MODELS")


def create_model(name_or_path: str | Path, **kwargs: Any) -> nn.Module:
    """Create a model by name, or load one from a checkpoint folder.

    Args:
        name_or_path: a name from :func:`list_models`, or a checkpoint folder (then the
            weights are loaded too; ``kwargs`` must be empty).
        **kwargs: constructor arguments for a named model (override a preset's sizes).

    Returns:
        The model (in train mode for a name, eval mode for a checkpoint).
    """
    path = Path(name_or_path)
    if path.is_dir():
        if kwargs:
            raise UserError(f"{path}: a checkpoint's architecture is fixed; got {sorted(kwargs)}")
        return load_pretrained(path)
    name = str(name_or_path)
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return MODELS[name](**kwargs)


def load_pretrained(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the exported model of a checkpoint folder and load its weights.

    Args:
        path: a checkpoint folder (``config.json`` + ``model.safetensors``).
        map_location: device of the returned model.

    Returns:
        The model in eval mode on ``map_location``.
    """
    meta = read_config(path)
    arch = meta["arch"]
    if arch not in MODELS:
        raise UserError(f"{path}: unknown architecture {arch!r}; known: {', '.join(list_models())}")
    model = MODELS[arch](**meta["model_kwargs"])
    load_state(model, Path(path) / MODEL)
    return model.to(map_location).eval()


def random_init_like(path: str | Path, seed: int = 0) -> nn.Module:
    """The architecture of checkpoint ``path`` with fresh random weights (a reference row).

    Args:
        path: a checkpoint folder.
        seed: seed of the initialisation.

    Returns:
        The model in eval mode, with the same ``model_kwargs`` as the checkpoint's.
    """
    meta = read_config(path)
    torch.manual_seed(seed)
    return MODELS[meta["arch"]](**meta["model_kwargs"]).eval()
