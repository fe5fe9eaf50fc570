"""Streaming video decoding with PyAV: frames at a target rate and size, accurate clip seeks.

Every later stage starts here. The reader never holds more than a handful of decoded frames,
so memory does not depend on the length of the video. Seeks go to the keyframe at or before
the requested time and decode forward (the usual FFmpeg recipe: ``av_seek_frame`` with
``AVSEEK_FLAG_BACKWARD``, then drop frames before the target), so :meth:`VideoReader.read_clip`
returns exactly the frames a sequential decode would give.

Damaged data does not end the video. Packets are demuxed and decoded one by one; after a
packet the decoder rejects (``Invalid data found when processing input``) decoding
resumes at the next keyframe (the frames in between refer to the lost one: FFmpeg's tools
decode them with the damage concealed, which smears the previous picture over them). Each
damaged place is recorded in :attr:`VideoReader.damage` (:mod:`movierep.video.damage`:
the seconds of frames lost) and logged as a warning naming the file and the span. Only
data that ends early (a truncated file: the last frame lies well before the declared
duration) or a demuxer error stops the video, as ``on_error`` says.

Followed: the PyAV documentation (``InputContainer.seek``: stream time base units,
``backward=True``, ``any_frame=False``; ``CodecContext.thread_type = "AUTO"`` for frame +
slice threading; ``VideoReformatter.reformat`` for size, pixel format and interpolation;
``VideoFrame.rotation``, the display-matrix angle, counter-clockwise, as FFmpeg's
``av_display_rotation_get``).

Example:
    >>> with open_video("movie.mp4", size=(224, 224)) as video:  # doctest: +SKIP
    ...     clip = video.read_clip(12.0, num_frames=16, frame_stride=4)  # (16, 224, 224, 3)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from movierep.video.damage import DecodeDamage, LossTracker, LostSpan
from movierep.video.errors import DecodeError, EmptyVideoError, SeekError, VideoError

log = logging.getLogger(__name__)

OnError = Literal["raise", "stop"]

_TIME_TOL = 1e-6  # seconds: float slack when comparing a frame time with a requested time
_SEEK_BACKOFFS = (0.0, 1.0, 10.0)  # seconds to step back when a seek lands past the target
_GAP_FOR_RESEEK = 4.0  # read_frames_at: seek again rather than decode across larger gaps
_TRUNCATION_SLACK = 0.5  # seconds of declared-but-missing video tolerated at the end
_INTERPOLATION = "BICUBIC"  # FFmpeg's default scaler, the one TransNetV2 was trained behind
_MAX_RESYNC = 30.0  # seconds of packets skipped at most when no keyframe comes after damage


@dataclass(frozen=True)
class VideoInfo:
    """What a video file declares about its first video stream.

    Attributes:
        path: The file.
        fps: Average frame rate (frames per second); the nominal rate of a variable-rate file.
        num_frames: Frame count from the container, or ``round(duration * fps)`` when the
            container does not store one (e.g. Matroska).
        duration: Seconds of video.
        width: Display width in pixels (after ``rotation``).
        height: Display height in pixels (after ``rotation``).
        rotation: Degrees counter-clockwise the decoded picture is turned for display
            (0, 90, 180 or 270), from the stream's display matrix; frames are returned
            already turned.
    """

    path: Path
    fps: float
    num_frames: int
    duration: float
    width: int
    height: int
    rotation: int


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: Position of the frame in the stream (0-based). Counted when decoding from the
            start (frames lost to damaged packets are counted too, from the time they
            span, so the indices after them skip those frames); after a seek it is
            ``round(time * fps)``, the same number for a constant-rate video.
        time: Presentation time in seconds from the start of the stream.
        image: RGB pixels, shape ``(H, W, 3)``, uint8.
    """

    index: int
    time: float
    image: np.ndarray


@dataclass(frozen=True)
class _Rejected:
    """A packet the decoder rejected (``fatal``: the demuxer failed, nothing follows)."""

    reason: str
    fatal: bool = False


