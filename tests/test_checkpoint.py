"""Checkpoints: atomic folder, safetensors weights, strict architecture check, no pickle."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from movierep.checkpoint import load_trainer_state, read_config, save_checkpoint
from movierep.errors import UserError
from movierep.models import factory, load_pretrained


@dataclass(frozen=True)
class TinyConfig:
    dim: int = 3


class Tiny(nn.Module):
    def __init__(self, cfg: TinyConfig = TinyConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.fc = nn.Linear(cfg.dim, 2)


@pytest.fixture(autouse=True)
def _register_tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(factory.MODELS, "tiny_test", factory.ModelSpec(Tiny, TinyConfig()))


def test_save_and_load_pretrained_round_trip(tmp_path: Path) -> None:
    model = Tiny(TinyConfig(dim=5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.fc(torch.ones(1, 5)).sum().backward()
    opt.step()
    path = save_checkpoint(
        tmp_path / "ck",
        model,
        "tiny_test",
        {"dim": 5},
        run_config={"a": 1},
        objective=model,
        trainer_state={"optimizer": opt.state_dict(), "step": 7},
        step=7,
    )
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "model.safetensors",
        "objective.safetensors",
        "trainer_state.pt",
    ]
    loaded = load_pretrained(path)
    assert isinstance(loaded, Tiny) and not loaded.training
    torch.testing.assert_close(loaded.fc.weight, model.fc.weight)
    assert read_config(path)["step"] == 7
    state = load_trainer_state(path)
    assert state is not None and state["step"] == 7
    assert factory.create_model(path).fc.weight.shape == (2, 5)


def test_overwrite_leaves_no_temporary_folders(tmp_path: Path) -> None:
    for _ in range(2):
        save_checkpoint(tmp_path / "ck", Tiny(), "tiny_test", {"dim": 3})
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]


def test_a_half_written_folder_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text('{"arch": "tiny_test", "model_kwargs": {}}')
    with pytest.raises(UserError, match="not a movierep checkpoint"):
        load_pretrained(tmp_path / "half")


def test_mismatched_weights_name_the_file(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "ck", Tiny(TinyConfig(dim=3)), "tiny_test", {"dim": 3})
    cfg = (path / "config.json").read_text().replace('"dim": 3', '"dim": 4')
    (path / "config.json").write_text(cfg)
    with pytest.raises(UserError, match=r"model\.safetensors"):
        load_pretrained(path)


def test_unknown_model_name_lists_known_ones() -> None:
    with pytest.raises(UserError, match="tiny_test"):
        factory.create_model("nope")


#: ``model_kwargs`` as checkpoints written before the architectures took config objects
#: stored them: the constructor's keyword arguments, JSON lists for tuples, and (for the
#: shot-adjacency network) without the later ``num_classes`` field.
OLD_MODEL_KWARGS = {
    "slow_d": {
        "in_channels": 3, "stem_width": 8, "stage_depths": [1, 1, 1, 1],
        "stage_widths": [32, 64, 128, 256], "bottleneck_ratio": 4, "stem_temporal_kernel": 5,
        "stem_temporal_stride": 1, "temporal_pool_after_stem": 2,
        "temporal_kernels": [1, 1, 3, 3], "num_classes": 0, "dropout": 0.5,
        "zero_init_residual": True, "input_difference": False,
    },
    "vit": {
        "image_size": [32, 48], "patch_size": 16, "width": 64, "layers": 1, "heads": 1,
        "output_dim": 8, "mlp_ratio": 4.0,
    },
    "txe": {
        "input_dim": 8, "hidden_dim": 16, "num_layers": 1, "num_heads": 2, "num_tokens": 5,
        "mlp_ratio": 4, "dropout": 0.1, "output_dim": None, "norm_first": True,
    },
    "shot_adjacency": {
        "input_dim": 4, "hidden_dim": 6, "dropout": 0.5, "num_shots": 16, "scene_kernel": 4,
        "scene_stride": 2, "pool_kernel": 4, "pool_stride": 2, "cosine": True,
    },
    "txd": {
        "vocab_size": 11, "memory_dim": 8, "hidden_dim": 16, "num_layers": 1, "num_heads": 2,
        "ffn_dim": 32, "output_dim": 8, "dropout": 0.1, "max_len": 32, "pad_id": 0,
        "vision": True,
    },
}  # fmt: skip


@pytest.mark.parametrize("arch", sorted(OLD_MODEL_KWARGS))
def test_a_checkpoint_written_before_configs_still_loads(tmp_path: Path, arch: str) -> None:
    kwargs = OLD_MODEL_KWARGS[arch]
    model = factory.create_model(arch, **kwargs)
    assert factory.arch_name(model) == arch
    path = save_checkpoint(tmp_path / arch, model, arch, kwargs)
    meta = json.loads((path / "config.json").read_text())
    assert meta["model_kwargs"] == kwargs  # the on-disk key and value are the old ones
    loaded = load_pretrained(path)
    assert type(loaded) is type(model)
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)
    assert {k: v for k, v in factory.model_config(loaded).items() if k in kwargs} == kwargs


def test_a_checkpoint_rebuilds_through_its_config_class(tmp_path: Path) -> None:
    model = factory.create_model("slow_d_tiny", num_classes=3)
    path = save_checkpoint(tmp_path / "ck", model, "slow_d", factory.model_config(model))
    loaded = load_pretrained(path)
    assert loaded.cfg == model.cfg  # tuples again, not JSON lists
    bad = json.loads((path / "config.json").read_text())
    bad["model_kwargs"]["stage_depth"] = [1, 1, 1, 1]
    (path / "config.json").write_text(json.dumps(bad))
    with pytest.raises(UserError, match="stage_depth"):
        load_pretrained(path)
