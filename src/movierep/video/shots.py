"""Shot detection: a video file in, the shots table out (one row per shot).

Two detectors, both fed by :mod:`movierep.video.decode` in one streaming pass:

- ``"transnetv2"`` (default): :mod:`movierep.video.transnetv2` on 48×27 frames;
- ``"scenedetect"``: PySceneDetect's content detector (``"scenedetect-adaptive"`` for its
  adaptive one) on 256-px-wide frames, the fast option.

Shots partition the decoded frames: shot ``i`` covers ``[start_frame, end_frame)`` and the
next shot starts at ``end_frame``. Times are the presentation times of those frames
(``end_time`` of the last shot is the end of its last frame).

A damaged video keeps its shots: the reader skips undecodable packets
(:mod:`movierep.video.damage`), frame numbers stay the stream's own (the frames lost lie
inside whichever shot spans them), and the table's schema metadata records what was lost
(:func:`decode_damage`). The video fails only when more than ``max_lost_fraction`` of it is
lost (or, unless ``on_error="stop"``, when its data ends early: a truncated file).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from movierep.tables import SHOTS
from movierep.video.damage import MAX_LOST_FRACTION, DecodeDamage, check_loss
from movierep.video.decode import OnError, VideoReader, open_video
from movierep.video.errors import EmptyVideoError
from movierep.video.scenedetect import SceneDetectKind, scenedetect_cuts, working_size
from movierep.video.transnetv2 import INPUT_SIZE, TransNetV2Runner, transitions

Detector = Literal["transnetv2", "scenedetect", "scenedetect-adaptive"]
DETECTORS: tuple[str, ...] = ("transnetv2", "scenedetect", "scenedetect-adaptive")
DECODE_ERROR = "movierep.decode_error"  # schema metadata of a shots table cut short
DECODE_DAMAGE = "movierep.decode_damage"  # schema metadata: DecodeDamage JSON of a damaged video


class _TimedFrames:
    """Iterate a reader's frame images while recording each frame's time and index."""

    def __init__(self, reader: VideoReader, on_error: OnError) -> None:
        self.reader, self.on_error = reader, on_error
        self.times: list[float] = []
        self.indices: list[int] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self.reader.frames(on_error=self.on_error):
            self.times.append(frame.time)
            self.indices.append(frame.index)
            yield frame.image


def shots_table(
    movie_id: str,
    cuts: list[tuple[int, float]],
    times: list[float],
    fps: float,
    detector: str,
    indices: Sequence[int] | None = None,
) -> pa.Table:
    """Build the shots table from cut frames.

    Args:
        movie_id: Movie identifier for every row.
        cuts: ``(first_frame_of_new_shot, score)`` in increasing order; frames are
            positions in the decoded sequence.
        times: Presentation time of every decoded frame (``n`` entries).
        fps: Frame rate, for the end time of the last frame.
        detector: Detector name stored with every row.
        indices: The stream's frame number of every decoded frame (they skip the frames a
            damaged video lost); ``None``: ``0 .. n-1``.

    Returns:
        A table with :data:`movierep.tables.SHOTS` schema; the first shot's score is 1.0
        (the start of the video is a certain boundary).
    """
    n = len(times)
    number = list(range(n)) if indices is None else list(indices)
    starts = [0] + [c for c, _ in cuts]
    ends = [c for c, _ in cuts] + [n]
    scores = [1.0] + [s for _, s in cuts]
    end_of_video = times[-1] + 1.0 / fps
    columns = {
        "movie_id": [movie_id] * len(starts),
        "shot_index": list(range(len(starts))),
        "start_frame": [number[s] for s in starts],
        "end_frame": [number[e] if e < n else number[-1] + 1 for e in ends],
        "start_time": [times[s] for s in starts],
        "end_time": [times[e] if e < n else end_of_video for e in ends],
        "score": scores,
        "detector": [detector] * len(starts),
    }
    return pa.Table.from_pydict(columns, schema=SHOTS)


def detect_shots(
    path: str | Path,
    detector: Detector = "transnetv2",
    *,
    movie_id: str | None = None,
    threshold: float | None = None,
    device: str = "cpu",
    batch_windows: int = 1,
    exact: bool = False,
    bf16: bool = False,
    threads: int = 0,
    on_error: OnError = "raise",
    max_lost_fraction: float = MAX_LOST_FRACTION,
    runner: TransNetV2Runner | None = None,
) -> pa.Table:
    """Detect the shots of one video.

    Args:
        path: The video file.
        detector: ``"transnetv2"``, ``"scenedetect"`` (content) or ``"scenedetect-adaptive"``.
        movie_id: Stored in the table; defaults to the file's stem.
        threshold: TransNetV2 probability threshold (0.5) or PySceneDetect's threshold
            (27 content, 3 adaptive); ``None`` takes the default.
        device: Torch device for TransNetV2.
        batch_windows: TransNetV2 windows per forward pass.
        exact: Run TransNetV2 through the package's own modules (bit-identical to its
            ``predict_frames``, about 1.5x slower on CPU) instead of the fast layout.
        bf16: Run TransNetV2 under bfloat16 autocast (faster, |Δp| ≈ 1e-3).
        threads: Decoder threads (0 = FFmpeg's choice).
        on_error: Where the data ends early (a truncated file): ``"stop"`` keeps the shots
            of the frames decoded before it (the table's schema metadata then names the
            error: :func:`decode_error`); ``"raise"`` fails with a
            :class:`~movierep.video.errors.DecodeError`.
        max_lost_fraction: Undecodable packets inside the video are skipped (the table's
            schema metadata records the loss: :func:`decode_damage`); a video that lost
            more than this fraction of its duration fails.
        runner: A TransNetV2 runner to reuse across videos (built when ``None``).

    Returns:
        The shots table (:data:`movierep.tables.SHOTS`).

    Raises:
        VideoError: The file cannot be read (``DecodeError`` for a truncated file when
            ``on_error="raise"``, ``DamagedVideoError`` past ``max_lost_fraction``).
    """
    path = Path(path)
    movie_id = movie_id if movie_id is not None else path.stem
    if detector == "transnetv2":
        with open_video(path, size=INPUT_SIZE, threads=threads) as reader:
            stream = _TimedFrames(reader, on_error)
            runner = runner or TransNetV2Runner(device, batch_windows, exact=exact, bf16=bf16)
            probs = runner.predict(stream)
            cuts = transitions(probs, 0.5 if threshold is None else threshold)
            fps = reader.info.fps
    elif detector in ("scenedetect", "scenedetect-adaptive"):
        kind: SceneDetectKind = "content" if detector == "scenedetect" else "adaptive"
        with open_video(path, threads=threads) as probe_reader:
            size = working_size(probe_reader.info.width, probe_reader.info.height)
        with open_video(path, size=size, threads=threads) as reader:
            stream = _TimedFrames(reader, on_error)
            fps = reader.info.fps
            cuts = scenedetect_cuts(stream, fps, kind, threshold)
    else:
        raise ValueError(f"unknown shot detector {detector!r} (one of {', '.join(DETECTORS)})")
    if not stream.times:
        if reader.error is not None:
            raise reader.error
        raise EmptyVideoError(f"{path}: no frame decoded")
    check_loss(reader.damage, max_lost_fraction)
    table = shots_table(movie_id, cuts, stream.times, fps, detector, stream.indices)
    metadata = {}
    if reader.error is not None:  # on_error="stop" ended decoding early
        metadata[DECODE_ERROR] = str(reader.error)
    if reader.damage:
        metadata[DECODE_DAMAGE] = reader.damage.to_json()
    return table.replace_schema_metadata(metadata or None)


def decode_error(shots: pa.Table) -> str | None:
    """The decode error that cut a shots table short (``on_error="stop"``), if any."""
    value = (shots.schema.metadata or {}).get(DECODE_ERROR.encode())
    return None if value is None else value.decode()


def decode_damage(shots: pa.Table) -> DecodeDamage | None:
    """What undecodable packets took from the video of a shots table, if anything."""
    value = (shots.schema.metadata or {}).get(DECODE_DAMAGE.encode())
    return None if value is None else DecodeDamage.from_json(value.decode())
