"""The persistent things of a movie: its characters (cast) and its colour palette.

A character's identity is shape x colour x size; it persists through the whole movie and
its role text (``"the small red square"``) is what the semantic-role labels say. A
franchise's leads return in each instalment (:mod:`.franchise`). Palettes
are rotated and scaled per movie (genre hue, saturation, brightness plus jitter), so the
same place looks different from movie to movie but stays recognisable by its layout.
"""

from __future__ import annotations

import colorsys
import dataclasses
from dataclasses import dataclass

import numpy as np

from movierep.corpus.vocab import COLORS, SHAPES, SIZES


@dataclass(frozen=True)
class Character:
    """One member of a movie's cast.

    Attributes:
        character_id: ``c0``, ``c1``, ... (``c0`` and ``c1`` are the leads).
        shape: one of :data:`SHAPES`.
        color: one of :data:`COLORS`.
        size: one of :data:`SIZES`.
    """

    character_id: str
    shape: str
    color: str
    size: str

    @property
    def description(self) -> str:
        """Role text, e.g. ``"the small red square"``."""
        return f"the {self.size} {self.color} {self.shape}"

    @property
    def radius(self) -> float:
        """Radius as a fraction of the world height."""
        return SIZES[self.size]

    @property
    def rgb(self) -> tuple[int, int, int]:
        """Fill colour."""
        return COLORS[self.color]


def sample_cast(
    size: int, rng: np.random.Generator, leads: tuple[Character, ...] = ()
) -> list[Character]:
    """Draw ``size`` characters with pairwise different shapes and colours.

    ``leads`` (a franchise's ``c0``, ``c1``) open the cast as they are; the others are
    drawn with shapes and colours that none of the leads has.
    """
    taken_shapes, taken_colors = {c.shape for c in leads}, {c.color for c in leads}
    shapes = [s for s in rng.permutation(len(SHAPES)) if SHAPES[s] not in taken_shapes]
    colors = [c for c in rng.permutation(len(COLORS)) if list(COLORS)[c] not in taken_colors]
    sizes = list(SIZES)
    cast = [dataclasses.replace(c, character_id=f"c{i}") for i, c in enumerate(leads)]
    for s, c in zip(shapes[: size - len(cast)], colors[: size - len(cast)], strict=True):
        cast.append(
            Character(
                character_id=f"c{len(cast)}",
                shape=SHAPES[int(s)],
                color=list(COLORS)[int(c)],
                size=sizes[int(rng.integers(len(sizes)))],
            )
        )
    return cast


@dataclass(frozen=True)
class Palette:
    """A colour transform applied to every background colour of a movie (or a scene).

    Attributes:
        hue: rotation in degrees.
        saturation: multiplies HSV saturation.
        brightness: multiplies HSV value.
    """

    hue: float = 0.0
    saturation: float = 1.0
    brightness: float = 1.0

    def __call__(self, rgb: tuple[int, int, int]) -> np.ndarray:
        """Transform one colour; returns a float32 RGB triple in 0..255."""
        h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
        h = (h + self.hue / 360.0) % 1.0
        s = min(1.0, s * self.saturation)
        v = min(1.0, v * self.brightness)
        return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * 255.0

    def jitter(self, rng: np.random.Generator, amount: float = 1.0) -> Palette:
        """A nearby palette (per scene variation)."""
        return Palette(
            hue=self.hue + rng.normal(0.0, 8.0 * amount),
            saturation=self.saturation * float(np.exp(rng.normal(0.0, 0.1 * amount))),
            brightness=self.brightness * float(np.exp(rng.normal(0.0, 0.08 * amount))),
        )
