"""The networks of the hierarchy: plain ``nn.Module``s with the papers' sizes as defaults.

Build them by name or from a checkpoint folder with :func:`create_model`,
:func:`load_pretrained` and :func:`list_models` (:mod:`movierep.models.factory`).
"""

from movierep.models.factory import MODELS, create_model, list_models, load_pretrained

__all__ = ["MODELS", "create_model", "list_models", "load_pretrained"]
