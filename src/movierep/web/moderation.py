"""A saved moderation head, and the filter it drives on the browsing page.

``movierep eval moderation`` trains a
:class:`~movierep.tasks.heads.feature_classifier.FeatureClassifier` on frozen features
(Movies2Scenes §4.4) and keeps nothing. To filter search results with
one, save it as a *head folder*::

    HEAD/head.json          {"format": "movierep-head", "version": 1, "task": "moderation",
                             "classes": [class names, in output order], "dim": D,
                             "hidden": [hidden widths], "level": "scene" | null}
    HEAD/model.safetensors  the classifier's weights, its feature mean / std buffers included

:func:`save_head` writes one (atomically, like a checkpoint folder) and :func:`load_head`
reads it back without unpickling anything. The head takes the store's raw embeddings of a
level with the same D (it standardises them itself) and gives softmax probabilities.

The filter of ``movierep serve STORE --moderation HEAD`` hides a neighbour when its
probability of a chosen class is above a threshold: ``p[c] > threshold``
(:meth:`ModerationHead.hides`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import save_file
from torch import nn

from movierep import files
from movierep.checkpoint import load_state
from movierep.errors import UserError
from movierep.tasks.heads.feature_classifier import FeatureClassifier, class_scores

FORMAT = "movierep-head"
VERSION = 1
INFO = "head.json"
WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class ModerationHead:
    """A loaded head: its classes, input size and module.

    Attributes:
        path: the head folder.
        classes: class names, in the order of the head's outputs.
        dim: D, the embedding size it takes.
        level: the store level it was trained on (``None``: not recorded).
        module: the classifier (eval mode).
    """

    path: Path
    classes: tuple[str, ...]
    dim: int
    level: str | None
    module: nn.Module

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, C) of raw embeddings (N, D)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise UserError(f"{self.path}: the head takes D={self.dim}, got embeddings {x.shape}")
        return class_scores(self.module, x)

    def class_index(self, name: str) -> int:
        """The output index of class ``name``; an unknown class is a :class:`UserError`."""
        if name not in self.classes:
            raise UserError(
                f"{self.path}: no class {name!r} in the head (it has: {', '.join(self.classes)})"
            )
        return self.classes.index(name)

    def hides(self, probabilities: np.ndarray, name: str, threshold: float) -> np.ndarray:
        """(N,) bool: which rows of ``probabilities`` (N, C) have ``p[name] > threshold``."""
        column: np.ndarray = probabilities[:, self.class_index(name)] > threshold
        return column


def _hidden_widths(module: FeatureClassifier) -> list[int]:
    linears = [m for m in module.mlp if isinstance(m, nn.Linear)]
    return [m.out_features for m in linears[:-1]]


def save_head(
    path: str | Path,
    head: FeatureClassifier,
    classes: Sequence[str],
    *,
    level: str | None = None,
    task: str = "moderation",
) -> Path:
    """Write a head folder (``head.json`` + ``model.safetensors``) atomically.

    Args:
        path: the head folder (replaced if it exists).
        head: a trained classifier (e.g. from
            :func:`~movierep.tasks.heads.feature_classifier.fit_classifier`).
        classes: its class names, in output order.
        level: the store level whose embeddings it was trained on, if known.
        task: what it classifies.

    Returns:
        ``path``.
    """
    out_features = [m for m in head.mlp if isinstance(m, nn.Linear)][-1].out_features
    if len(classes) != out_features:
        raise ValueError(f"the head has {out_features} outputs but {len(classes)} class names")
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "task": task,
        "classes": list(classes),
        "dim": int(head.mean.shape[0]),
        "hidden": _hidden_widths(head),
        "level": level,
    }
    state = {k: v.detach().cpu().contiguous().clone() for k, v in head.state_dict().items()}
    with files.atomic_dir(path) as tmp:
        files.write_json(tmp / INFO, meta)
        save_file(state, str(tmp / WEIGHTS))
    return Path(path)


def load_head(path: str | Path) -> ModerationHead:
    """Read a head folder written by :func:`save_head`.

    Raises:
        UserError: not a head folder, a malformed ``head.json``, or weights that do not
            match it.
    """
    path = Path(path)
    info_file = path / INFO
    if not info_file.is_file() or not (path / WEIGHTS).is_file():
        raise UserError(f"{path}: not a movierep head folder (needs {INFO} and {WEIGHTS})")
    meta = files.read_json(info_file)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{info_file}: not a movierep head file (format is not {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise UserError(f"{info_file}: head format version {meta.get('version')}, expected 1")
    try:
        classes = tuple(str(c) for c in meta["classes"])
        dim = int(meta["dim"])
        hidden = [int(h) for h in meta["hidden"]]
        level = None if meta.get("level") is None else str(meta["level"])
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{info_file}: malformed head file ({err!r})") from None
    if not classes or dim < 1:
        raise UserError(f"{info_file}: a head needs classes and dim >= 1")
    module = FeatureClassifier(dim, len(classes), hidden, dropout=0.0)
    load_state(module, path / WEIGHTS)
    return ModerationHead(path, classes, dim, level, module.eval())
