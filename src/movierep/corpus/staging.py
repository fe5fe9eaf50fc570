"""Where everything is at every frame: character poses, camera windows and boxes.

The staging is computed from the script alone (no pixels), so the ground truth (boxes,
arg directions) and the renderer read the same numbers. The world is a canvas twice the
frame size; a camera shows a window of it (``zoom`` = world width / window width),
scaled to the frame by an affine map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movierep.corpus.motion import (
    ANGLE,
    FACING,
    POSE_SIZE,
    SCALE,
    SQUASH,
    Stage,
    X,
    Y,
    perform,
)
from movierep.corpus.script import MovieScript, Shot

WORLD_SCALE = 2  # world canvas size / frame size
OUTLINE = 1.0  # outline thickness of a sprite, world pixels (sprites.draw_character)
CAMERA_MARGIN = 0.08  # free border around the action, fraction of the visible size
CAMERA_SMOOTH_FRAMES = 15  # running filters of the operator's reframing (0.6 s at 25 fps)


@dataclass(frozen=True)
class Staging:
    """Poses of a movie's characters and camera windows of its shots.

    Attributes:
        width, height: world canvas size in pixels.
        frame_width, frame_height: output frame size.
        radii: (cast,) radius of each character at scale 1, world pixels.
        poses: per scene, (T_scene, C_scene, 6) poses of the scene's characters (in the
            order of ``Scene.characters``).
        directions: per event, the travel direction (+1 right, -1 left, 0 none).
    """

    width: int
    height: int
    frame_width: int
    frame_height: int
    radii: np.ndarray
    poses: list[np.ndarray]
    directions: list[int]


def choreograph(
    script: MovieScript, frame_width: int, frame_height: int, rng: np.random.Generator
) -> Staging:
    """Play every event of every scene in order (poses carry over inside a scene)."""
    width, height = WORLD_SCALE * frame_width, WORLD_SCALE * frame_height
    radii = np.array([c.radius * height for c in script.cast], dtype=np.float64)
    poses, directions = [], []
    for scene in script.scenes:
        members = list(scene.characters)
        stage = Stage(width, height, radii[members])
        pose = np.zeros((len(members), POSE_SIZE))
        pose[:, X] = np.array(scene.start_x) * width
        pose[:, Y] = np.array(scene.start_y) * height
        pose[:, SCALE] = pose[:, SQUASH] = 1.0
        pose[:, FACING] = np.where(pose[:, X] < width / 2, 1.0, -1.0)
        tracks = []
        for event in script.events[scene.start_event : scene.start_event + scene.num_events]:
            patient = members.index(event.patient) if event.patient is not None else None
            track, direction = perform(
                event.verb,
                pose,
                stage,
                members.index(event.agent),
                patient,
                script.frames_per_event,
                rng,
                scene.way_speaking,
            )
            tracks.append(track)
            directions.append(direction)
            pose = track[-1].astype(np.float64)
        poses.append(np.concatenate(tracks))
    return Staging(width, height, frame_width, frame_height, radii, poses, directions)


def half_extents(poses: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half width and half height of each character's rotated bounding box.

    Args:
        poses: (..., C, 6) poses.
        radii: (C,) radii at scale 1.

    Returns:
        Two (..., C) arrays: hw = |cos θ|·r + |sin θ|·r·squash, hh = |sin θ|·r + |cos θ|·r·squash.
    """
    r = radii * poses[..., SCALE]
    c, s = np.abs(np.cos(poses[..., ANGLE])), np.abs(np.sin(poses[..., ANGLE]))
    return c * r + s * r * poses[..., SQUASH], s * r + c * r * poses[..., SQUASH]


