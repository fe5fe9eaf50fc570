"""Tiny synthetic videos with known hard cuts, written with PyAV into ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

MakeVideo = Callable[..., Path]


def shot_frames(length: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """One shot: a colour gradient background with two moving rectangles, (T, H, W, 3)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    c0, c1 = rng.uniform(20, 235, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height + 1) / 2
    background = c0 + (c1 - c0) * ramp[..., None]
    boxes = [
        (
            rng.uniform(0, width * 0.6),
            rng.uniform(0, height * 0.6),
            rng.uniform(-1.5, 1.5),
            rng.uniform(-1, 1),
            rng.uniform(0, 255, 3),
        )
        for _ in range(2)
    ]
    frames = np.empty((length, height, width, 3), np.uint8)
    for t in range(length):
        image = background.copy()
        for bx, by, vx, vy, colour in boxes:
            x0 = int(bx + vx * t) % max(width - width // 4, 1)
            y0 = int(by + vy * t) % max(height - height // 4, 1)
            image[y0 : y0 + height // 4, x0 : x0 + width // 4] = colour
        frames[t] = image.clip(0, 255).astype(np.uint8)
    return frames


def write_video(
    path: Path,
    frames: np.ndarray | Sequence[np.ndarray],
    *,
    fps: int = 25,
    codec: str = "libx264",
    gop: int = 12,
    rotation: int | None = None,
    pts: Sequence[int] | None = None,
    faststart: bool = True,
) -> Path:
    """Encode RGB frames; ``pts`` (in 1/1000 s) makes a variable-frame-rate file."""
    height, width = frames[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart and path.suffix == ".mp4" else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "12", "bf": "2"}
        if pts is not None:
            stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = stream.time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> MakeVideo:
    """Return ``make(name, shot_lengths, size=(W, H), **write_kwargs) -> Path``."""

    def make(
        name: str,
        shot_lengths: Sequence[int] = (40, 35, 50),
        size: tuple[int, int] = (96, 64),
        seed: int = 0,
        **kwargs: object,
    ) -> Path:
        rng = np.random.default_rng(seed)
        frames = np.concatenate([shot_frames(n, size[0], size[1], rng) for n in shot_lengths])
        return write_video(tmp_path / name, frames, **kwargs)  # type: ignore[arg-type]

    return make


def cut_frames(shot_lengths: Sequence[int]) -> list[int]:
    """First frame of every shot after the first."""
    return list(np.cumsum(shot_lengths)[:-1])


@pytest.fixture(scope="session")
def hard_cut_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """A 125-frame H.264 clip (96×64, 25 fps) with hard cuts at frames 40 and 75."""
    lengths = (40, 35, 50)
    rng = np.random.default_rng(1)
    images = np.concatenate([shot_frames(n, 96, 64, rng) for n in lengths])
    path = write_video(tmp_path_factory.mktemp("hard_cuts") / "clip.mp4", images)
    return path, cut_frames(lengths)
