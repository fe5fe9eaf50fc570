"""The one model registry: build a model by name, or rebuild it from a checkpoint folder.

:data:`MODELS` maps a name to a :class:`ModelSpec`: the module class and the config it is
built from. Two kinds of names share it:

- *architectures* (``slow_d``, ``motion_net``, ``txe``, ``txd``, ``shot_adjacency``,
  ``vit``): a class and its config class's defaults. A checkpoint's ``config.json`` names
  the architecture as ``arch`` and stores the config as ``model_kwargs`` (a plain dict,
  :func:`movierep.config.to_dict`), so ``cls(config.from_dict(ConfigClass, model_kwargs))``
  rebuilds the saved module exactly;
- *presets* (``slow_d_r50``, ``slow_d_tiny``, ``motion_net_tiny``, ``vit_b16``,
  ``vit_tiny``): the paper's and the CPU sizes of an architecture, config constants
  defined beside their model (``SLOW_D_TINY`` in :mod:`movierep.models.slow_d`...); they
  build an instance of it (saved under the architecture's name, see :func:`arch_name`).

Stage packages add their models here, as a plain dict entry. ``create_model`` and
``load_pretrained`` are re-exported as ``movierep.create_model`` /
``movierep.load_pretrained``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from movierep import config
from movierep.checkpoint import MODEL, load_state, read_config
from movierep.errors import UserError
from movierep.models.motion import MOTION_NET_TINY, MotionNet, MotionNetConfig
from movierep.models.shot_adjacency import ShotAdjacencyConfig, ShotAdjacencyNet
from movierep.models.slow_d import SLOW_D_R50, SLOW_D_TINY, SlowD, SlowDConfig
from movierep.models.txd import TxD, TxDConfig
from movierep.models.txe import TxE, TxEConfig
from movierep.models.vit import VIT_B16, VIT_TINY, ViT, ViTConfig


class ModelSpec(NamedTuple):
    """A registry entry: the module class and the config class (or preset) it is built from.

    ``config`` is a config class for an architecture whose config has required fields
    (TxD's vocabulary and memory sizes), else a config instance (the defaults or a preset).
    """

    cls: type[nn.Module]
    config: Any

    @property
    def config_class(self) -> type[Any]:
        """The config dataclass of :attr:`cls`."""
        return self.config if isinstance(self.config, type) else type(self.config)


MODELS: dict[str, ModelSpec] = {
    # architectures: what a checkpoint's config.json names as "arch"
    "slow_d": ModelSpec(SlowD, SlowDConfig()),
    "motion_net": ModelSpec(MotionNet, MotionNetConfig()),
    "txe": ModelSpec(TxE, TxEConfig()),
    "txd": ModelSpec(TxD, TxDConfig),
    "shot_adjacency": ModelSpec(ShotAdjacencyNet, ShotAdjacencyConfig()),
    "vit": ModelSpec(ViT, ViTConfig()),
    # presets: named sizes of an architecture, defined beside it
    "slow_d_r50": ModelSpec(SlowD, SLOW_D_R50),
    "slow_d_tiny": ModelSpec(SlowD, SLOW_D_TINY),
    "motion_net_tiny": ModelSpec(MotionNet, MOTION_NET_TINY),
    "vit_b16": ModelSpec(ViT, VIT_B16),
    "vit_tiny": ModelSpec(ViT, VIT_TINY),
}


def list_models() -> list[str]:
    """Return the names that :func:`create_model` accepts, sorted."""
    return sorted(MODELS)


def arch_name(model: nn.Module) -> str:
    """The architecture name under which ``model`` is saved (the registry key of its class).

    Raises:
        UserError: the model's class is not registered.
    """
    for name, spec in MODELS.items():
        if spec.cls is type(model):
            return name
    raise UserError(f"{type(model).__name__} is not a registered architecture; add it to MODELS")


def model_config(model: nn.Module) -> dict[str, Any]:
    """The config of a registered model as plain JSON values (a checkpoint's ``model_kwargs``).

    Raises:
        UserError: the model has no config dataclass ``cfg``.
    """
    cfg: Any = vars(model).get("cfg")
    if cfg is None or not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise UserError(f"{type(model).__name__} has no config dataclass 'cfg'")
    return config.to_dict(cfg)


def build(spec: ModelSpec, values: dict[str, Any], *, source: str) -> nn.Module:
    """``spec.cls`` built from its config with ``values`` (validated, JSON lists as tuples)."""
    cfg: Any
    if isinstance(spec.config, type):
        cfg = config.from_dict(spec.config, values, source=source)
    else:
        cfg = config.override(spec.config, values, source=source)
    return spec.cls(cfg)


def create_model(name_or_path: str | Path, **overrides: Any) -> nn.Module:
    """Create a model by name, or load one from a checkpoint folder.

    Args:
        name_or_path: a name from :func:`list_models`, or a checkpoint folder (then the
            weights are loaded too; ``overrides`` must be empty).
        **overrides: config fields that replace the named architecture's or preset's
            (e.g. ``create_model("slow_d_tiny", input_difference=True)``).

    Returns:
        The model (in train mode for a name, eval mode for a checkpoint).
    """
    path = Path(name_or_path)
    if path.is_dir():
        if overrides:
            raise UserError(
                f"{path}: a checkpoint's architecture is fixed; got {sorted(overrides)}"
            )
        return load_pretrained(path)
    name = str(name_or_path)
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return build(MODELS[name], overrides, source=f"model {name!r}")


def _rebuild(path: str | Path) -> nn.Module:
    """The architecture of checkpoint ``path`` from its ``arch`` and ``model_kwargs``."""
    meta = read_config(path)
    arch = meta["arch"]
    if arch not in MODELS:
        raise UserError(f"{path}: unknown architecture {arch!r}; known: {', '.join(list_models())}")
    spec = MODELS[arch]
    cfg = config.from_dict(spec.config_class, meta["model_kwargs"], source=f"{path} model_kwargs")
    return spec.cls(cfg)


def load_pretrained(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the exported model of a checkpoint folder and load its weights.

    Args:
        path: a checkpoint folder (``config.json`` + ``model.safetensors``).
        map_location: device of the returned model.

    Returns:
        The model in eval mode on ``map_location``.
    """
    model = _rebuild(path)
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
    torch.manual_seed(seed)
    return _rebuild(path).eval()
