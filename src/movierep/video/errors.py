"""Typed errors for media input (STYLE habit 14: failures are typed and recorded, never hidden).

Every message is one line that names the file, and for decoding failures the time in the
video where decoding stopped, e.g. ``movies/m1.mp4: decoding failed at 4.08 s (Invalid data
found when processing input)``.
"""

from __future__ import annotations

from movierep.errors import UserError


class VideoError(UserError):
    """A video file that cannot be opened or read (missing, not a video, unknown frame rate)."""


class EmptyVideoError(VideoError):
    """A file with no video stream (audio only) or a video stream without a single frame."""


class DecodeError(VideoError):
    """Decoding stopped inside the file (truncated or corrupt data).

    Attributes:
        path: The video file.
        time: Seconds into the video where decoding failed (the time just after the last
            frame that decoded), or ``None`` when the file failed before any frame.
    """

    def __init__(self, message: str, *, path: str = "", time: float | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.time = time


class DamagedVideoError(DecodeError):
    """Parts of a video could not be decoded and were skipped.

    Recorded with ``outcome = partial`` when the rest of the video was kept, or as the
    failure of a video that lost more than the allowed fraction
    (:func:`movierep.video.damage.check_loss`); :attr:`time` is where the first loss starts.
    """


class SeekError(VideoError):
    """A requested time lies outside the video, or seeking could not reach it."""