def centres(poses: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre of each character (its ground-contact point raised by the half height)."""
    _, hh = half_extents(poses, radii)
    return poses[..., X], poses[..., Y] - hh


def camera_windows(shot: Shot, script: MovieScript, staging: Staging) -> np.ndarray:
    """The camera window of every frame of a shot.

    The plan (framing zoom, subject, follow, pan, zoom drift, handheld shake) is filmed
    as written, then the operator keeps the action in frame: at every frame the window
    holds the agent and patient of the event being played, over the whole event, with a
    margin (:func:`keep_in_frame`), zooming out when they do not fit. A close shot of a
    character therefore never loses the one who acts, and the camera does not cancel
    the action by tracking it frame by frame.

    Returns:
        (T_shot, 3) rows ``(cx, cy, zoom)``: window centre in world pixels and zoom.
    """
    cam, scene = shot.camera, script.scenes[shot.scene_index]
    fps = script.fps
    start = shot.start_frame - scene.start_event * script.frames_per_event
    n = shot.end_frame - shot.start_frame
    seconds = np.arange(n) / fps
    zoom = np.clip(cam.zoom * np.exp(cam.zoom_rate * seconds), 1.0, 3.5)
    vis_w = staging.width / zoom
    cx = np.full(n, staging.width / 2 + cam.offset * vis_w[0])
    cy = np.full(n, staging.height / 2)
    if cam.subject is not None:
        k = scene.characters.index(cam.subject)
        poses = staging.poses[shot.scene_index][start : start + n, k : k + 1]
        sx, sy = centres(poses, staging.radii[[cam.subject]])
        sx, sy = sx[:, 0], sy[:, 0]
        cx = sx[0] + cam.offset * vis_w[0] + cam.follow * (sx - sx[0])
        cy = np.full(n, sy[0] - 0.08 * staging.height / zoom[0])
    cx = cx + cam.pan * staging.width * seconds
    if cam.handheld:
        phase = (shot.index * 1.7) % (2 * np.pi)
        wobble = np.sin(2 * np.pi * 0.7 * seconds + phase) + np.sin(2 * np.pi * 1.9 * seconds)
        cx = cx + cam.handheld * vis_w * wobble
        cy = cy + cam.handheld * vis_w * np.cos(2 * np.pi * 1.3 * seconds + phase)
    return keep_in_frame(
        np.stack([cx, cy, zoom], axis=1), action_boxes(shot, script, staging), staging
    )


def action_boxes(shot: Shot, script: MovieScript, staging: Staging) -> np.ndarray:
    """World box around the agent and patient of the event playing at each frame of a shot.

    The box spans the whole event (every frame of it inside the shot), not the frame.

    Returns:
        (T_shot, 4) rows ``x1, y1, x2, y2`` in world pixels (bounding boxes of the
        characters' rotated extents, :func:`half_extents`).
    """
    scene = script.scenes[shot.scene_index]
    fpe = script.frames_per_event
    frames = np.arange(shot.start_frame, shot.end_frame)
    local = frames - scene.start_event * fpe
    poses = staging.poses[shot.scene_index][local]  # (T, C, 6)
    radii = staging.radii[list(scene.characters)]
    hw, hh = half_extents(poses, radii)
    x, y = centres(poses, radii)
    acting = np.zeros(poses.shape[:2], dtype=bool)
    for t, f in enumerate(frames):
        event = script.events[f // fpe]
        acting[t, scene.characters.index(event.agent)] = True
        if event.patient is not None:
            acting[t, scene.characters.index(event.patient)] = True
    inf = np.inf
    boxes = np.stack(
        [
            np.where(acting, x - hw, inf).min(1),
            np.where(acting, y - hh, inf).min(1),
            np.where(acting, x + hw, -inf).max(1),
            np.where(acting, y + hh, -inf).max(1),
        ],
        axis=1,
    )
    # The box of the whole event (as much of it as the shot shows): the camera frames
    # the action once and lets it play, so a jump still rises in the frame and a run
    # still crosses it.
    event_of_frame = frames // fpe
    for e in np.unique(event_of_frame):
        rows = event_of_frame == e
        boxes[rows, :2] = boxes[rows, :2].min(0)
        boxes[rows, 2:] = boxes[rows, 2:].max(0)
    return boxes


def _running(values: np.ndarray, size: int, reduce: str) -> np.ndarray:
    """Centred running min or mean over ``size`` frames (edges use the frames available)."""
    half = size // 2
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    out: np.ndarray = windows.min(1) if reduce == "min" else windows.mean(1)
    return out


def keep_in_frame(
    windows: np.ndarray,
    boxes: np.ndarray,
    staging: Staging,
    margin: float = CAMERA_MARGIN,
    smooth: int = CAMERA_SMOOTH_FRAMES,
) -> np.ndarray:
    """Move and zoom out camera windows so that each frame's box is inside them.

    The largest zoom at which a box fits (with ``margin`` of the visible size on each
    side) is min-filtered then averaged over ``smooth`` frames, so the zoom eases out
    before the action needs it and never exceeds the limit at any frame. The centre is
    smoothed the same way and then clamped into the range that contains the box, and
    finally into the world.

    Args:
        windows: (T, 3) planned ``(cx, cy, zoom)``.
        boxes: (T, 4) world boxes ``x1, y1, x2, y2`` to keep visible.
        staging: world geometry.
        margin: free border, a fraction of the visible width / height.
        smooth: frames of the running filters.

    Returns:
        (T, 3) windows.
    """
    cx, cy, zoom = (windows[:, i].astype(np.float64) for i in range(3))
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    span = 1.0 - 2.0 * margin
    fit = np.minimum(
        staging.width * span / np.maximum(x2 - x1, 1.0),
        staging.height * span / np.maximum(y2 - y1, 1.0),
    )
    limit = _running(_running(np.maximum(fit, 1.0), smooth, "min"), smooth, "mean")
    zoom = np.clip(np.minimum(zoom, limit), 1.0, None)
    vis_w, vis_h = staging.width / zoom, staging.height / zoom
    out = []
    for c, lo_box, hi_box, vis, world in (
        (cx, x1, x2, vis_w, staging.width),
        (cy, y1, y2, vis_h, staging.height),
    ):
        lo = hi_box + margin * vis - vis / 2  # smallest centre that shows the box's far edge
        hi = lo_box - margin * vis + vis / 2
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        c = np.clip(_running(np.clip(c, lo, hi), smooth, "mean"), lo, hi)
        out.append(np.clip(c, vis / 2, world - vis / 2))
    return np.stack([out[0], out[1], zoom], axis=1)


def world_to_frame(window: np.ndarray, staging: Staging) -> np.ndarray:
    """The 2x3 affine map from world pixels to frame pixels for one window (cx, cy, zoom)."""
    cx, cy, zoom = (float(v) for v in window)
    s = staging.frame_width * zoom / staging.width
    left = cx - staging.width / zoom / 2
    top = cy - staging.height / zoom / 2
    return np.array([[s, 0.0, -left * s], [0.0, s, -top * s]], dtype=np.float64)


def shape_extents(
    poses: np.ndarray, radii: np.ndarray, units: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tight world-space boxes of the posed shapes (the polygons the renderer fills).

    A unit point (u, v) is placed as x = u·facing·r·scale, y = v·squash·r·scale, rotated
    by the pose angle ((x, y) -> (x cos θ − y sin θ, x sin θ + y cos θ)) and moved to the
    character's centre; the box spans the extreme points plus half the outline width.

    Args:
        poses: (T, C, 6) poses.
        radii: (C,) radii at scale 1.
        units: C unit polygons (N_c, 2), one per character (:data:`sprites.UNIT_SHAPES`).

    Returns:
        x1, y1, x2, y2: four (T, C) arrays in world pixels.
    """
    cx, cy = centres(poses, radii)
    out = np.zeros((4, *poses.shape[:2]))
    for k, unit in enumerate(units):
        pose = poses[:, k, None, :]  # (T, 1, 6) against (N,) unit points
        r = radii[k] * pose[..., SCALE]
        x = unit[None, :, 0] * pose[..., FACING] * r
        y = unit[None, :, 1] * pose[..., SQUASH] * r
        c, s = np.cos(pose[..., ANGLE]), np.sin(pose[..., ANGLE])
        xr, yr = x * c - y * s, x * s + y * c
        pad = OUTLINE / 2
        out[:, :, k] = [
            cx[:, k] + xr.min(1) - pad,
            cy[:, k] + yr.min(1) - pad,
            cx[:, k] + xr.max(1) + pad,
            cy[:, k] + yr.max(1) + pad,
        ]
    return out[0], out[1], out[2], out[3]


def frame_boxes(
    poses: np.ndarray,
    radii: np.ndarray,
    units: list[np.ndarray],
    windows: np.ndarray,
    staging: Staging,
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of the characters in frame pixels, as a detector would report them.

    The tight box of each drawn shape (:func:`shape_extents`) is mapped by the camera,
    clipped to the frame, and kept when at least 2 px wide and tall and at least a
    quarter of it is inside.

    Args:
        poses: (T, C, 6) poses.
        radii: (C,) radii at scale 1.
        units: C unit polygons, one per character.
        windows: (T, 3) camera windows ``(cx, cy, zoom)``.
        staging: world and frame geometry.

    Returns:
        boxes (T, C, 4) float32 ``x1, y1, x2, y2`` and a (T, C) bool mask of kept boxes.
    """
    x1, y1, x2, y2 = shape_extents(poses, radii, units)
    zoom = windows[:, 2:3]
    s = staging.frame_width * zoom / staging.width
    left = windows[:, 0:1] - staging.width / zoom / 2
    top = windows[:, 1:2] - staging.height / zoom / 2
    # Drawing and warping put pixel centres at integers; boxes use pixel edges (pixel i
    # spans [i, i+1)), hence the half-pixel shift.
    raw = np.stack([(x1 - left) * s, (y1 - top) * s, (x2 - left) * s, (y2 - top) * s], -1) + 0.5
    clipped = raw.copy()
    clipped[..., 0::2] = np.clip(raw[..., 0::2], 0, staging.frame_width)
    clipped[..., 1::2] = np.clip(raw[..., 1::2], 0, staging.frame_height)
    w, h = clipped[..., 2] - clipped[..., 0], clipped[..., 3] - clipped[..., 1]
    area = (raw[..., 2] - raw[..., 0]) * (raw[..., 3] - raw[..., 1])
    keep = (w >= 2) & (h >= 2) & (w * h >= 0.25 * area)
    return clipped.astype(np.float32), keep
