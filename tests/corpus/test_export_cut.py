"""The one-pass cutter: overlapping clips and stills from one decode, errors on short movies."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from movierep.corpus.export.cut import ClipRequest, StillRequest, cut_movie
from movierep.errors import UserError


@pytest.fixture
def movie(tmp_path: Path) -> Path:
    """40 frames at 10 fps, 64x48; frame i has grey level 6 * i."""
    path = tmp_path / "movie.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(40):
            img = np.full((48, 64, 3), 6 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _frames(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.to_ndarray(format="gray").mean()) for f in container.decode(video=0)]


def test_overlapping_clips_and_stills_in_one_pass(movie: Path, tmp_path: Path) -> None:
    clips = [
        ClipRequest(tmp_path / "a.mp4", 0, 20),
        ClipRequest(tmp_path / "b.mp4", 10, 40),
        ClipRequest(tmp_path / "c.mp4", 15, 16),
    ]
    stills = [StillRequest(tmp_path / "kf" / "s.jpg", 25)]
    cut_movie(movie, clips, stills)
    a, b, c = (_frames(r.path) for r in clips)
    assert (len(a), len(b), len(c)) == (20, 30, 1)
    assert a[10] == pytest.approx(b[0], abs=3)  # both are source frame 10
    assert c[0] == pytest.approx(6 * 15, abs=4)
    still = np.asarray(Image.open(tmp_path / "kf" / "s.jpg").convert("L"), dtype=float)
    assert still.shape == (48, 64)
    assert still.mean() == pytest.approx(6 * 25, abs=4)
    with av.open(str(tmp_path / "b.mp4")) as container:
        assert container.streams.video[0].average_rate == 10


def test_requests_past_the_end_and_bad_files_are_user_errors(movie: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="ends at frame 40, before requested frame 45"):
        cut_movie(movie, [ClipRequest(tmp_path / "x.mp4", 30, 45)], [])
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(UserError, match=r"bad\.mp4: cannot open video"):
        cut_movie(bad, [], [StillRequest(tmp_path / "s.jpg", 0)])
    with pytest.raises(ValueError, match="empty frame range"):
        cut_movie(movie, [ClipRequest(tmp_path / "y.mp4", 5, 5)], [])
