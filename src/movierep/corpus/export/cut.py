"""The one-pass cutter: decode a movie once and write all its clips and keyframes.

Every benchmark export asks for frame ranges to re-encode (VidSitu 10 s clips, LVU 1–3 min
clips) and single frames to save as JPEG (MovieNet keyframes). :func:`cut_movie` streams
the movie's frames with PyAV, feeds each frame to every clip encoder whose range holds it
(clips may overlap) and saves the requested stills, then stops after the last frame any
request needs. Frames are counted in decode order from 0, which is presentation order for
the corpus' constant-frame-rate H.264 movies.

Encoding uses libx264 with one thread and a fixed preset, so the same input gives the same
bytes (the exported annotations never depend on the encoder).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from movierep import files
from movierep.errors import UserError

KEYFRAME_HEIGHT = 240  # MovieNet "240P" keyframes; smaller movies keep their own size
JPEG_QUALITY = 90
X264_OPTIONS = {"preset": "ultrafast", "crf": "23", "threads": "1"}


@dataclass(frozen=True)
class ClipRequest:
    """Re-encode frames ``[start_frame, end_frame)`` of the movie to ``path`` (MP4, H.264)."""

    path: Path
    start_frame: int
    end_frame: int


@dataclass(frozen=True)
class StillRequest:
    """Save frame ``frame`` of the movie as a JPEG at ``path`` (height at most 240 px)."""

    path: Path
    frame: int


class _ClipWriter:
    """An open MP4 container that receives frames ``[start, end)`` of the source."""

    def __init__(self, request: ClipRequest, rate: Fraction, width: int, height: int) -> None:
        self.request = request
        self._file = ExitStack()  # closing it renames the finished clip onto request.path
        tmp = self._file.enter_context(files.atomic_path(request.path))
        self.container: Any = av.open(str(tmp), mode="w", format="mp4")
        self.stream: Any = self.container.add_stream("libx264", rate=rate, options=X264_OPTIONS)
        self.stream.width = width
        self.stream.height = height
        self.stream.pix_fmt = "yuv420p"
        self.time_base = Fraction(1, 1) / rate
        self.count = 0

    def write(self, frame: Any) -> None:
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        frame.pts = self.count
        frame.time_base = self.time_base
        self.container.mux(self.stream.encode(frame))
        self.count += 1

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()
        self._file.close()


def cut_movie(movie: Path, clips: Sequence[ClipRequest], stills: Sequence[StillRequest]) -> None:
    """Decode ``movie`` once and write every requested clip and still.

    Args:
        movie: source video file.
        clips: frame ranges to re-encode; ranges may overlap and must lie inside the movie.
        stills: frames to save as JPEG.

    Raises:
        UserError: the movie cannot be decoded or ends before a requested frame.
        ValueError: an empty clip range or a negative frame index (a caller's bug).
    """
    if not clips and not stills:
        return
    for clip in clips:
        if not 0 <= clip.start_frame < clip.end_frame:
            raise ValueError(f"{clip.path}: empty frame range {clip.start_frame}-{clip.end_frame}")
    if any(s.frame < 0 for s in stills):
        raise ValueError("a still frame index is negative")
    starts = sorted(clips, key=lambda c: (c.start_frame, str(c.path)))
    still_at: dict[int, list[StillRequest]] = {}
    for s in stills:
        still_at.setdefault(s.frame, []).append(s)
    last = max([c.end_frame for c in clips] + [s.frame + 1 for s in stills])
    open_writers: list[_ClipWriter] = []
    next_clip = 0
    index = -1
    try:
        container: Any = av.open(str(movie))
    except (av.error.FFmpegError, OSError) as err:
        raise UserError(f"{movie}: cannot open video ({err})") from None
    try:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or 25)
        for index, frame in enumerate(container.decode(stream)):
            if index >= last:
                break
            while next_clip < len(starts) and starts[next_clip].start_frame == index:
                open_writers.append(_ClipWriter(starts[next_clip], rate, frame.width, frame.height))
                next_clip += 1
            for writer in open_writers:
                writer.write(frame)
            for writer in [w for w in open_writers if w.request.end_frame == index + 1]:
                writer.close()
                open_writers.remove(writer)
            for still in still_at.get(index, ()):
                _save_still(frame, still.path)
    except av.error.FFmpegError as err:
        raise UserError(f"{movie}: decoding failed at frame {index + 1} ({err})") from None
    finally:
        container.close()
    if open_writers or next_clip < len(starts) or index + 1 < last:
        raise UserError(f"{movie}: ends at frame {index + 1}, before requested frame {last}")


def _save_still(frame: Any, path: Path) -> None:
    if frame.height > KEYFRAME_HEIGHT:
        width = 2 * round(frame.width * KEYFRAME_HEIGHT / frame.height / 2)
        frame = frame.reformat(width=width, height=KEYFRAME_HEIGHT)
    with files.atomic_path(path) as tmp:
        frame.to_image().save(tmp, format="JPEG", quality=JPEG_QUALITY)
