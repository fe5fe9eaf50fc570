"""What a damaged video lost: the spans of frames that undecodable packets took with them.

A few corrupt bytes inside a video make the decoder reject the packets that hold them
(``Invalid data found when processing input``). The reader
(:class:`movierep.video.decode.VideoReader`) drops such a packet and the ones after it up
to the next keyframe (their frames refer to the lost one) and decodes on; this module
records what was lost, so a damaged video loses only what is damaged:

- a :class:`LostSpan` per damaged place: the frames that never came out, from the first to
  the end of the last, in seconds;
- a :class:`DecodeDamage` per video: its spans, the lost seconds and their fraction of the
  video's duration, and one line that names the file and the spans (the warning, and the
  message ``failures.parquet`` records with ``outcome = partial``);
- :class:`LossTracker`: which frames a run of rejected packets took with them, from the
  timestamps of the packets demuxed and of the frames decoded (exact under frame threading
  and B-frame reordering, where the decoder reports an error a few packets late);
- :func:`check_loss`: the commands' rule, a video fails only when more than
  ``max_lost_fraction`` of it is lost (``--max-lost-fraction``, default 0.5).

Example:
    >>> damage = DecodeDamage("m.mp4", duration=212.0)
    >>> damage.add(LostSpan(104.96, 106.0, packets=26, reason="Invalid data"))
    True
    >>> damage.describe()
    'm.mp4: lost 1.04 s of 212.00 s (0.49%) at 104.96-106.00 s, 26 packets undecodable or skipped to the next keyframe (Invalid data)'
"""  # noqa: E501

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from movierep.video.errors import DamagedVideoError

MAX_LOST_FRACTION = 0.5  # default of --max-lost-fraction
# Frames after a rejected packet in which frames that never came out count as its loss: the
# decoder's delay (one frame per frame-thread, FFmpeg uses at most 16, plus up to 16 frames
# of reordering) with room to spare.
SETTLE_FRAMES = 64
_SHOWN_SPANS = 3  # spans named in a message; the rest are counted


@dataclass(frozen=True)
class LostSpan:
    """Frames lost at one damaged place of a video.

    Attributes:
        start: Seconds: the first lost frame.
        end: Seconds: the end of the last lost frame (``end >= start``; equal when no frame
            was lost).
        packets: Packets not decoded: those the decoder rejected and those skipped after
            them up to the next keyframe.
        reason: The decoder's error for the first rejected packet.
    """

    start: float
    end: float
    packets: int
    reason: str

    @property
    def seconds(self) -> float:
        """Length of the span."""
        return self.end - self.start

    def overlaps(self, other: LostSpan) -> bool:
        """True when the two spans share time (or both are the same instant)."""
        return self.start <= other.end and other.start <= self.end


