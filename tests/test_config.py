"""Config resolution: defaults <- profile <- YAML <- --set, validated, written beside outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from movierep.config import build, from_dict, to_dict, write_config
from movierep.errors import UserError


@dataclass(frozen=True)
class ModelCfg:
    width: int = 64
    depths: tuple[int, ...] = (3, 4, 6, 3)
    dropout: float = 0.5


@dataclass(frozen=True)
class OptCfg:
    lr: float = 0.1
    optimizer: Literal["sgd", "lars"] = "lars"
    clip: float | None = None


@dataclass(frozen=True)
class Run:
    model: ModelCfg = field(default_factory=ModelCfg)
    opt: OptCfg = field(default_factory=OptCfg)
    method: str = "cvrl"


PROFILES = {"paper": {}, "cpu": {"model.width": 8, "model.depths": [1, 1, 1, 1]}}


def test_paper_profile_is_the_defaults() -> None:
    assert build(Run, PROFILES) == Run()


def test_layers_apply_in_order(tmp_path: Path) -> None:
    f = tmp_path / "over.yaml"
    f.write_text(yaml.safe_dump({"model": {"width": 16}, "opt": {"lr": 0.5}}))
    cfg = build(Run, PROFILES, "cpu", f, ["opt.lr=2", "opt.clip=1.5e-1", "method=modist"])
    assert cfg.model == ModelCfg(width=16, depths=(1, 1, 1, 1), dropout=0.5)
    assert cfg.opt == OptCfg(lr=2.0, optimizer="lars", clip=0.15)
    assert isinstance(cfg.opt.lr, float) and cfg.method == "modist"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["model.widht=3"], r"unknown key 'model\.widht'"),
        (["opt.lr=fast"], "expects float"),
        (["opt.optimizer=adam"], "expects"),
        (["opt.lr=1", "opt.lr=2"], "given twice"),
        (["model=3"], "is a section"),
        (["lr"], "expected key=value"),
    ],
)
def test_bad_overrides_are_one_line_user_errors(sets: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message) as err:
        build(Run, PROFILES, "paper", None, sets)
    assert "\n" not in str(err.value)


def test_unknown_profile_and_bad_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown profile 'gpu'"):
        build(Run, PROFILES, "gpu")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(UserError, match=r"bad\.yaml: not valid YAML"):
        build(Run, PROFILES, "paper", bad)


def test_written_config_round_trips(tmp_path: Path) -> None:
    cfg = build(Run, PROFILES, "cpu", None, ["opt.clip=none"])
    path = write_config(cfg, tmp_path)
    data = json.loads(path.read_text())
    assert data["model"]["depths"] == [1, 1, 1, 1] and data["opt"]["clip"] is None
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == data
    assert from_dict(Run, data) == cfg and to_dict(cfg) == data
