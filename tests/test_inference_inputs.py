"""Checkpoints state their inference inputs, and every path that embeds follows them.

The trap this pins (issue 32): a scene encoder trained with ``--profile cpu`` sees 4-shot
scenes; ``extract scenes``, ``embed``, ``embed_video`` and the store's queries must embed
4-shot windows with it, and refuse a scene length that contradicts it in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
import torch

from movierep.checkpoint import (
    InferenceInputs,
    read_inputs,
    resolve_input,
    save_checkpoint,
)
from movierep.cli import main
from movierep.errors import UserError
from movierep.features.contextualize import contextualize
from movierep.features.extract import ClipSpec, clip_spec_from_checkpoint
from movierep.models.slow_d import slow_d_tiny
from movierep.models.vit import vit_tiny
from movierep.recipes import scenes
from movierep.store.embed import embed_at, embed_video
from movierep.store.layout import read_info, read_level
from movierep.tables import read_table
from movierep.video.ingest import ingest_shots

CPU_WINDOW = 4  # shots per scene of the cpu profile


@pytest.fixture(scope="module")
def scene_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ViT saved as ``train scenes --profile cpu`` saves it (inputs from the recipe)."""
    cfg = scenes.resolve("cpu")
    assert cfg.data.shots_per_scene == CPU_WINDOW
    torch.manual_seed(0)
    vit = vit_tiny(image_size=(32, 32))
    path = tmp_path_factory.mktemp("scene_ckpt") / "scenes"
    save_checkpoint(path, vit, "vit", vit.model_kwargs, inputs=scenes.inference_inputs(cfg, vit))
    return path


