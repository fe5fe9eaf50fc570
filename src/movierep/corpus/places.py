"""Procedural places: each place class is a recognisable layout, texture and palette.

A place is drawn once per scene into a world-sized canvas (the camera later crops and
scales it). Its identity lies in the layout (horizon height, windows, shelves, bars,
tiles, trees, waves) more than in its colours, which the movie's :class:`Palette`
rotates; positions and counts of the furniture vary per scene, and a fine noise texture
keeps any region from being one flat colour.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from movierep.corpus.world import Palette

RGB = tuple[int, int, int]


class Painter:
    """Draws on a float32 (H, W, 3) canvas with coordinates given as fractions of W and H."""

    def __init__(self, height: int, width: int, palette: Palette, rng: np.random.Generator):
        self.canvas = np.zeros((height, width, 3), dtype=np.float32)
        self.h, self.w = height, width
        self.palette = palette
        self.rng = rng

    def _y(self, f: float) -> int:
        return round(float(np.clip(f, 0.0, 1.0)) * self.h)

    def _x(self, f: float) -> int:
        return round(float(np.clip(f, 0.0, 1.0)) * self.w)

    def gradient(self, y0: float, y1: float, top: RGB, bottom: RGB) -> None:
        """Vertical gradient between rows ``y0`` and ``y1``."""
        a, b = self._y(y0), self._y(y1)
        if b <= a:
            return
        t = np.linspace(0.0, 1.0, b - a, dtype=np.float32)[:, None, None]
        self.canvas[a:b] = (1 - t) * self.palette(top) + t * self.palette(bottom)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: RGB) -> None:
        """Filled rectangle."""
        self.canvas[self._y(y0) : self._y(y1), self._x(x0) : self._x(x1)] = self.palette(color)

    def checker(self, y0: float, y1: float, tile: float, c0: RGB, c1: RGB) -> None:
        """Checkerboard floor of square tiles (``tile`` as a fraction of W)."""
        a, b = self._y(y0), self._y(y1)
        size = max(2, int(tile * self.w))
        yy, xx = np.mgrid[a:b, 0 : self.w]
        mask = ((yy // size + xx // size) % 2).astype(bool)
        region = self.canvas[a:b]
        region[:] = self.palette(c0)
        region[mask] = self.palette(c1)

    def stripes(
        self, x0: float, y0: float, x1: float, y1: float, period: float, c: RGB, vertical: bool
    ) -> None:
        """Stripes of colour ``c`` (half of each ``period``, a fraction of W or H)."""
        a, b, c0, c1 = self._y(y0), self._y(y1), self._x(x0), self._x(x1)
        n = self.w if vertical else self.h
        step = max(2, int(period * n))
        idx = np.arange(c0, c1) if vertical else np.arange(a, b)
        on = (idx // max(1, step // 2)) % 2 == 0
        region = self.canvas[a:b, c0:c1]
        if vertical:
            region[:, on] = self.palette(c)
        else:
            region[on] = self.palette(c)

    def circle(self, x: float, y: float, r: float, color: RGB) -> None:
        """Filled disc (``r`` as a fraction of H)."""
        col = tuple(float(v) for v in self.palette(color))
        cv2.circle(self.canvas, (self._x(x), self._y(y)), max(1, int(r * self.h)), col, -1)

    def polygon(self, points: list[tuple[float, float]], color: RGB) -> None:
        """Filled polygon with vertices in fractions."""
        pts = np.array([[px * self.w, py * self.h] for px, py in points], dtype=np.int32)
        cv2.fillPoly(self.canvas, [pts], tuple(float(v) for v in self.palette(color)))

    def texture(self, amount: float) -> None:
        """Add fine noise (film-set grain) of standard deviation ``amount`` (0..255 scale)."""
        self.canvas += self.rng.normal(0.0, amount, self.canvas.shape).astype(np.float32)

    def u(self, lo: float, hi: float) -> float:
        """A uniform random number (layout jitter)."""
        return float(self.rng.uniform(lo, hi))


def _office(p: Painter) -> None:
    p.gradient(0, 0.62, (190, 190, 175), (160, 160, 150))
    for i in range(3):
        x = 0.08 + i * 0.3 + p.u(-0.03, 0.03)
        p.rect(x, 0.12, x + 0.2, 0.38, (120, 170, 220))
        p.rect(x + 0.095, 0.12, x + 0.105, 0.38, (90, 90, 90))
    p.checker(0.62, 1.0, 0.08, (110, 110, 120), (95, 95, 105))
    for x in (p.u(0.05, 0.2), p.u(0.6, 0.75)):
        p.rect(x, 0.52, x + 0.22, 0.58, (120, 80, 50))
        p.rect(x + 0.02, 0.58, x + 0.04, 0.72, (80, 55, 35))
        p.rect(x + 0.18, 0.58, x + 0.2, 0.72, (80, 55, 35))


def _airport(p: Painter) -> None:
    p.gradient(0, 0.55, (150, 200, 240), (210, 230, 245))
    p.stripes(0, 0.0, 1, 0.55, 0.12, (80, 90, 100), vertical=True)
    p.rect(0, 0.35, 1, 0.4, (200, 200, 205))
    p.polygon([(0.55, 0.2), (0.8, 0.17), (0.85, 0.2), (0.8, 0.22)], (235, 235, 240))
    p.gradient(0.55, 1.0, (170, 170, 170), (120, 120, 125))
    p.stripes(0, 0.8, 1, 0.84, 0.1, (230, 200, 40), vertical=True)


def _school(p: Painter) -> None:
    p.gradient(0, 0.65, (215, 200, 160), (200, 185, 150))
    x = p.u(0.2, 0.45)
    p.rect(x - 0.02, 0.1, x + 0.42, 0.42, (120, 90, 50))
    p.rect(x, 0.12, x + 0.4, 0.4, (40, 80, 60))
    p.gradient(0.65, 1.0, (170, 120, 70), (140, 95, 55))
    for i in range(4):
        xx = 0.05 + 0.25 * i + p.u(-0.02, 0.02)
        p.rect(xx, 0.68, xx + 0.14, 0.72, (200, 170, 90))


def _hotel(p: Painter) -> None:
    p.gradient(0, 0.6, (150, 40, 50), (120, 30, 40))
    p.stripes(0, 0, 1, 0.6, 0.06, (170, 60, 70), vertical=True)
    for x in (p.u(0.1, 0.2), p.u(0.7, 0.8)):
        p.rect(x, 0.15, x + 0.06, 0.45, (220, 190, 80))
        p.circle(x + 0.03, 0.14, 0.05, (255, 235, 160))
    p.gradient(0.6, 1.0, (90, 30, 35), (60, 20, 25))
    p.rect(0.35, 0.5, 0.65, 0.62, (230, 225, 210))


def _prison(p: Painter) -> None:
    p.gradient(0, 0.7, (120, 125, 125), (100, 105, 105))
    p.stripes(0, 0.02, 1, 0.7, 0.12, (110, 115, 115), vertical=False)
    p.stripes(0, 0.05, 1, 0.68, 0.07, (50, 50, 55), vertical=True)
    p.gradient(0.7, 1.0, (85, 85, 90), (70, 70, 75))
    p.rect(p.u(0.3, 0.5), 0.6, 0.75, 0.66, (90, 90, 95))


def _restaurant(p: Painter) -> None:
    p.gradient(0, 0.55, (230, 200, 150), (200, 160, 110))
    p.stripes(0, 0.3, 1, 0.55, 0.05, (150, 90, 50), vertical=True)
    p.gradient(0.55, 1.0, (120, 70, 40), (90, 50, 30))
    for i in range(3):
        x = 0.1 + 0.3 * i + p.u(-0.03, 0.03)
        p.rect(x, 0.58, x + 0.18, 0.62, (245, 245, 240))
        p.rect(x + 0.08, 0.62, x + 0.1, 0.75, (60, 40, 30))
        p.circle(x + 0.09, 0.08, 0.04, (255, 220, 130))


def _forest(p: Painter) -> None:
    p.gradient(0, 0.6, (120, 160, 150), (70, 100, 80))
    for _ in range(7):
        x = p.u(0, 1)
        p.rect(x - 0.015, 0.2, x + 0.015, 0.65, (70, 50, 35))
        s = p.u(0.08, 0.14)
        p.polygon([(x - s, 0.42), (x + s, 0.42), (x, 0.05)], (40, 95, 50))
    p.gradient(0.6, 1.0, (60, 85, 40), (40, 60, 30))


def _beach(p: Painter) -> None:
    horizon = p.u(0.35, 0.45)
    p.gradient(0, horizon, (120, 180, 235), (200, 225, 240))
    p.circle(p.u(0.6, 0.9), 0.12, 0.07, (255, 240, 180))
    p.gradient(horizon, 0.62, (40, 110, 170), (70, 150, 190))
    p.stripes(0, horizon, 1, 0.62, 0.08, (110, 170, 210), vertical=False)
    p.gradient(0.62, 1.0, (235, 215, 160), (215, 190, 130))


def _street(p: Painter) -> None:
    p.gradient(0, 0.5, (160, 170, 190), (200, 200, 205))
    x = 0.0
    while x < 1.0:
        w = p.u(0.12, 0.22)
        top = p.u(0.05, 0.3)
        p.rect(x, top, x + w - 0.01, 0.6, (150, 110, 90))
        p.stripes(x + 0.02, top + 0.05, x + w - 0.03, 0.55, 0.1, (230, 220, 140), vertical=False)
        x += w
    p.gradient(0.6, 1.0, (70, 70, 75), (50, 50, 55))
    p.stripes(0, 0.78, 1, 0.8, 0.15, (235, 235, 235), vertical=True)


def _kitchen(p: Painter) -> None:
    p.gradient(0, 0.6, (235, 235, 225), (215, 215, 205))
    p.checker(0.25, 0.45, 0.04, (240, 240, 240), (170, 210, 200))
    p.rect(0, 0.45, 1, 0.6, (200, 160, 110))
    for i in range(4):
        x = 0.05 + 0.24 * i
        p.rect(x, 0.02, x + 0.2, 0.2, (190, 150, 100))
    p.checker(0.6, 1.0, 0.1, (200, 50, 50), (235, 235, 235))


def _library(p: Painter) -> None:
    p.gradient(0, 0.65, (100, 70, 45), (80, 55, 35))
    for row in range(4):
        y = 0.05 + 0.15 * row
        p.rect(0, y + 0.12, 1, y + 0.14, (60, 40, 25))
        x = 0.0
        while x < 1.0:
            w = p.u(0.015, 0.035)
            shade = int(p.u(60, 200))
            p.rect(x, y + p.u(0.0, 0.04), x + w, y + 0.12, (shade, 90, 200 - shade // 2))
            x += w + 0.004
    p.gradient(0.65, 1.0, (120, 40, 40), (90, 30, 30))


def _hospital(p: Painter) -> None:
    p.gradient(0, 0.62, (225, 240, 240), (200, 225, 225))
    p.rect(0, 0.3, 1, 0.33, (120, 200, 190))
    x = p.u(0.5, 0.7)
    p.rect(x, 0.45, x + 0.3, 0.55, (245, 245, 250))
    p.rect(x, 0.55, x + 0.02, 0.7, (150, 150, 160))
    p.rect(x + 0.28, 0.55, x + 0.3, 0.7, (150, 150, 160))
    p.rect(0.15, 0.1, 0.19, 0.22, (220, 40, 40))
    p.rect(0.11, 0.14, 0.23, 0.18, (220, 40, 40))
    p.checker(0.62, 1.0, 0.12, (210, 220, 220), (190, 200, 205))


def _church(p: Painter) -> None:
    p.gradient(0, 0.68, (90, 80, 90), (60, 55, 65))
    for x in (0.2, 0.5, 0.8):
        p.rect(x - 0.05, 0.12, x + 0.05, 0.45, (150, 60, 160))
        p.circle(x, 0.12, 0.09, (200, 170, 60))
        p.stripes(x - 0.05, 0.12, x + 0.05, 0.45, 0.03, (60, 120, 200), vertical=True)
    p.gradient(0.68, 1.0, (80, 65, 55), (60, 50, 40))
    for i in range(3):  # rows of pews
        y = 0.74 + 0.08 * i
        p.rect(0.05, y, 0.95, y + 0.025, (90, 60, 40))


def _warehouse(p: Painter) -> None:
    p.gradient(0, 0.7, (110, 105, 95), (90, 85, 80))
    p.stripes(0, 0, 1, 0.7, 0.05, (100, 95, 88), vertical=True)
    p.stripes(0, 0.0, 1, 0.1, 0.25, (60, 60, 60), vertical=True)
    for _ in range(4):
        x, s = p.u(0, 0.9), p.u(0.08, 0.15)
        y = 0.72 - s * 1.6
        p.rect(x, y, x + s, 0.72, (170, 130, 80))
        p.rect(x, y + 0.02, x + s, y + 0.03, (120, 90, 60))
    p.gradient(0.7, 1.0, (100, 100, 100), (80, 80, 80))


def _park(p: Painter) -> None:
    p.gradient(0, 0.5, (140, 200, 240), (210, 235, 245))
    for _ in range(4):
        x = p.u(0, 1)
        p.rect(x - 0.01, 0.3, x + 0.01, 0.55, (90, 60, 40))
        p.circle(x, 0.28, p.u(0.1, 0.16), (70, 150, 60))
    p.gradient(0.5, 1.0, (110, 180, 80), (80, 150, 60))
    p.polygon([(0.4, 1.0), (0.6, 1.0), (0.52, 0.5), (0.48, 0.5)], (200, 180, 140))


def _spaceship(p: Painter) -> None:
    p.gradient(0, 0.65, (30, 35, 55), (50, 60, 85))
    x = p.u(0.25, 0.45)
    p.rect(x, 0.1, x + 0.3, 0.4, (5, 5, 20))
    for _ in range(12):
        p.circle(x + p.u(0.01, 0.29), p.u(0.11, 0.39), 0.008, (240, 240, 255))
    p.stripes(0, 0.45, 1, 0.5, 0.04, (60, 220, 230), vertical=True)
    p.checker(0.65, 1.0, 0.06, (70, 75, 95), (55, 60, 80))


PLACE_PAINTERS: dict[str, Callable[[Painter], None]] = {
    "office": _office,
    "airport": _airport,
    "school": _school,
    "hotel": _hotel,
    "prison": _prison,
    "restaurant": _restaurant,
    "forest": _forest,
    "beach": _beach,
    "street": _street,
    "kitchen": _kitchen,
    "library": _library,
    "hospital": _hospital,
    "church": _church,
    "warehouse": _warehouse,
    "park": _park,
    "spaceship": _spaceship,
}


def paint_place(
    place: str, height: int, width: int, palette: Palette, rng: np.random.Generator
) -> np.ndarray:
    """Draw one scene's setting.

    Args:
        place: a class of :data:`PLACES`.
        height: world height in pixels.
        width: world width in pixels.
        palette: the scene's colour transform.
        rng: layout and texture randomness.

    Returns:
        (H, W, 3) uint8 RGB background.
    """
    painter = Painter(height, width, palette, rng)
    PLACE_PAINTERS[place](painter)
    painter.texture(4.0)
    return np.clip(painter.canvas, 0, 255).astype(np.uint8)


def paint_plain(height: int, width: int, rng: np.random.Generator, *, outdoor: bool) -> np.ndarray:
    """A Kinetics-style backdrop: a plain studio wall or a sky-over-grass field.

    Returns:
        (H, W, 3) uint8 RGB background.
    """
    painter = Painter(height, width, Palette(hue=float(rng.uniform(0, 360))), rng)
    if outdoor:
        horizon = painter.u(0.4, 0.6)
        painter.palette = Palette()
        painter.gradient(0, horizon, (150, 195, 235), (215, 230, 240))
        painter.palette = Palette(hue=float(rng.uniform(-30, 30)))
        painter.gradient(horizon, 1.0, (120, 170, 90), (90, 140, 70))
    else:
        level = painter.u(120, 230)
        painter.gradient(0, 1.0, (int(level), int(level * 0.8), int(level * 0.6)), (60, 60, 60))
    painter.texture(2.0)
    return np.clip(painter.canvas, 0, 255).astype(np.uint8)
