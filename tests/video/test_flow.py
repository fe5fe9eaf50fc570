from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from movierep.video.flow import FlowCache, compute_flow


def translating_clip(T: int = 4, dx: int = 3, dy: int = -2, H: int = 72, W: int = 96) -> np.ndarray:
    """A smooth random texture moving by (dx, dy) pixels per frame, (T, H, W, 3) uint8."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(noise, (0, 0), 2.0).astype(np.float32)
    texture = np.clip((texture - texture.mean()) * 4 + 128, 0, 255).astype(np.uint8)
    return np.stack([np.roll(texture, (dy * t, dx * t), axis=(0, 1)) for t in range(T)])


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_known_translation_is_recovered(method: str) -> None:
    frames = translating_clip(T=4, dx=3, dy=-2)
    flow = compute_flow(frames, method=method)
    assert flow.shape == (3, 72, 96, 2)
    assert flow.dtype == np.float16
    inner = flow[:, 12:-12, 12:-12].astype(np.float32)  # away from the wrap-around border
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.25)
    assert np.median(inner[..., 1]) == pytest.approx(-2.0, abs=0.25)


def test_static_clip_has_zero_flow() -> None:
    frames = np.repeat(translating_clip(T=1), 3, axis=0)
    assert np.abs(compute_flow(frames).astype(np.float32)).max() < 0.05


def test_rejects_bad_frames_and_methods() -> None:
    with pytest.raises(ValueError, match="at least 2 frames"):
        compute_flow(translating_clip(T=1))
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\) uint8"):
        compute_flow(np.zeros((3, 8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="unknown flow method"):
        compute_flow(translating_clip(T=2), method="tvl1")


def test_cache_hit_returns_identical_flow_without_recomputing(tmp_path: Path) -> None:
    cache = FlowCache(tmp_path / "flow")
    calls = []

    def frames_fn() -> np.ndarray:
        calls.append(1)
        return translating_clip(T=3)

    key = ("movie_0001", 12.0, 3, 4, 96)
    first = cache.get_or_compute(key, frames_fn)
    assert len(calls) == 1
    assert cache.path(key).is_file()

    def must_not_run() -> np.ndarray:
        raise AssertionError("frames were decoded on a cache hit")

    second = cache.get_or_compute(key, must_not_run)
    assert second.dtype == np.float16
    np.testing.assert_array_equal(first, second)
    assert (cache.hits, cache.misses) == (1, 1)
    # No temporary files are left behind; other keys and methods map to other files.
    assert [p.suffix for p in tmp_path.rglob("*") if p.is_file()] == [".npy"]
    assert cache.path(("movie_0001", 14.0, 3, 4, 96)) != cache.path(key)
    assert FlowCache(tmp_path / "flow", method="farneback").path(key) != cache.path(key)
