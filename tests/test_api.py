"""The public API at ``movierep``: a short list, pinned, each name resolving to its home."""

from __future__ import annotations

import importlib

import pytest

import movierep

PINNED = {
    "open_video": "movierep.video.decode",
    "probe": "movierep.video.decode",
    "detect_shots": "movierep.video.shots",
    "event_windows": "movierep.video.events",
    "make_corpus": "movierep.corpus.make",
    "create_model": "movierep.models.factory",
    "list_models": "movierep.models.factory",
    "load_pretrained": "movierep.models.factory",
    "save_checkpoint": "movierep.checkpoint",
    "info_nce": "movierep.losses.infonce",
    "maskpred_loss": "movierep.losses.maskpred",
    "FeatureQueue": "movierep.losses.queue",
    "CVRL": "movierep.pretrain.cvrl",
    "MoDist": "movierep.pretrain.modist",
    "MaskPredObjective": "movierep.pretrain.maskpred",
    "SceneMoCo": "movierep.pretrain.scene_moco",
    "TrainConfig": "movierep.train.loop",
    "fit": "movierep.train.loop",
    "extract_event_features": "movierep.features.extract",
    "contextualize": "movierep.features.contextualize",
    "load_image_encoder": "movierep.features.image_encoder",
    "extract_shot_features": "movierep.features.shot_features",
    "extract_scene_features": "movierep.features.scene_features",
    "movie_pairs": "movierep.similarity.movie_pairs",
    "select_scene_pairs": "movierep.similarity.scene_pairs",
    "embed_video": "movierep.store.embed",
    "read_table": "movierep.tables",
    "write_table": "movierep.tables",
    "UserError": "movierep.errors",
}


def test_the_public_names_are_pinned_and_resolve_to_their_modules() -> None:
    assert movierep.__all__ == ["__version__", *PINNED]
    for name, module in PINNED.items():
        obj = getattr(movierep, name)
        assert obj is getattr(importlib.import_module(module), name)
        assert obj.__module__ == module, name
    assert set(PINNED) <= set(dir(movierep))


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nope"):
        movierep.nope  # noqa: B018


def test_one_registry_lists_every_model_and_rebuilds_the_presets() -> None:
    assert movierep.list_models() == [
        "motion_net",
        "motion_net_tiny",
        "shot_adjacency",
        "slow_d",
        "slow_d_r50",
        "slow_d_tiny",
        "txd",
        "txe",
        "vit",
        "vit_b16",
        "vit_tiny",
    ]
    tiny = movierep.create_model("slow_d_tiny")
    from movierep.models.factory import arch_name

    assert arch_name(tiny) == "slow_d"  # presets are saved under their architecture
    rebuilt = movierep.create_model("slow_d", **tiny.model_kwargs)
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in tiny.parameters())
    motion = movierep.create_model("motion_net_tiny")
    assert arch_name(motion) == "motion_net"
