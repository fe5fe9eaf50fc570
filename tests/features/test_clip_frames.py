"""Moderation clips from their own frames: frame times, scene vs frames mode, the extractor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from movierep.cli import main
from movierep.data.corpus import Corpus
from movierep.data.shot_images import to_model_input
from movierep.errors import UserError
from movierep.features.clip_frames import (
    MODES,
    embed_clip_frames,
    extract_clip_features,
    frame_times,
)
from movierep.models.vit import CLIP_MEAN, CLIP_STD, ViT, ViTConfig, save_clip_visual
from movierep.tables import read_table, to_numpy_embeddings
from movierep.video.decode import open_video


def tiny_vit(seed: int = 0) -> ViT:
    torch.manual_seed(seed)
    return ViT(
        ViTConfig(image_size=32, patch_size=16, width=64, layers=1, heads=1, output_dim=8)
    ).eval()


@pytest.mark.parametrize(
    ("start", "end", "n"), [(0.0, 5.0, 9), (12.5, 13.0, 9), (3.0, 4.0, 1), (0.0, 10.0, 2)]
)
def test_frame_times_are_evenly_spaced_strictly_inside_the_clip(
    start: float, end: float, n: int
) -> None:
    t = frame_times(start, end, n)
    assert t.shape == (n,)
    assert np.all(t > start) and np.all(t < end)
    step = (end - start) / n
    np.testing.assert_allclose(np.diff(t), step)  # equal gaps ...
    np.testing.assert_allclose([t[0] - start, end - t[-1]], [step / 2, step / 2])  # ... margins


def test_frame_times_by_hand_and_bad_clips() -> None:
    np.testing.assert_allclose(frame_times(0.0, 9.0), np.arange(9) + 0.5)
    with pytest.raises(UserError, match="no duration"):
        frame_times(4.0, 4.0)
    with pytest.raises(UserError, match="at least 1"):
        frame_times(0.0, 1.0, 0)


def test_frames_mode_is_the_mean_of_each_frame_alone_and_scene_mode_differs() -> None:
    model = tiny_vit()
    x = torch.randn(2, 9, 3, 32, 32)  # (B, F, 3, H, W)
    frames = embed_clip_frames(model, x, "frames")
    with torch.no_grad():
        alone = torch.stack([torch.stack([model(x[b, f][None])[0] for f in range(9)]) for b in
                             range(2)])  # fmt: skip
        scene = model(x)
    torch.testing.assert_close(frames, alone.mean(1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(embed_clip_frames(model, x, "scene"), scene)
    assert frames.shape == scene.shape == (2, 8)
    assert not torch.allclose(frames, scene, atol=1e-3)


def frame_on_screen(video: Path, times: np.ndarray) -> np.ndarray:
    """Independent reference: decode every frame in order, keep the last one at or before t."""
    with open_video(video) as reader:
        decoded = [(f.time, f.image) for f in reader.frames()]
    return np.stack([[img for tf, img in decoded if tf <= t + 1e-6][-1] for t in times])


def test_extractor_writes_one_row_per_clip_and_frames_mode_is_the_frame_mean(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    model = tiny_vit()
    clips = Corpus(tiny_corpus).moderation
    out = {}
    for mode in MODES:
        path = tmp_path / f"clips_{mode}.parquet"
        report = extract_clip_features(
            model, tiny_corpus, path, mode=mode, device="cpu", show_progress=False
        )
        assert not report.failed
        out[mode] = read_table(path)
        table = out[mode]
        assert table.column_names == ["clip_id", "movie_id", "start_time", "end_time", "feature"]
        assert sorted(table.column("clip_id").to_pylist()) == sorted(
            clips.column("clip_id").to_pylist()
        )
        assert to_numpy_embeddings(table.column("feature")).shape == (clips.num_rows, 8)
    scene = to_numpy_embeddings(out["scene"].column("feature"))
    frames = to_numpy_embeddings(out["frames"].column("feature"))
    assert out["scene"].column("clip_id") == out["frames"].column("clip_id")
    assert not np.allclose(scene, frames, atol=1e-3)

    # one clip by hand: its 9 frames (sequential decode), each embedded alone, then the mean
    row = out["frames"].slice(3, 1).to_pylist()[0]
    video = Corpus(tiny_corpus).movie_path(row["movie_id"])
    images = frame_on_screen(video, frame_times(row["start_time"], row["end_time"]))
    x = to_model_input(images, model.image_size, mean=CLIP_MEAN, std=CLIP_STD)  # (9, 3, H, W)
    with torch.no_grad():
        want = model(x).mean(0).numpy()
    np.testing.assert_allclose(row["feature"], want, atol=1e-5)

    again = extract_clip_features(
        model, tiny_corpus, tmp_path / "clips_scene.parquet", device="cpu", show_progress=False
    )
    assert not again.done and len(again.skipped) == len(set(clips.column("movie_id").to_pylist()))


def test_bad_inputs_are_user_errors(tiny_corpus: Path, tmp_path: Path) -> None:
    clips = Corpus(tiny_corpus).moderation.slice(0, 2)
    empty = clips.set_column(3, "end_time", clips.column("start_time"))
    with pytest.raises(UserError, match=r"clip 'm0000_0000'.*no duration"):
        extract_clip_features(tiny_vit(), tiny_corpus, tmp_path / "a.parquet", clips=empty)
    with pytest.raises(UserError, match="unknown mode"):
        extract_clip_features(
            tiny_vit(),
            tiny_corpus,
            tmp_path / "a.parquet",
            mode="pooled",  # type: ignore[arg-type]
        )
    with pytest.raises(UserError, match=r"\.parquet"):
        extract_clip_features(tiny_vit(), tiny_corpus, tmp_path / "a.csv")


def test_cli_extract_clips_from_a_clip_file(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_clip_visual(tiny_vit(1), tmp_path / "vit.pt")
    out = tmp_path / "runs" / "clips_fixed.parquet"
    argv = ["extract", "clips", "--encoder", str(tmp_path / "vit.pt"), "--corpus",
            str(tiny_corpus), "--mode", "frames", "--frames", "3", "--device", "cpu",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    n = Corpus(tiny_corpus).moderation.num_rows
    assert f"wrote {n} clip features (frames, 3 frames)" in capsys.readouterr().out
    assert read_table(out).num_rows == n
