"""A Kinetics-400 stand-in: short single-actor clips of one action each.

The hierarchical-SSL paper pretrains its backbone on Kinetics-400 before (optionally)
the movies; this set plays that role. Its visual domain differs from the movies: a
plain studio wall or a sky-over-grass field, a static camera, one actor (plus a grey
post as the patient of transitive actions), no cuts and no period grade. The actions
are the movies' motion verbs, performed by the same choreography (:mod:`.motion`).

Layout (as Kinetics): ``kinetics/{train,val}.csv`` with the Kinetics columns
``label, youtube_id, time_start, time_end, split`` plus ``path`` (relative to
``kinetics/``), and the clips at ``kinetics/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4``.
"""

from __future__ import annotations

import csv
import string
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from movierep.corpus.encode import write_video
from movierep.corpus.motion import FACING, POSE_SIZE, SCALE, SQUASH, Stage, X, Y, perform
from movierep.corpus.places import paint_plain
from movierep.corpus.sprites import draw_character, draw_smoke_prop
from movierep.corpus.staging import WORLD_SCALE, centres
from movierep.corpus.vocab import COLORS, SHAPES, TRANSITIVE, VERBS

#: Action classes: every motion verb except the two-person ones tied to the movies
#: (talk, embrace, kiss).
ACTIONS: tuple[str, ...] = tuple(v for v in VERBS if v not in {"talk", "embrace", "kiss"})
POST_RGB = (128, 128, 128)
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def _youtube_id(rng: np.random.Generator) -> str:
    return "".join(_ID_CHARS[int(i)] for i in rng.integers(len(_ID_CHARS), size=11))


def action_clip(
    action: str, seconds: int, fps: int, width: int, height: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Yield the frames of one clip: idle, the 2 s action at a random time, idle.

    Returns:
        Iterator of uint8 (H, W, 3) RGB frames (``seconds * fps`` of them).
    """
    world_w, world_h = WORLD_SCALE * width, WORLD_SCALE * height
    background = paint_plain(world_h, world_w, rng, outdoor=bool(rng.random() < 0.5))
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    rgb = list(COLORS.values())[int(rng.integers(len(COLORS)))]
    radius = float(rng.uniform(0.08, 0.12)) * world_h
    transitive = action in TRANSITIVE
    radii = np.array([radius, 0.8 * radius] if transitive else [radius])
    start = np.zeros((len(radii), POSE_SIZE))
    start[:, SCALE] = start[:, SQUASH] = start[:, FACING] = 1.0
    start[:, Y] = rng.uniform(0.78, 0.9) * world_h
    start[0, X] = rng.uniform(0.3, 0.7) * world_w
    start[0, FACING] = 1 if rng.random() < 0.5 else -1
    if transitive:
        start[1, X] = start[0, X] + start[0, FACING] * rng.uniform(0.18, 0.3) * world_w
    stage = Stage(world_w, world_h, radii)
    stage.clamp(start[None])
    total, act = seconds * fps, 2 * fps
    lead = int(rng.integers(0, total - act + 1))
    poses, _ = perform(action, start, stage, 0, 1 if transitive else None, act, rng)
    track = np.concatenate(
        [np.repeat(poses[:1], lead, 0), poses, np.repeat(poses[-1:], total - act - lead, 0)]
    )
    zoom = float(rng.uniform(1.4, 1.8))
    s = width * zoom / world_w
    cx = float(np.clip(start[:, X].mean(), world_w / zoom / 2, world_w - world_w / zoom / 2))
    cy = world_h - world_h / zoom / 2
    matrix = np.array(
        [[s, 0, -(cx - world_w / zoom / 2) * s], [0, s, -(cy - world_h / zoom / 2) * s]]
    )
    for t, pose in enumerate(track):
        canvas = background.copy()
        xs, ys = centres(pose, radii)
        if transitive:
            draw_character(canvas, "square", POST_RGB, pose[1], radii[1], (xs[1], ys[1]))
        draw_character(canvas, shape, rgb, pose[0], radii[0], (xs[0], ys[0]))
        if action == "smoke" and lead <= t < lead + act:
            draw_smoke_prop(canvas, pose[0], radii[0], (xs[0], ys[0]), (t - lead) / act)
        yield cv2.warpAffine(canvas, matrix, (width, height), flags=cv2.INTER_LINEAR)


def make_kinetics(
    root: Path,
    per_class: dict[str, int],
    seconds: int,
    fps: int,
    width: int,
    height: int,
    seed: int,
    crf: int = 20,
) -> int:
    """Write the action-clip set under ``root`` (see the module docstring).

    Args:
        root: the ``kinetics/`` folder.
        per_class: clips per class for each split, e.g. ``{"train": 3, "val": 1}``.
        seconds: clip length in seconds.
        fps: frame rate.
        width: frame width.
        height: frame height.
        seed: the corpus seed (each clip has its own stream).
        crf: libx264 quality.

    Returns:
        The number of clips written.
    """
    count = 0
    for split_index, (split, n) in enumerate(per_class.items()):
        rows = []
        for class_index, action in enumerate(ACTIONS):
            for k in range(n):
                rng = np.random.default_rng([seed, 101, split_index, class_index, k])
                vid = _youtube_id(rng)
                rel = f"{action}/{vid}_{0:06d}_{seconds:06d}.mp4"
                frames = action_clip(action, seconds, fps, width, height, rng)
                write_video(root / rel, frames, fps, width, height, crf)
                rows.append([action, vid, 0, seconds, split, rel])
                count += 1
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split", "path"])
            writer.writerows(rows)
    return count
