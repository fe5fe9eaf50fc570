"""``extract instances`` and ``eval lvu-ot`` on the tiny corpus: Table 5 end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from movierep import tables
from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.data.augment import eval_crop, eval_transform
from movierep.data.benchmarks.lvu import load_instance_meta
from movierep.data.clips import centered_start
from movierep.models.roi_align import roi_features
from movierep.models.slow_d import slow_d_tiny
from movierep.video.decode import open_video

DATA = {"num_frames": 4, "frame_stride": 2, "crop_size": 32, "eval_view_aspect": 16 / 9}


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = slow_d_tiny()
    out = tmp_path_factory.mktemp("ot") / "backbone"
    return save_checkpoint(out, model, "slow_d", model.model_kwargs, run_config={"data": DATA})


def test_eval_crop_maps_boxes_like_the_view() -> None:
    crop = eval_crop(90, 160, 32)  # square view of a 16:9 frame: 32 x 57, 12 px cut each side
    assert (crop.resized_h, crop.resized_w, crop.top, crop.left) == (32, 57, 0, 12)
    assert crop.box_to_view((0.5, 0.25, 1.0, 1.0)) == pytest.approx((16.5, 8.0, 45.0, 32.0))
    wide = eval_crop(90, 160, 32, view_aspect=16 / 9)  # the whole frame
    assert wide.box_to_view((0.0, 0.0, 1.0, 1.0)) == pytest.approx((0, 0, 57, 32))


def test_instances_and_table5_end_to_end(
    tiny_corpus: Path, backbone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lvu = tiny_corpus / "lvu"
    inst = tmp_path / "inst.parquet"
    assert main(["extract", "instances", "--backbone", str(backbone), "--lvu", str(lvu),
                 "--out", str(inst)]) == 0  # fmt: skip
    table = tables.read_table(inst)
    meta = load_instance_meta(lvu / "instance_meta.json")
    assert table.num_rows == sum(len(b) for v in meta.values() for b in v.values())
    feats = tables.to_numpy_embeddings(table.column("feature"))
    assert feats.shape[1] == 256 and np.isfinite(feats).all()

    # One row by hand: the clip centred on the middle of its second, the box through the crop.
    row = 5
    vid, sec = table.column("movie_id")[row].as_py(), table.column("second")[row].as_py()
    box = [table.column(c)[row].as_py() for c in ("x1", "y1", "x2", "y2")]
    model = slow_d_tiny()
    model.load_state_dict(_weights(backbone))
    model.eval()
    with open_video(lvu / "videos" / f"{vid}.mp4") as reader:
        start = centered_start(sec, sec + 1.0, 4 * 2 / reader.info.fps)
        clip = torch.from_numpy(np.asarray(reader.read_clip(start, 4, 2)))
    crop = eval_crop(clip.shape[1], clip.shape[2], 32, view_aspect=16 / 9)
    with torch.no_grad():
        fmap = model.forward_features(eval_transform(clip, 32, view_aspect=16 / 9)[None])["res5"]
    x1, y1, x2, y2 = crop.box_to_view(tuple(box))
    sx, sy = fmap.shape[-1] / crop.width, fmap.shape[-2] / crop.size
    ref = roi_features(fmap, torch.tensor([[0, x1 * sx, y1 * sy, x2 * sx, y2 * sy]]), 1.0)
    np.testing.assert_allclose(feats[row], ref[0].numpy(), rtol=1e-4, atol=1e-5)

    events = tmp_path / "events.parquet"
    videos = sorted(str(p) for p in (lvu / "videos").glob("*.mp4"))
    assert main(["extract", "events", "--backbone", str(backbone), "--videos", *videos,
                 "--out", str(events)]) == 0  # fmt: skip
    out = tmp_path / "t5.json"
    argv = ["eval", "lvu-ot", "--data", str(lvu), "--tasks", "scene", "like_ratio", "--runs", "2",
            "--epochs", "0.5", "--pretrain-steps", "3", "--eval-stride", "20", "--out", str(out),
            "--profile", "cpu", "--row", f"OT={inst},-", "--row", f"scene=-,{events}",
            "--row", f"OT++={inst},{events}"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| #top-1 |" in printed and "| mean rank |" in printed
    results = json.loads(out.read_text())["results"]
    assert list(results) == ["OT", "scene", "OT++"]
    for rows in results.values():
        assert set(rows) == {"scene (top1)", "like_ratio (mse)", "#top-1", "mean rank"}
        assert 0 <= rows["scene (top1)"]["mean"] <= 100
        assert np.isfinite(rows["like_ratio (mse)"]["mean"])
        assert 1 <= rows["mean rank"]["mean"] <= 3
    assert sum(r["#top-1"]["mean"] for r in results.values()) >= 2  # each task has a winner


def _weights(ckpt: Path) -> dict[str, torch.Tensor]:
    from movierep.models.factory import load_pretrained

    return load_pretrained(ckpt).state_dict()


def test_bad_input_is_one_line_and_exit_2(
    tiny_corpus: Path, backbone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lvu = tiny_corpus / "lvu"
    none, out = tmp_path / "none.json", tmp_path / "i.parquet"
    argv = ["extract", "instances", "--backbone", str(backbone), "--lvu", str(lvu),
            "--instance-meta", str(none), "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.json" in err[0]
    assert main(["eval", "lvu-ot", "--data", str(lvu), "--row", "x=-,-"]) == 2
    assert "give instance features" in capsys.readouterr().err
