"""Character sprites: a filled shape with an outline and an eye that shows its facing.

Shapes are unit polygons (radius 1) posed by scale, squash, rotation and facing, and
filled with sub-pixel accuracy (``cv2.fillPoly`` with a fixed-point ``shift``). The eye
is what makes a spin or a turn visible; it never changes with the verb.
"""

from __future__ import annotations

import cv2
import numpy as np

from movierep.corpus.motion import ANGLE, FACING, SCALE, SQUASH

SHIFT = 4  # fixed-point bits for sub-pixel polygon vertices
_ONE = 1 << SHIFT


def _regular(n: int, phase: float = -np.pi / 2) -> np.ndarray:
    t = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _star() -> np.ndarray:
    t = -np.pi / 2 + np.pi * np.arange(10) / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, 0.5)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _cross() -> np.ndarray:
    a, b = 0.35, 1.0
    return np.array(
        [[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b], [-a, a],
         [-b, a], [-b, -a], [-a, -a]]
    )  # fmt: skip


UNIT_SHAPES: dict[str, np.ndarray] = {
    "circle": _regular(20),
    "square": np.array([[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]]),
    "triangle": np.array([[0.0, -1.0], [0.95, 0.8], [-0.95, 0.8]]),
    "diamond": np.array([[0.0, -1.0], [0.8, 0.0], [0.0, 1.0], [-0.8, 0.0]]),
    "pentagon": _regular(5),
    "hexagon": _regular(6),
    "star": _star(),
    "cross": _cross(),
}
EYE = np.array([0.25, -0.2])  # off-centre, inside every shape: it shows turns and spins


def pose_points(
    unit: np.ndarray, pose: np.ndarray, radius: float, cx: float, cy: float
) -> np.ndarray:
    """Place unit-shape points (N, 2) by a pose, at centre (cx, cy). Returns (N, 2) pixels."""
    pts = unit * np.array([pose[FACING], pose[SQUASH]]) * radius * pose[SCALE]
    c, s = np.cos(pose[ANGLE]), np.sin(pose[ANGLE])
    rotated = pts @ np.array([[c, s], [-s, c]])
    return np.asarray(rotated + np.array([cx, cy]))


def draw_character(
    canvas: np.ndarray,
    shape: str,
    rgb: tuple[int, int, int],
    pose: np.ndarray,
    radius: float,
    centre: tuple[float, float],
) -> None:
    """Draw one posed character on a uint8 (H, W, 3) canvas, in place."""
    pts = pose_points(UNIT_SHAPES[shape], pose, radius, *centre)
    fixed = np.round(pts * _ONE).astype(np.int32)
    dark = tuple(int(v * 0.45) for v in rgb)
    cv2.fillPoly(canvas, [fixed], rgb, lineType=cv2.LINE_AA, shift=SHIFT)
    cv2.polylines(canvas, [fixed], True, dark, 1, lineType=cv2.LINE_AA, shift=SHIFT)
    eye = pose_points(EYE[None], pose, radius, *centre)[0]
    size = max(1.0, 0.15 * radius * float(pose[SCALE]))
    cv2.circle(
        canvas,
        (round(eye[0] * _ONE), round(eye[1] * _ONE)),
        round(size * _ONE),
        (20, 20, 20),
        -1,
        lineType=cv2.LINE_AA,
        shift=SHIFT,
    )


def draw_smoke_prop(
    canvas: np.ndarray, pose: np.ndarray, radius: float, centre: tuple[float, float], u: float
) -> None:
    """The ``smoke`` prop at time ``u`` of the event: a white stick lifted twice, grey puffs.

    Args:
        canvas: uint8 (H, W, 3) world canvas, drawn in place.
        pose: the smoker's pose (6,).
        radius: the smoker's radius at scale 1.
        centre: the smoker's centre.
        u: normalised time in the 2 s event, [0, 1).
    """
    r = radius * float(pose[SCALE])
    lift = 0.5 - 0.5 * np.cos(2 * np.pi * 2 * u)  # two lifts to the mouth
    x = centre[0] + float(pose[FACING]) * 0.9 * r
    y = centre[1] + r * (0.4 - 0.8 * lift)
    w, h = max(1.0, 0.5 * r), max(1.0, 0.15 * r)
    top_left, bottom_right = (int(x - w / 2), int(y - h / 2)), (int(x + w / 2), int(y + h / 2))
    cv2.rectangle(canvas, top_left, bottom_right, (245, 245, 235), -1)
    puff = max(0.0, u - 0.4) * 1.5
    if puff > 0.05:
        puff_centre = (int(x), int(y - r * (0.6 + puff)))
        cv2.circle(canvas, puff_centre, max(1, int(r * 0.35 * puff)), (170, 170, 170), -1)
