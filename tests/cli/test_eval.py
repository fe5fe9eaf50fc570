"""``movierep eval vidsitu-*`` end to end on the tiny corpus' VidSitu export."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.data.benchmarks.vidsitu import load_vidsitu
from movierep.models.slow_d import slow_d_tiny


@pytest.mark.parametrize("task", ["vidsitu-verbs", "vidsitu-srl", "vidsitu-relations"])
def test_eval_writes_the_table_json_and_official_predictions(
    task: str, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = slow_d_tiny()
    run_config = {"data": {"num_frames": 4, "frame_stride": 6, "crop_size": 32}}
    save_checkpoint(tmp_path / "bb", model, "slow_d", model.model_kwargs, run_config=run_config)
    out = tmp_path / "eval.json"
    extra = (
        ["--row", "blind=none", "--profile", "cpu", "--steps", "5"] if task == "vidsitu-srl" else []
    )
    argv = [
        "eval", task, "--data", str(tiny_corpus / "vidsitu"), "--row", f"random={tmp_path / 'bb'}",
        "--runs", "2", "--out", str(out), "--write-predictions", str(tmp_path / "pred.pkl"),
        *extra,
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| random |" in printed
    report = json.loads(out.read_text())
    row = report["rows"]["random"]
    assert len(row["runs"]) == 2
    val = load_vidsitu(tiny_corpus / "vidsitu", "val")
    preds = pickle.loads((tmp_path / "pred.pkl").read_bytes())
    assert [p["ann_idx"] for p in preds] == list(range(len(val)))
    key, n = {
        "vidsitu-verbs": ("pred_vbs_ev", 5),
        "vidsitu-srl": ("vb_output", 5),
        "vidsitu-relations": ("pred_evrels_ev", 4),
    }[task]
    assert len(preds[0][key]) == n
    for metric, (mean, _se) in row["summary"].items():
        assert 0.0 <= mean <= (10.0 if "CIDEr" in metric else 1.0), metric