@pytest.fixture(scope="module")
def shots(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    out = tmp_path_factory.mktemp("inputs_shots") / "shots"
    report, table = ingest_shots([tiny_corpus], out, detector="scenedetect", show_progress=False)
    assert table is not None and not report.failed
    return out, table


def windows(table: pa.Table, n: int) -> dict[str, int]:
    """Windows of ``n`` shots per movie: ceil(shots / n)."""
    ids = table["movie_id"].to_pylist()
    return {m: -(-ids.count(m) // n) for m in sorted(set(ids))}


def spans(table: pa.Table) -> list[int]:
    """Shots per row of a scene table."""
    ends = table["end_shot"].to_pylist()
    return [b - a for a, b in zip(table["start_shot"].to_pylist(), ends, strict=True)]


def counts(table: pa.Table) -> dict[str, int]:
    ids = table["movie_id"].to_pylist()
    return {m: ids.count(m) for m in sorted(set(ids))}


def test_the_checkpoint_states_its_inputs(scene_encoder: Path) -> None:
    stated = read_inputs(scene_encoder)
    assert stated == InferenceInputs(shots_per_scene=4, frames_per_shot=1, image_size=(32, 32))
    meta = json.loads((scene_encoder / "config.json").read_text())
    assert meta["inputs"] == {"shots_per_scene": 4, "frames_per_shot": 1, "image_size": [32, 32]}


def test_older_checkpoints_state_inputs_through_their_run_config(tmp_path: Path) -> None:
    backbone = slow_d_tiny()
    data = {"num_frames": 4, "frame_stride": 2, "crop_size": 32, "eval_view_aspect": 1.5}
    save_checkpoint(tmp_path / "bb", backbone, "slow_d", backbone.model_kwargs,
                    run_config={"data": data})  # fmt: skip
    assert "inputs" not in json.loads((tmp_path / "bb" / "config.json").read_text())
    stated = read_inputs(tmp_path / "bb")
    assert (stated.clip_frames, stated.frame_stride, stated.crop_size, stated.view_aspect) == (
        4, 2, 32, 1.5
    )  # fmt: skip
    assert clip_spec_from_checkpoint(tmp_path / "bb") == ClipSpec(4, 2, 32, 1.5)
    # a flag that agrees is fine; one that contradicts is refused, naming both values
    assert clip_spec_from_checkpoint(tmp_path / "bb", num_frames=4).num_frames == 4
    with pytest.raises(UserError, match=r"bb: trained with clip_frames = 4, but --num-frames 8"):
        clip_spec_from_checkpoint(tmp_path / "bb", num_frames=8)


def test_resolve_input_takes_the_flag_only_where_the_checkpoint_is_silent() -> None:
    assert resolve_input("c", "token_stride", "--x", None, None, 9) == 9
    assert resolve_input("c", "token_stride", "--x", 3, None, 9) == 3
    assert resolve_input("c", "token_stride", "--x", None, 2.0, 9) == 2.0
    with pytest.raises(UserError, match=r"c: trained with token_stride = 2\.0, but --x 3"):
        resolve_input("c", "token_stride", "--x", 3.0, 2.0, 9)


def test_a_bad_inputs_entry_is_one_clear_error(scene_encoder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    meta = json.loads((scene_encoder / "config.json").read_text())
    meta["inputs"] = {"shots_per_scene": "many"}
    (bad / "config.json").write_text(json.dumps(meta))
    (bad / "model.safetensors").write_bytes((scene_encoder / "model.safetensors").read_bytes())
    with pytest.raises(UserError, match=r"inputs.shots_per_scene='many' is not valid"):
        read_inputs(bad)


@pytest.mark.slow
def test_the_cpu_scene_encoder_embeds_4_shot_windows_through_every_path(
    scene_encoder: Path,
    shots: tuple[Path, pa.Table],
    tiny_corpus: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, shot_table = shots
    want = windows(shot_table, CPU_WINDOW)

    # extract scenes: no --shots-per-scene, the encoder's 4
    out = tmp_path / "scenes.parquet"
    argv = ["extract", "scenes", "--encoder", scene_encoder, "--shots", folder, "--out", out,
            "--device", "cpu"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    table = read_table(out)
    assert counts(table) == want
    assert max(spans(table)) == CPU_WINDOW

    # embed: the store's scene level in 4-shot windows, recorded in store.json
    store = tmp_path / "store"
    argv = ["embed", tiny_corpus, "--levels", "scene", "--out", store, "--scene-encoder",
            scene_encoder, "--detector", "scenedetect", "--shots", folder, "--device", "cpu",
            "--quiet"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    assert counts(read_level(store, "scene")) == want
    assert read_info(store).levels["scene"].shots_per_scene == CPU_WINDOW

    # embed_video: the library call
    video = tiny_corpus / "movies" / "m0002.mp4"
    one = embed_video(video, "scene", scene_encoder, detector="scenedetect", device="cpu")
    assert one.num_rows == want["m0002"]
    assert max(spans(one)) == CPU_WINDOW

    # the store's queries (search --video --at, and what serve shows): the same windows
    row = embed_at(store, "scene", video, 5.0, device="cpu").to_pylist()[0]
    assert row["end_shot"] - row["start_shot"] <= CPU_WINDOW
    assert row["start_shot"] % CPU_WINDOW == 0

    # a contradicting window is refused, in one line naming the checkpoint, by every path
    capsys.readouterr()
    bad = [
        ["extract", "scenes", "--encoder", scene_encoder, "--shots", folder, "--out",
         tmp_path / "nine.parquet", "--shots-per-scene", "9"],
        ["embed", video, "--levels", "scene", "--out", tmp_path / "store9", "--scene-encoder",
         scene_encoder, "--shots-per-scene", "9", "--detector", "scenedetect", "--quiet"],
    ]  # fmt: skip
    for argv in bad:
        assert main([str(a) for a in argv]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and str(scene_encoder) in lines[0], lines
        assert "trained with shots_per_scene = 4, but" in lines[0]
    with pytest.raises(UserError, match="shots_per_scene = 4"):
        embed_video(video, "scene", scene_encoder, shots_per_scene=9, detector="scenedetect")


def test_txe_token_stride_comes_from_the_checkpoint(tmp_path: Path) -> None:
    from movierep.models.factory import create_model

    kwargs = {"input_dim": 8, "hidden_dim": 16, "num_layers": 1, "num_heads": 2}
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "txe", create_model("txe", **kwargs), "txe", kwargs,
                    inputs=InferenceInputs(token_stride=2.0))  # fmt: skip
    assert read_inputs(tmp_path / "txe").token_stride == 2.0
    # events every 1 s: the stride-2 TxE reads every second event; stride 3 is refused
    n = 6
    table = pa.table(
        {
            "movie_id": ["a"] * n,
            "event_index": list(range(n)),
            "start_time": [float(i) for i in range(n)],
            "end_time": [float(i) + 2 for i in range(n)],
            "feature": pa.array([[float(i)] * 8 for i in range(n)], pa.list_(pa.float32(), 8)),
        }
    )
    assert contextualize(table, tmp_path / "txe").num_rows == n
    with pytest.raises(
        UserError, match=r"trained with token_stride = 2\.0, but token_stride= 3\.0"
    ):
        contextualize(table, tmp_path / "txe", token_stride=3.0)
