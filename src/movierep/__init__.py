"""movierep: self-supervised representations of movies at every level of their hierarchy.

The short public API, in the order of the data flow (everything else is reached by its
module path, e.g. ``movierep.recipes.cvrl``)::

    import movierep

    video = movierep.open_video("movie.mp4")                      # decode
    shots = movierep.detect_shots("movie.mp4")                    # shots table
    windows = movierep.event_windows(duration=120.0)              # 2 s events
    backbone = movierep.create_model("slow_d_tiny")               # any of list_models()
    backbone = movierep.load_pretrained("runs/cvrl/last")         # a checkpoint folder
    movierep.extract_event_features(backbone, events, "f.parquet", spec)
    table = movierep.contextualize(movierep.read_table("f.parquet"), "runs/txe/last")
    pairs = movierep.movie_pairs("corpus/", "cowatch")            # movie similarity S
    encoder = movierep.load_image_encoder("runs/scenes/last")     # E_fixed / E_scene (or CLIP)
    movierep.extract_scene_features(encoder, "runs/shots", "scenes.parquet")
    table = movierep.embed_video("movie.mp4", level="scene", encoder="runs/scenes/last")

Names resolve lazily (PEP 562), so ``import movierep`` is cheap and importing one
subpackage never loads the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from movierep.version import __version__

#: public name -> the module that defines it
_API = {
    # video: decode, shots, events
    "open_video": "movierep.video.decode",
    "probe": "movierep.video.decode",
    "detect_shots": "movierep.video.shots",
    "event_windows": "movierep.video.events",
    # the embedded synthetic corpus
    "make_corpus": "movierep.corpus",
    # models and checkpoints
    "create_model": "movierep.models.factory",
    "list_models": "movierep.models.factory",
    "load_pretrained": "movierep.models.factory",
    "save_checkpoint": "movierep.checkpoint",
    # losses and objectives
    "info_nce": "movierep.losses.infonce",
    "maskpred_loss": "movierep.losses.maskpred",
    "FeatureQueue": "movierep.losses.queue",
    "CVRL": "movierep.pretrain.cvrl",
    "MoDist": "movierep.pretrain.modist",
    "MaskPredObjective": "movierep.pretrain.maskpred",
    "SceneMoCo": "movierep.pretrain.scene_moco",
    # training
    "TrainConfig": "movierep.train.loop",
    "fit": "movierep.train.loop",
    # features and tables
    "extract_event_features": "movierep.features.extract",
    "contextualize": "movierep.features.contextualize",
    "load_image_encoder": "movierep.features.image_encoder",
    "extract_shot_features": "movierep.features.shot_features",
    "extract_scene_features": "movierep.features.scene_features",
    # Movies2Scenes: movie similarity and scene pairs
    "movie_pairs": "movierep.similarity.movie_pairs",
    "select_scene_pairs": "movierep.similarity.scene_pairs",
    # the embeddings store
    "embed_video": "movierep.store.embed",
    "read_table": "movierep.tables",
    "write_table": "movierep.tables",
    # errors
    "UserError": "movierep.errors",
}

__all__ = [  # noqa: RUF022 (kept in the order of the data flow, as _API)
    "__version__",
    "open_video",
    "probe",
    "detect_shots",
    "event_windows",
    "make_corpus",
    "create_model",
    "list_models",
    "load_pretrained",
    "save_checkpoint",
    "info_nce",
    "maskpred_loss",
    "FeatureQueue",
    "CVRL",
    "MoDist",
    "MaskPredObjective",
    "SceneMoCo",
    "TrainConfig",
    "fit",
    "extract_event_features",
    "contextualize",
    "load_image_encoder",
    "extract_shot_features",
    "extract_scene_features",
    "movie_pairs",
    "select_scene_pairs",
    "embed_video",
    "read_table",
    "write_table",
    "UserError",
]

if TYPE_CHECKING:
    from movierep.checkpoint import save_checkpoint
    from movierep.corpus import make_corpus
    from movierep.errors import UserError
    from movierep.features.contextualize import contextualize
    from movierep.features.extract import extract_event_features
    from movierep.features.image_encoder import load_image_encoder
    from movierep.features.scene_features import extract_scene_features
    from movierep.features.shot_features import extract_shot_features
    from movierep.losses.infonce import info_nce
    from movierep.losses.maskpred import maskpred_loss
    from movierep.losses.queue import FeatureQueue
    from movierep.models.factory import create_model, list_models, load_pretrained
    from movierep.pretrain.cvrl import CVRL
    from movierep.pretrain.maskpred import MaskPredObjective
    from movierep.pretrain.modist import MoDist
    from movierep.pretrain.scene_moco import SceneMoCo
    from movierep.similarity.movie_pairs import movie_pairs
    from movierep.similarity.scene_pairs import select_scene_pairs
    from movierep.store.embed import embed_video
    from movierep.tables import read_table, write_table
    from movierep.train.loop import TrainConfig, fit
    from movierep.video.decode import open_video, probe
    from movierep.video.events import event_windows
    from movierep.video.shots import detect_shots


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'movierep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
