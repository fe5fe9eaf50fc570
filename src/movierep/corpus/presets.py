"""Corpus sizes: one frozen options dataclass and named presets (``tiny``, ``demo``, ``bench``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from movierep.errors import UserError


@dataclass(frozen=True)
class CorpusOptions:
    """Everything that shapes a generated corpus (with the seed, it fixes every byte of it).

    Attributes:
        movies: number of movies.
        minutes: mean movie length in minutes; each movie's length varies by ±25% and is
            a whole number of 2 s events.
        fps: frame rate of every video (integer; an event is ``2 * fps`` frames).
        width: frame width in pixels (even, for yuv420p).
        height: frame height in pixels (even).
        users: simulated viewers in the watch log.
        kinetics_train: action clips per class in ``kinetics/train.csv``.
        kinetics_val: action clips per class in ``kinetics/val.csv``.
        kinetics_seconds: length of one action clip (whole seconds, as in Kinetics file names).
        crf: libx264 constant rate factor (lower is higher quality).
    """

    movies: int = 4
    minutes: float = 0.5
    fps: int = 25
    width: int = 128
    height: int = 72
    users: int = 60
    kinetics_train: int = 3
    kinetics_val: int = 1
    kinetics_seconds: int = 3
    crf: int = 20

    def validate(self) -> CorpusOptions:
        """Return ``self`` or raise :class:`UserError` naming the first bad option."""
        checks = [
            (self.movies >= 1, "--movies must be at least 1"),
            (self.minutes * 60 >= 8, "--minutes must give movies of at least 8 s"),
            (1 <= self.fps <= 120, "--fps must be in 1..120"),
            (self.width >= 32 and self.width % 2 == 0, "--width must be even and >= 32"),
            (self.height >= 32 and self.height % 2 == 0, "--height must be even and >= 32"),
            (self.users >= 1, "users must be at least 1"),
            (self.kinetics_train >= 0 and self.kinetics_val >= 0, "kinetics counts must be >= 0"),
            (self.kinetics_seconds >= 2, "kinetics_seconds must be at least 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"corpus options: {message}")
        return self


#: Named sizes. ``tiny`` builds in seconds for tests; ``demo`` is 120 movies of ~36 s (72
#: minutes of video, a few minutes to build on 2 cores): enough movies for every LVU task
#: to have >= 60 train and >= 20 test videos and for ~3 similar movies per movie, and
#: 928 Kinetics-style clips (58 per class, ~50 s of one core; the movies take ~140 s).
#: ``bench`` is ``demo`` with 4,320 clips (270 per class, ~4 min of one core; ~6.5 min
#: for the whole corpus in one process) for the backbone learning benchmarks.
_DEMO: dict[str, Any] = {
    "movies": 120,
    "minutes": 0.6,
    "users": 400,
    "kinetics_train": 50,
    "kinetics_val": 8,
}
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"movies": 4, "minutes": 0.5, "users": 60, "kinetics_train": 3, "kinetics_val": 1},
    "demo": _DEMO,
    "bench": {**_DEMO, "kinetics_train": 250, "kinetics_val": 20},
}


def resolve_options(preset: str = "tiny", **overrides: Any) -> CorpusOptions:
    """Build options from a preset plus keyword overrides (``None`` values are ignored).

    Raises:
        UserError: unknown preset or option name, or an invalid value.
    """
    if preset not in PRESETS:
        raise UserError(f"corpus preset {preset!r}: unknown (choose from {', '.join(PRESETS)})")
    names = {f.name for f in dataclasses.fields(CorpusOptions)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise UserError(f"corpus options: unknown option(s) {', '.join(unknown)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return CorpusOptions(**values).validate()
