"""Build models by architecture name or from a checkpoint folder.

``ARCHS`` is a plain dict from an architecture name to the class that builds it; a
checkpoint's ``config.json`` stores ``arch`` and ``model_kwargs`` so that
``ARCHS[arch](**model_kwargs)`` rebuilds the module. Stage packages add their models here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from movierep.errors import UserError
from movierep.models.slow_d import SlowD
from movierep.models.txe import TxE

ARCHS: dict[str, Callable[..., nn.Module]] = {
    "slow_d": SlowD,
    "txe": TxE,
}


def list_models() -> list[str]:
    """Return the architecture names that :func:`create_model` accepts, sorted."""
    return sorted(ARCHS)


def create_model(name_or_path: str | Path, **kwargs: Any) -> nn.Module:
    """Create a model by architecture name, or load one from a checkpoint folder.

    Args:
        name_or_path: an architecture name from :func:`list_models`, or a checkpoint folder
            (then the weights are loaded too; ``kwargs`` must be empty).
        **kwargs: constructor arguments for a named architecture.

    Returns:
        The model (in train mode for a name, eval mode for a checkpoint).
    """
    path = Path(name_or_path)
    if path.is_dir():
        if kwargs:
            raise UserError(f"{path}: a checkpoint's architecture is fixed; got {sorted(kwargs)}")
        from movierep.checkpoint import load_pretrained

        return load_pretrained(path)
    name = str(name_or_path)
    if name not in ARCHS:
        raise UserError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return ARCHS[name](**kwargs)