@dataclass
class DecodeDamage:
    """The lost spans of one video (empty when it decoded cleanly).

    A span met again (a second decode of the same region, e.g. after a seek) merges with
    the recorded one instead of counting twice.

    Attributes:
        path: The video file.
        duration: Its declared duration in seconds (the denominator of :attr:`lost_fraction`).
        spans: Lost spans in time order.
    """

    path: str
    duration: float
    spans: list[LostSpan] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.spans)

    def add(self, span: LostSpan) -> bool:
        """Record a span; returns False when it only merged into one already recorded."""
        for i, known in enumerate(self.spans):
            if known.overlaps(span):
                self.spans[i] = LostSpan(
                    min(known.start, span.start),
                    max(known.end, span.end),
                    max(known.packets, span.packets),
                    known.reason,
                )
                return False
        self.spans.append(span)
        self.spans.sort(key=lambda s: s.start)
        return True

    @property
    def lost_seconds(self) -> float:
        """Seconds of video lost."""
        return sum(span.seconds for span in self.spans)

    @property
    def lost_packets(self) -> int:
        """Packets not decoded (rejected, or skipped after a rejected one)."""
        return sum(span.packets for span in self.spans)

    @property
    def lost_fraction(self) -> float:
        """Lost seconds over the duration (0 when nothing is lost, at most 1)."""
        if not self.spans:
            return 0.0
        if self.duration <= 0:
            return 1.0
        return min(self.lost_seconds / self.duration, 1.0)

    def describe(self) -> str:
        """One line naming the file, what was lost and where."""
        shown = ", ".join(f"{s.start:.2f}-{s.end:.2f} s" for s in self.spans[:_SHOWN_SPANS])
        more = len(self.spans) - _SHOWN_SPANS
        if more > 0:
            shown += f" and {more} more span{'s' * (more > 1)}"
        return (
            f"{self.path}: lost {self.lost_seconds:.2f} s of {self.duration:.2f} s "
            f"({100 * self.lost_fraction:.2f}%) at {shown}, {self.lost_packets} packets "
            f"undecodable or skipped to the next keyframe ({self.spans[0].reason})"
        )

    def to_json(self) -> str:
        """The record as JSON (kept in a shots table's schema metadata)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DecodeDamage:
        """Read a record :meth:`to_json` wrote."""
        data = json.loads(text)
        spans = [LostSpan(**span) for span in data.pop("spans")]
        return cls(**data, spans=spans)


class LossTracker:
    """Find the frames that undecodable packets took with them.

    Every demuxed packet's timestamp is noted (:meth:`packet`); the decoder returns frames in
    presentation order, so a frame settles every packet older than itself (:meth:`frame`):
    one that never came out (rejected, or :meth:`skipped`) is a lost frame. Losses count
    from a rejected packet (:meth:`rejected`) until :data:`SETTLE_FRAMES` frames have come
    out after the last one, and make one :class:`LostSpan` (``record`` is called with it).
    Frames a decoder drops on purpose far from any error (an edit list's pre-roll, leading
    B frames after a seek) are not losses.

    Args:
        seconds: A packet timestamp (stream time base) to seconds from the stream start.
        frame_duration: Seconds per frame at the nominal rate.
        record: Called with each finished span.
        settle: Frames after the last rejected packet that close a span.
    """

    def __init__(
        self,
        seconds: Callable[[int], float],
        frame_duration: float,
        record: Callable[[LostSpan], object],
        settle: int = SETTLE_FRAMES,
    ) -> None:
        self._seconds, self._frame, self._record, self._settle = (
            seconds, frame_duration, record, settle,
        )  # fmt: skip
        self._pending: list[int] = []  # heap: timestamps of packets not yet out as frames
        self._lost: list[int] = []  # timestamps lost since the span opened
        self._packets = 0  # packets rejected since the span opened
        self._at: float | None = None  # seconds: the first rejected packet (or frame after)
        self._quiet = 0  # frames out since the last rejected packet
        self._last_time: float | None = None
        self.reason: str | None = None  # the first error of the open span, None when closed

    def packet(self, pts: int | None) -> None:
        """Note a packet sent to the decoder."""
        if pts is not None:
            heapq.heappush(self._pending, pts)

    def skipped(self, pts: int | None) -> None:
        """Note a packet not sent to the decoder (after a rejected one, before a keyframe)."""
        self.packet(pts)
        self._packets += 1
        self._quiet = 0

    def rejected(self, reason: str, pts: int | None) -> None:
        """Note a packet the decoder rejected (with frame threading: a few packets late)."""
        if self.reason is None:
            self.reason = reason
            self._at = self._seconds(pts) if pts is not None else None
        self._packets += 1
        self._quiet = 0

    def frame(self, pts: int | None, time: float) -> int:
        """Note a frame that came out; returns how many lost frames lie just before it."""
        gone: list[int] = []
        if pts is not None:
            while self._pending and self._pending[0] < pts:
                gone.append(heapq.heappop(self._pending))
            if self._pending and self._pending[0] == pts:
                heapq.heappop(self._pending)
        self._last_time = time
        if self.reason is None:
            return 0
        self._lost += gone
        self._quiet += 1
        if self._quiet >= self._settle:
            self.finish(end_of_stream=False)
        return len(gone)

    def finish(self, *, end_of_stream: bool = True) -> None:
        """Close the open span (at the end of the stream its unsettled packets are lost)."""
        if self.reason is None:
            return
        lost = self._lost + (self._pending if end_of_stream else [])
        if lost:
            start = self._seconds(min(lost))
            end = self._seconds(max(lost)) + self._frame
        else:  # the decoder concealed the damage: nothing lost, note where it was
            after = 0.0 if self._last_time is None else self._last_time + self._frame
            start = end = self._at if self._at is not None else after
        self._record(LostSpan(start, end, self._packets, self.reason))
        self._lost, self._packets, self._at, self.reason = [], 0, None, None
        if end_of_stream:
            self._pending = []


def check_loss(damage: DecodeDamage, max_lost_fraction: float = MAX_LOST_FRACTION) -> None:
    """Fail a video that lost more than ``max_lost_fraction`` of its duration.

    Raises:
        DamagedVideoError: The lost fraction passes ``max_lost_fraction``.
    """
    if damage.lost_fraction > max_lost_fraction:
        raise DamagedVideoError(
            f"{damage.describe()}: more than the {100 * max_lost_fraction:g}% allowed "
            "(--max-lost-fraction)",
            path=damage.path,
            time=damage.spans[0].start,
        )
