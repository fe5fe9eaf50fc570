"""Stream frames into an H.264 MP4 with PyAV (mpeg4 where libx264 is missing)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from movierep.files import atomic_path


def video_codec() -> str:
    """``libx264`` when this PyAV build can encode it, else ``mpeg4``."""
    try:
        av.codec.Codec("libx264", "w")
    except Exception:  # PyAV raises UnknownCodecError (or a plain ValueError on old builds)
        return "mpeg4"
    return "libx264"


def write_video(
    path: Path, frames: Iterable[np.ndarray], fps: int, width: int, height: int, crf: int = 20
) -> int:
    """Encode uint8 (H, W, 3) RGB frames one at a time into ``path`` (written atomically).

    libx264 runs single-threaded with a fixed preset, so the same frames give the same
    bytes. Memory stays constant whatever the number of frames.

    Returns:
        The number of frames written.
    """
    codec = video_codec()
    count = 0
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": "superfast", "threads": "1"}
        else:
            stream.bit_rate = 400_000
        for image in frames:
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = count
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count
