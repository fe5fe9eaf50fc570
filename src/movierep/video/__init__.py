"""Video ingestion: streaming decode, shots and keyframes, 2 s events.

``decode`` (PyAV reader) → ``shots`` (TransNetV2 / PySceneDetect) → ``keyframes``;
``events`` (consecutive windows and their clips); ``ingest`` runs them over many files.
"""

from movierep.video.decode import Frame, VideoInfo, VideoReader, open_video, probe
from movierep.video.errors import DecodeError, EmptyVideoError, SeekError, VideoError

__all__ = [
    "DecodeError",
    "EmptyVideoError",
    "Frame",
    "SeekError",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "open_video",
    "probe",
]
