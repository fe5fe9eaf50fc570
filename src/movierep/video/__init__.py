"""Video ingestion: streaming decode, shots and keyframes, 2 s events.

``decode`` (PyAV reader; ``damage``: what undecodable packets took) → ``shots``
(TransNetV2 / PySceneDetect) → ``keyframes``; ``events`` (consecutive windows and their
clips); ``ingest`` runs them over many files.
"""

from movierep.video.damage import DecodeDamage, LostSpan
from movierep.video.decode import Frame, VideoInfo, VideoReader, open_video, probe
from movierep.video.errors import (
    DamagedVideoError,
    DecodeError,
    EmptyVideoError,
    SeekError,
    VideoError,
)

__all__ = [
    "DamagedVideoError",
    "DecodeDamage",
    "DecodeError",
    "EmptyVideoError",
    "Frame",
    "LostSpan",
    "SeekError",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "open_video",
    "probe",
]
