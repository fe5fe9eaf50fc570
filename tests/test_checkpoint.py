"""Checkpoints: atomic folder, safetensors weights, strict architecture check, no pickle."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from movierep.checkpoint import load_trainer_state, read_config, save_checkpoint
from movierep.errors import UserError
from movierep.models import factory, load_pretrained


class Tiny(nn.Module):
    def __init__(self, dim: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, 2)


@pytest.fixture(autouse=True)
def _register_tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(factory.MODELS, "tiny_test", Tiny)


def test_save_and_load_pretrained_round_trip(tmp_path: Path) -> None:
    model = Tiny(dim=5)
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
    path = save_checkpoint(tmp_path / "ck", Tiny(dim=3), "tiny_test", {"dim": 3})
    cfg = (path / "config.json").read_text().replace('"dim": 3', '"dim": 4')
    (path / "config.json").write_text(cfg)
    with pytest.raises(UserError, match=r"model\.safetensors"):
        load_pretrained(path)


def test_unknown_model_name_lists_known_ones() -> None:
    with pytest.raises(UserError, match="tiny_test"):
        factory.create_model("nope")
