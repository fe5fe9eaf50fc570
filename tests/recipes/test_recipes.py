"""Recipes are library code: resolved and run without argparse, the same as the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from movierep.errors import UserError
from movierep.recipes import BACKBONE_METHODS, cvrl, maskpred, modist, supervised

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from test_train_contextualizer import features_file


@pytest.mark.parametrize("recipe", [cvrl, modist, supervised, maskpred])
def test_profiles_resolve_and_paper_is_the_defaults(recipe) -> None:
    paper = recipe.resolve()
    assert paper == recipe.resolve("paper")
    cpu = recipe.resolve("cpu", sets=["train.seed=3"])
    assert cpu.train.seed == 3
    assert cpu.train.steps < paper.train.steps
    with pytest.raises(UserError, match="unknown profile"):
        recipe.resolve("gpu")


def test_backbone_methods_name_every_backbone_recipe() -> None:
    assert {"cvrl": cvrl, "modist": modist, "supervised": supervised} == BACKBONE_METHODS
    assert modist.resolve().modist.motion_arch in modist.MOTION_NETS


def test_maskpred_runs_as_a_library_call(tmp_path: Path) -> None:
    feats = features_file(tmp_path / "f.parquet")
    sets = [
        "train.batch_size=4", "train.device=cpu", "train.steps=3", "maskpred.queue_size=32",
        "txe.hidden_dim=16", "txe.num_heads=2",
    ]  # fmt: skip
    result = maskpred.run(maskpred.resolve("cpu", sets=sets), features=[feats], out=tmp_path / "r")
    assert result.step == 3 and result.checkpoint == tmp_path / "r" / "last"
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["txe"]["input_dim"] == 8  # set from the feature table