def _open_container(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    try:
        return av.open(str(path), mode="r")
    except av.error.EOFError as err:
        raise EmptyVideoError(f"{path}: empty file (it ends before any video data)") from err
    except av.error.FFmpegError as err:
        raise VideoError(f"{path}: not a readable video file ({_reason(err)})") from err


def _reason(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return " ".join(str(text).split())


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.VideoStream:
    if not container.streams.video:
        raise EmptyVideoError(f"{path}: no video stream with frames (audio-only or empty)")
    return container.streams.video[0]


def _frame_rate(stream: av.video.VideoStream, path: Path) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    raise VideoError(f"{path}: the video stream declares no frame rate")


def _rotation(frame: av.VideoFrame) -> int:
    return round(float(frame.rotation or 0.0) / 90.0) % 4 * 90


def probe(path: str | Path) -> VideoInfo:
    """Read a video's frame rate, length, size and rotation, decoding only its first frame.

    Args:
        path: A video file in any container/codec FFmpeg reads.

    Returns:
        The :class:`VideoInfo` of the first video stream.

    Raises:
        VideoError: The file is missing or not a video; EmptyVideoError when it has no video
            stream or no decodable frame.
    """
    path = Path(path)
    with open_video(path) as video:
        return video.info


def size_at_height(path: str | Path, height: int | None) -> tuple[int, int] | None:
    """``(W, H)`` that decodes ``path`` at ``height`` keeping its aspect (even width).

    ``None`` (the video's own size) when ``height`` is ``None`` or the video is not taller:
    frames are scaled down, never up.
    """
    if height is None:
        return None
    info = probe(path)
    if info.height <= height:
        return None
    return max(2, round(info.width * height / info.height / 2) * 2), height


def open_video(
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    threads: int = 0,
    skip_damaged: bool = True,
    warn_damage: bool = True,
) -> VideoReader:
    """Open a video for reading (use as a context manager).

    Args:
        path: The video file.
        size: Output ``(W, H)`` of every frame, in display orientation; ``None`` keeps the
            video's own size.
        threads: Decoder threads; 0 lets FFmpeg choose (one per core).
        skip_damaged: Drop packets the decoder rejects and decode on, recording the lost
            spans in :attr:`VideoReader.damage`; ``False`` treats the first one as the end
            of the data (``on_error`` then decides).
        warn_damage: Log each lost span as a warning; ``False`` only records it (a second
            pass over a video whose damage was already reported).

    Returns:
        An open :class:`VideoReader`.
    """
    return VideoReader(
        path, size=size, threads=threads, skip_damaged=skip_damaged, warn_damage=warn_damage
    )


class VideoReader:
    """A streaming reader over the first video stream of one file.

    Attributes:
        info: The video's :class:`VideoInfo`.
        error: The :class:`DecodeError` that ended the last ``frames(on_error="stop")`` early,
            or ``None``.
        damage: The spans lost to undecodable packets in everything read so far
            (:class:`~movierep.video.damage.DecodeDamage`; empty for a clean video).
        skip_damaged: Whether undecodable packets are skipped (see :func:`open_video`).
        warn_damage: Whether each lost span is logged (see :func:`open_video`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        size: tuple[int, int] | None = None,
        threads: int = 0,
        skip_damaged: bool = True,
        warn_damage: bool = True,
    ) -> None:
        self.path = Path(path)
        self.size = size
        self.skip_damaged = skip_damaged
        self.warn_damage = warn_damage
        self.error: DecodeError | None = None
        # One reformatter per reader keeps FFmpeg's scaler context between frames (creating
        # it per frame, as ``VideoFrame.to_ndarray(width=...)`` does, costs ~10x the decode).
        self._reformatter = VideoReformatter()
        self._container = _open_container(self.path)
        try:
            self._stream = _video_stream(self._container, self.path)
            self._stream.thread_type = "AUTO"
            self._stream.thread_count = threads
            self._rate = _frame_rate(self._stream, self.path)
            self._time_base = Fraction(self._stream.time_base or Fraction(1, 1_000_000))
            self._start_pts = int(self._stream.start_time or 0)
            self._fresh = True  # nothing decoded yet: the demuxer is at the start
            self._declared = self._declared_duration()
            self.damage = DecodeDamage(str(self.path), self._declared)
            self.info = self._read_info()
        except BaseException:
            self._container.close()
            raise

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._container.close()

    # -- info ------------------------------------------------------------------------------
    def _declared_duration(self) -> float:
        """Seconds of video the stream (else the container) declares; 0 when neither does."""
        if self._stream.duration:
            return float(self._stream.duration * self._time_base)
        if self._container.duration:
            return float(self._container.duration / av.time_base)
        return 0.0

    def _read_info(self) -> VideoInfo:
        first = next(self._decode(0.0, on_error="raise"), None)
        if first is None:
            raise EmptyVideoError(f"{self.path}: the video stream has no decodable frame")
        rotation = _rotation(first[0])
        stream, fps = self._stream, float(self._rate)
        duration = self._declared
        num_frames = int(stream.frames) or round(duration * fps)
        if not duration:
            duration = num_frames / fps
            self.damage.duration = duration
        width, height = stream.codec_context.width, stream.codec_context.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(self.path, fps, num_frames, duration, width, height, rotation)

    # -- core decode loop ------------------------------------------------------------------
    def _time(self, frame: av.VideoFrame) -> float:
        pts = frame.pts if frame.pts is not None else frame.dts
        return float("nan") if pts is None else self._pts_time(pts)

    def _seek(self, time: float) -> None:
        target = self._start_pts + int(Fraction(max(time, 0.0)) / self._time_base)
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError as err:
            raise SeekError(f"{self.path}: cannot seek to {time:.3f} s ({_reason(err)})") from err

    def _decode(
        self, start_time: float, on_error: OnError, *, preroll: bool = False
    ) -> Iterator[tuple[av.VideoFrame, float, int]]:
        """Yield ``(frame, time, index)`` from the first frame with ``time >= start_time``.

        Seeks to the keyframe at or before ``start_time`` and decodes forward; if the seek
        lands after the target (a demuxer with a coarse index), it steps further back.
        ``preroll=True`` also yields the frames between that keyframe and the target.
        """
        from_start = start_time <= _TIME_TOL
        for backoff in _SEEK_BACKOFFS if not from_start else (0.0,):
            if not (from_start and self._fresh):
                self._seek(0.0 if from_start else start_time - backoff)
            self._fresh = False
            frames = self._decode_forward(counted=from_start, on_error=on_error)
            first = next(frames, None)
            if first is None:
                return
            if from_start or first[1] <= start_time + _TIME_TOL or backoff == _SEEK_BACKOFFS[-1]:
                break
        else:  # pragma: no cover - the loop always breaks on its last backoff
            return
        if preroll or first[1] >= start_time - _TIME_TOL:
            yield first
        for item in frames:
            if preroll or item[1] >= start_time - _TIME_TOL:
                yield item

    def _packets_decoded(self, tracker: LossTracker) -> Iterator[av.VideoFrame | _Rejected]:
        """Demux packet by packet; yield each frame, or a :class:`_Rejected` per bad packet.

        After a packet the decoder rejects, the packets up to the next keyframe are not sent:
        their frames refer to the lost one, and the decoder's concealment of it smears the
        previous picture over them until the next keyframe (at a cut, the previous shot's).
        Frames already in the decoder when it reported the error still come out. A stream
        that flags no keyframe within :data:`_MAX_RESYNC` seconds of packets is sent on
        regardless (the decoder recovers by itself). An error of the demuxer itself ends the
        stream (``_Rejected(fatal=True)``): nothing after it can be read.
        """
        packets = self._container.demux(self._stream)
        resync = 0  # after a rejected packet: packets left to skip while no keyframe comes
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as err:
                yield _Rejected(_reason(err), fatal=True)
                return
            if packet.size:
                if resync and not packet.is_keyframe:
                    tracker.skipped(packet.pts)
                    resync -= 1
                    continue
                resync = 0
                tracker.packet(packet.pts)
            try:
                yield from self._stream.decode(packet)
            except av.error.FFmpegError as err:
                tracker.rejected(_reason(err), packet.pts)
                resync = max(round(_MAX_RESYNC * float(self._rate)), 1)
                yield _Rejected(_reason(err))

    def _decode_forward(
        self, *, counted: bool, on_error: OnError
    ) -> Iterator[tuple[av.VideoFrame, float, int]]:
        fps = float(self._rate)
        tracker = LossTracker(self._pts_time, 1.0 / fps, self._lost)
        last_time: float | None = None
        index = -1
        failure: str | None = None
        for item in self._packets_decoded(tracker):
            if isinstance(item, _Rejected):
                if self.skip_damaged and not item.fatal:
                    continue
                failure = item.reason
                break
            time = self._time(item)
            if time != time:  # no timestamp at all: count frames at the nominal rate
                time = (index + 1) / fps if last_time is None else last_time + 1.0 / fps
            lost = tracker.frame(item.pts, time)  # frames lost just before this one
            index = index + 1 + lost if counted else round(time * fps)
            last_time = time
            yield item, time, index
        if failure is None or (self.skip_damaged and last_time is not None):
            truncated = self._truncation(last_time)
            if truncated is not None:
                failure = failure or tracker.reason or truncated
            elif last_time is not None or tracker.reason is None:
                tracker.finish()  # the last packets were lost: a span, not a truncated file
                failure = None
            else:  # every packet rejected: not one frame
                failure = tracker.reason
        if failure is None:
            return
        at = 0.0 if last_time is None else last_time + 1.0 / fps
        error = DecodeError(
            f"{self.path}: decoding failed at {at:.2f} s ({failure})", path=str(self.path), time=at
        )
        if on_error == "raise":
            raise error
        log.warning("%s", error)
        self.error = error

    def _pts_time(self, pts: int) -> float:
        return float((pts - self._start_pts) * self._time_base)

    def _lost(self, span: LostSpan) -> None:
        """Record a lost span in :attr:`damage`; warn when it is new (and ``warn_damage``)."""
        if self.damage.add(span) and self.warn_damage:
            log.warning(
                "%s: lost %.2f s at %.2f-%.2f s, %d packets undecodable or skipped to the "
                "next keyframe (%s)",
                self.path, span.seconds, span.start, span.end, span.packets, span.reason,
            )  # fmt: skip

    def _truncation(self, last_time: float | None) -> str | None:
        """Why decoding ended early, when it ended well before the stream's declared end.

        With frame threading FFmpeg drops the undecodable tail of a truncated file without an
        error, so the end of decoding is checked against the stream's own duration.
        """
        if last_time is None or not self._stream.duration:
            return None
        declared = float((self._stream.duration) * self._time_base)
        frame = 1.0 / float(self._rate)
        if last_time + frame < declared - max(_TRUNCATION_SLACK, 2 * frame):
            return f"data ends before the declared {declared:.2f} s: truncated or corrupt file"
        return None

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rotation = _rotation(frame)
        width, height = frame.width, frame.height
        if self.size is not None:
            width, height = self.size if rotation in (0, 180) else self.size[::-1]
        rgb = self._reformatter.reformat(
            frame, width, height, "rgb24", interpolation=_INTERPOLATION
        )
        image: np.ndarray = rgb.to_ndarray()
        if rotation:
            image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
        return image

    # -- public reads ----------------------------------------------------------------------
    def frames(
        self,
        start_time: float = 0.0,
        end_time: float | None = None,
        fps: float | None = None,
        *,
        on_error: OnError = "raise",
    ) -> Iterator[Frame]:
        """Stream frames in presentation order, optionally resampled to ``fps``.

        Args:
            start_time: First time to return (seconds).
            end_time: Stop before this time (exclusive); ``None`` reads to the end.
            fps: Target rate: a frame is kept when it is the first at or after each tick
                ``start_time + k / fps`` (half a native frame of slack); ``None`` or a rate at
                or above the native one keeps every frame.
            on_error: Where the data ends early (a truncated file, a demuxer error, or any
                undecodable packet when the reader does not ``skip_damaged``): ``"raise"``
                raises :class:`DecodeError`; ``"stop"`` ends the iteration there (frames
                before it were already yielded) and keeps the error in :attr:`error`.
                Undecodable packets inside the video are skipped either way and recorded in
                :attr:`damage`.

        Yields:
            :class:`Frame` objects with images of shape ``(H, W, 3)``.
        """
        self.error = None
        step = 1.0 / fps if fps else 0.0
        slack = 0.5 / float(self._rate)
        next_tick = start_time
        for frame, time, index in self._decode(start_time, on_error):
            if end_time is not None and time >= end_time - _TIME_TOL:
                return
            if step:
                if time < next_tick - slack:
                    continue
                while next_tick <= time + slack:
                    next_tick += step
            yield Frame(index, time, self._to_rgb(frame))

    def read_clip(self, start_time: float, num_frames: int, frame_stride: int = 1) -> np.ndarray:
        """Read ``num_frames`` frames, ``frame_stride`` apart at the native rate.

        Starts at the first frame with ``time >= start_time`` (e.g. the paper's 16×4 clip:
        ``num_frames=16, frame_stride=4``). Sample positions past the end of the video take
        the video's last frame (indices clamp to ``num_frames_in_video - 1``).

        Args:
            start_time: Seconds.
            num_frames: T, frames to return.
            frame_stride: Keep every ``frame_stride``-th native frame.

        Returns:
            Array ``(T, H, W, 3)`` uint8.

        Raises:
            SeekError: ``start_time`` lies after the last frame.
            DecodeError: The file is corrupt before the clip is complete.
        """
        kept: list[np.ndarray] = []
        last: av.VideoFrame | None = None
        for position, (frame, _, _) in enumerate(self._decode(start_time, "raise")):
            last = frame
            if position % frame_stride == 0:
                kept.append(self._to_rgb(frame))
                if len(kept) == num_frames:
                    return np.stack(kept)
        if last is None:
            raise SeekError(
                f"{self.path}: no frame at or after {start_time:.3f} s "
                f"(video lasts {self.info.duration:.3f} s)"
            )
        kept.extend([self._to_rgb(last)] * (num_frames - len(kept)))
        return np.stack(kept)

    def read_frames_at(self, times: Sequence[float]) -> np.ndarray:
        """Return the frame on screen at each requested time.

        The frame on screen at ``t`` is the last one with ``time <= t``; times before the first
        frame give the first frame, times after the last give the last. Runs of nearby times
        share one seek; times more than a few seconds apart seek again.

        Args:
            times: Seconds, in any order.

        Returns:
            Array ``(T, H, W, 3)`` uint8 in the order of ``times``.
        """
        if len(times) == 0:
            raise SeekError(f"{self.path}: no times requested")
        order = sorted(range(len(times)), key=lambda i: times[i])
        images: list[np.ndarray | None] = [None] * len(times)
        k = 0
        while k < len(order):
            k = self._fill_run(times, order, k, images)
        return np.stack([image for image in images if image is not None])

    def _fill_run(
        self,
        times: Sequence[float],
        order: list[int],
        k: int,
        images: list[np.ndarray | None],
    ) -> int:
        """Decode from ``times[order[k]]`` forward, filling requests until a large gap."""
        previous: av.VideoFrame | None = None
        first_k = k
        for frame, time, _ in self._decode(times[order[k]], "raise", preroll=True):
            while k < len(order) and times[order[k]] < time - _TIME_TOL:
                images[order[k]] = self._to_rgb(previous if previous is not None else frame)
                k += 1
            if k == len(order):
                return k
            if k > first_k and times[order[k]] - time > _GAP_FOR_RESEEK:
                return k
            previous = frame
        if previous is None:
            previous = self._last_frame()
        last = self._to_rgb(previous)
        while k < len(order):
            images[order[k]] = last
            k += 1
        return k

    def _last_frame(self) -> av.VideoFrame:
        last: av.VideoFrame | None = None
        for frame, _, _ in self._decode(max(self.info.duration - 2.0, 0.0), "raise"):
            last = frame
        if last is None:
            raise SeekError(f"{self.path}: cannot read the last frame")
        return last
