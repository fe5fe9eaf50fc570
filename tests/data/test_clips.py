import numpy as np
import pytest
import torch

from movierep.data.clips import centered_start, sample_pair_starts
from movierep.data.frames import clip_duration


def test_pair_gap_follows_cvrl_decreasing_density():
    g = torch.Generator().manual_seed(0)
    duration, length = 12.0, 2.0
    M = duration - length
    pairs = np.array([sample_pair_starts(duration, length, g) for _ in range(4000)])
    assert pairs.min() >= 0.0 and pairs.max() <= M + 1e-9
    gaps = np.abs(pairs[:, 1] - pairs[:, 0]) / M
    # P(t) = 2(1 - t) on [0, 1]: mean 1/3, CDF F(t) = 1 - (1 - t)^2.
    assert gaps.mean() == pytest.approx(1 / 3, abs=0.02)
    for t in (0.1, 0.3, 0.5, 0.8):
        assert np.mean(gaps <= t) == pytest.approx(1 - (1 - t) ** 2, abs=0.03)
    # Both orders occur (the earlier clip is view 1 half of the time).
    assert np.mean(pairs[:, 0] < pairs[:, 1]) == pytest.approx(0.5, abs=0.05)


def test_pair_starts_short_video_and_determinism():
    assert sample_pair_starts(1.0, 2.0) == (0.0, 0.0)
    a = sample_pair_starts(10.0, 2.0, torch.Generator().manual_seed(3))
    b = sample_pair_starts(10.0, 2.0, torch.Generator().manual_seed(3))
    assert a == b


def test_centered_start_and_clip_duration():
    assert clip_duration(16, 4, 25.0) == pytest.approx(2.56)
    assert centered_start(4.0, 6.0, 2.56) == pytest.approx(3.72)
    assert centered_start(0.0, 2.0, 2.56) == 0.0


def write_video(path, num_frames=75, fps=25, size=(48, 64), seed=0):
    """A small mpeg4 video whose frames differ (a moving bright square on a colour)."""
    import av

    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 200, size=3)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for t in range(num_frames):
            img = np.zeros((*size, 3), np.uint8)
            img[:] = colour
            x = (2 * t) % (size[1] - 8)
            img[10:18, x : x + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_clip_pair_dataset_items(tmp_path):
    from movierep.data.augment import ClipAugment
    from movierep.data.clips import ClipPairDataset
    from movierep.data.sources import folder_source

    for i in range(2):
        write_video(tmp_path / f"v{i}.mp4", seed=i)
    spans = folder_source(tmp_path).spans
    torch.manual_seed(0)
    ds = ClipPairDataset(
        spans, ClipAugment(size=32), num_frames=8, frame_stride=2, augment_on="worker"
    )
    item = ds[1]
    assert item["view1"].shape == item["view2"].shape == (3, 8, 32, 32)
    assert item["index"].item() == 1
    assert not torch.equal(item["view1"], item["view2"])


@pytest.mark.parametrize("cached", [True, False])
def test_clip_pair_dataset_with_flow(tmp_path, cached):
    from movierep.data.augment import ClipAugment
    from movierep.data.clips import ClipPairDataset
    from movierep.data.frames import CachedFrames, DecodedFrames
    from movierep.data.sources import folder_source
    from movierep.video.frame_cache import FrameCache

    write_video(tmp_path / "videos" / "v.mp4")
    spans = folder_source(tmp_path / "videos").spans
    frames = (
        CachedFrames(FrameCache(tmp_path / "frames"))
        if cached
        else DecodedFrames(tmp_path / "cache")
    )
    ds = ClipPairDataset(
        spans, ClipAugment(size=32), num_frames=4, frame_stride=2, frames=frames, flow=True,
        augment_on="worker",
    )  # fmt: skip
    torch.manual_seed(0)
    item = ds[0]
    assert item["flow1"].shape == item["flow2"].shape == (2, 3, 32, 32)
    assert item["flow1"].abs().max() > 0.5  # the square moves 4 px per clip step
    if cached:  # one flow array for the whole video, beside its frames
        assert len(list((tmp_path / "frames").rglob("flow-*.npy"))) == 1
    else:  # one file per drawn clip
        assert len(list((tmp_path / "cache").rglob("*.npy"))) == 2


def test_labelled_clip_dataset_centres_eval_clips(tmp_path):
    from movierep.data.augment import eval_transform
    from movierep.data.clips import LabelledClipDataset
    from movierep.data.sources import VideoSpan

    path = write_video(tmp_path / "v.mp4")
    spans = [VideoSpan(path, "a", 0.0, 2.0, label=2), VideoSpan(path, "b", 1.0, 3.0, label=0)]
    ds = LabelledClipDataset(
        spans, lambda c: eval_transform(c, 32), num_frames=8, frame_stride=2,
        augment_on="worker", random_start=False,
    )  # fmt: skip
    item = ds[1]
    assert item["clip"].shape == (3, 8, 32, 32)
    assert item["label"].item() == 0
    with pytest.raises(Exception, match="labelled"):
        LabelledClipDataset(
            [VideoSpan(path, "c")], lambda c: c, num_frames=8, frame_stride=2, augment_on="worker"
        )


def test_modist_pairs_are_half_a_second_to_ten_seconds_apart():
    from movierep.data.clips import sample_shifted_pair_starts

    g = torch.Generator().manual_seed(0)
    gaps = []
    for _ in range(2000):
        a, b = sample_shifted_pair_starts(30.0, 2.0, g)
        assert min(a, b) >= 0.0 and max(a, b) <= 28.0 + 1e-9
        gaps.append(abs(b - a))
    assert 0.5 <= min(gaps) < 0.6 and 9.9 < max(gaps) <= 10.0
    assert abs(sum(gaps) / len(gaps) - 5.25) < 0.2  # uniform on [0.5, 10]
    short = sample_shifted_pair_starts(2.3, 2.0, g)
    assert abs(abs(short[1] - short[0]) - 0.3) < 1e-9  # shorter than min_gap: the largest gap
