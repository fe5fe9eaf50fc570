"""The Kinetics-400 stand-in: many short action clips, each with its own people and place.

The hierarchical-SSL paper pretrains its backbone on Kinetics-400 before (optionally)
the movies. What Kinetics gives a backbone is many short clips of ever-different people
in ever-different places: the only thing the clips of a class share is the action, so
no appearance can be memorised and motion has to be learnt. This set plays that role
(for supervised and self-supervised backbone pretraining). A clip is planned
(:func:`plan_clip`: no pixels) then rendered (:func:`render_clip`):

- **look**, drawn from the clip's own stream without reading the action: one of the
  movies' place classes (:func:`.places.paint_place`) with a random :class:`.Palette`
  (hue 0-360°, saturation x0.6-1.3, brightness x0.7-1.15) and layout seed; a cast of
  two or (30%) three characters of random shape, colour and size
  (:func:`.world.sample_cast`): the actor, a second character (the patient of a
  transitive verb, a bystander otherwise, so the number of people says nothing about
  the verb) and maybe a second bystander; their positions and facings; a static camera
  of random zoom (1.4-1.8) and centre offset.
- **motion**, drawn from a second stream: the idle lead before the action (everyone
  still in the start pose, whatever the verb), the choreography's own randomness
  (:mod:`.motion`), and with probability 0.3 a second verb played by the same actor
  right after the labelled one (it is cut by the clip's end: with 3 s clips, 0.5-1 s of
  it shows). The label is the first verb, played in full (2 s).

A verb shows only as motion: every character looks the same whatever it does and there
are no props. ``smoke`` is therefore only its own motion (two brief stretches, the
breaths of :func:`.motion.perform`'s ``_smoke``), without the cigarette the movies
draw: the subtlest class of the set.

Layout (as Kinetics): ``kinetics/{train,val}.csv`` with the Kinetics columns
``label, youtube_id, time_start, time_end, split``, then ``path`` (relative to
``kinetics/``) and ``second_label`` (the second verb, empty when none), and the clips at
``kinetics/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4``.

Speed: ~18 clips per CPU-second for 3 s clips at 128x72, 25 fps (measured on the 2-core
dev machine; as fast as the former plain-backdrop clips): the place is painted once per
clip (~3 ms), the cast drawn per frame (a frame that repeats, in the idle lead and
tail, once), and libx264 takes about half of it. ``workers`` processes share the
clips; the output does not depend on their number.
"""

from __future__ import annotations

import csv
import string
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from movierep.corpus.encode import write_video
from movierep.corpus.motion import FACING, POSE_SIZE, SCALE, SQUASH, Stage, X, Y, perform
from movierep.corpus.places import paint_place
from movierep.corpus.sprites import draw_character
from movierep.corpus.staging import WORLD_SCALE, centres
from movierep.corpus.vocab import PLACES, TRANSITIVE, VERBS
from movierep.corpus.world import Character, Palette, sample_cast
from movierep.runlog import progress

#: Action classes: every motion verb except the two-person ones tied to the movies
#: (talk, embrace, kiss).
ACTIONS: tuple[str, ...] = tuple(v for v in VERBS if v not in {"talk", "embrace", "kiss"})
COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split", "path", "second_label")
SECOND_VERB_P = 0.3  # a clip with a second action after the labelled one
THIRD_CHARACTER_P = 0.3  # a clip with a second bystander
_STREAM = 101  # the clips' random stream in the corpus seed sequence
_ID_CHARS = string.ascii_letters + string.digits + "-_"


@dataclass(frozen=True)
class ClipPlan:
    """Everything random about one clip, without pixels (see the module docstring).

    Attributes:
        action: the labelled verb, played in full (2 s).
        second: a verb the actor plays after it (cut by the clip's end), or ``None``.
        place: place class of the background.
        palette: its colour transform.
        layout_seed: seed of the place's layout and texture.
        cast: the actor first, then the second character (patient of a transitive verb,
            else a bystander), then an optional bystander.
        xs: start x of each cast member, a fraction of the world width.
        ys: ground line of each member, a fraction of the world height.
        facings: start facing of each member (+1 right, -1 left).
        zoom: world width / visible width of the static camera.
        pan: camera centre right of the first two characters' middle, in visible widths.
        lift: camera raised from the world's bottom edge, in visible heights.
        lead: idle frames before the action.
        motion_seed: seed of the choreography's randomness.
    """

    action: str
    second: str | None
    place: str
    palette: Palette
    layout_seed: int
    cast: tuple[Character, ...]
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    facings: tuple[int, ...]
    zoom: float
    pan: float
    lift: float
    lead: int
    motion_seed: int


def plan_clip(action: str, rng: np.random.Generator, seconds: int = 3, fps: int = 25) -> ClipPlan:
    """Draw one clip of ``action``: its look (which never reads ``action``), then its motion.

    The look and the motion come from two child streams of ``rng``, so the same ``rng``
    state gives the same place, palette, cast, positions and camera whatever the action.

    Args:
        action: one of :data:`ACTIONS` (any verb of :data:`.vocab.VERBS` plays).
        rng: the clip's random stream.
        seconds: clip length (it bounds the lead and the second verb).
        fps: frame rate.

    Returns:
        The clip's :class:`ClipPlan`.
    """
    look, motion = (np.random.default_rng(int(s)) for s in rng.integers(2**62, size=2))
    place = PLACES[int(look.integers(len(PLACES)))]
    palette = Palette(
        hue=float(look.uniform(0.0, 360.0)),
        saturation=float(look.uniform(0.6, 1.3)),
        brightness=float(look.uniform(0.7, 1.15)),
    )
    layout_seed = int(look.integers(2**31))
    cast = tuple(sample_cast(3 if look.random() < THIRD_CHARACTER_P else 2, look))
    facing = 1 if look.random() < 0.5 else -1
    x0 = float(look.uniform(0.3, 0.7))
    xs = [x0, x0 + facing * float(look.uniform(0.18, 0.3)), float(look.uniform(0.08, 0.92))]
    facings = [facing, -facing, 1 if look.random() < 0.5 else -1]
    ground = float(look.uniform(0.8, 0.88))
    ys = ground + look.uniform(-0.02, 0.02, size=3)
    zoom, pan, lift = (float(look.uniform(*r)) for r in ((1.4, 1.8), (-0.1, 0.1), (0.0, 0.08)))

    total, act, least = seconds * fps, 2 * fps, max(1, fps // 2)
    second = None
    if total - act >= least and motion.random() < SECOND_VERB_P:
        others = [v for v in ACTIONS if v != action]
        second = others[int(motion.integers(len(others)))]
    lead = int(motion.integers(0, total - act - (least if second else 0) + 1))
    n = len(cast)
    return ClipPlan(
        action=action,
        second=second,
        place=place,
        palette=palette,
        layout_seed=layout_seed,
        cast=cast,
        xs=tuple(xs[:n]),
        ys=tuple(float(y) for y in ys[:n]),
        facings=tuple(facings[:n]),
        zoom=zoom,
        pan=pan,
        lift=lift,
        lead=lead,
        motion_seed=int(motion.integers(2**31)),
    )


def clip_poses(plan: ClipPlan, seconds: int, fps: int, width: int, height: int) -> np.ndarray:
    """Poses of every cast member at every frame: idle lead, action, second verb, idle.

    During the lead everyone stands still in the planned start pose, which does not
    depend on the verbs; after the last verb the final pose holds.

    Returns:
        (T, C, 6) float32 poses in world pixels (world = ``WORLD_SCALE`` x the frame).
    """
    world_w, world_h = WORLD_SCALE * width, WORLD_SCALE * height
    radii = np.array([c.radius * world_h for c in plan.cast])
    start = np.zeros((len(radii), POSE_SIZE))
    start[:, SCALE] = start[:, SQUASH] = 1.0
    start[:, X] = np.array(plan.xs) * world_w
    start[:, Y] = np.array(plan.ys) * world_h
    start[:, FACING] = plan.facings
    stage = Stage(world_w, world_h, radii)
    stage.clamp(start[None])
    rng = np.random.default_rng(plan.motion_seed)
    total, act = seconds * fps, 2 * fps
    parts: list[np.ndarray] = []
    for verb in (plan.action, plan.second):
        if verb is None:
            break
        patient = 1 if verb in TRANSITIVE else None
        poses, _ = perform(verb, parts[-1][-1] if parts else start, stage, 0, patient, act, rng)
        parts.append(poses)
    idle = np.repeat(start[None].astype(np.float32), plan.lead, 0)  # the same for every verb
    track = np.concatenate([idle, *parts])[:total]
    return np.concatenate([track, np.repeat(track[-1:], total - len(track), 0)])


def render_clip(
    plan: ClipPlan, seconds: int, fps: int, width: int, height: int
) -> Iterator[np.ndarray]:
    """Yield the frames of a planned clip: the place is painted once, the cast per frame.

    Returns:
        Iterator of uint8 (H, W, 3) RGB frames (``seconds * fps`` of them).
    """
    world_w, world_h = WORLD_SCALE * width, WORLD_SCALE * height
    background = paint_place(
        plan.place, world_h, world_w, plan.palette, np.random.default_rng(plan.layout_seed)
    )
    track = clip_poses(plan, seconds, fps, width, height)
    radii = np.array([c.radius * world_h for c in plan.cast])
    vis_w, vis_h = world_w / plan.zoom, world_h / plan.zoom
    middle = float(np.mean(plan.xs[:2])) * world_w  # of the look, not of the motion
    cx = float(np.clip(middle + plan.pan * vis_w, vis_w / 2, world_w - vis_w / 2))
    cy = float(np.clip(world_h - vis_h / 2 - plan.lift * vis_h, vis_h / 2, world_h - vis_h / 2))
    s = width / vis_w
    matrix = np.array([[s, 0, -(cx - vis_w / 2) * s], [0, s, -(cy - vis_h / 2) * s]])
    frame, previous = background, np.full_like(track[0], np.nan)  # NaN: draw the first
    for pose in track:
        if not np.array_equal(pose, previous):  # the idle lead and tail repeat one frame
            canvas = background.copy()
            xs, ys = centres(pose, radii)
            for k in np.argsort(pose[:, Y], kind="stable"):  # far ones first
                member = plan.cast[k]
                draw_character(canvas, member.shape, member.rgb, pose[k], radii[k], (xs[k], ys[k]))
            frame = cv2.warpAffine(canvas, matrix, (width, height), flags=cv2.INTER_LINEAR)
            previous = pose
        yield frame


def action_clip(
    action: str, seconds: int, fps: int, width: int, height: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Plan and render one clip of ``action`` (:func:`plan_clip`, :func:`render_clip`)."""
    return render_clip(plan_clip(action, rng, seconds, fps), seconds, fps, width, height)


def _youtube_id(rng: np.random.Generator) -> str:
    return "".join(_ID_CHARS[int(i)] for i in rng.integers(len(_ID_CHARS), size=11))


def _make_clip(
    job: tuple[str, int, int, int],
    root: Path,
    seconds: int,
    fps: int,
    width: int,
    height: int,
    seed: int,
    crf: int,
) -> list[str | int]:
    """Plan, render and encode clip ``k`` of class ``class_index``; return its CSV row."""
    split, split_index, class_index, k = job
    action = ACTIONS[class_index]
    rng = np.random.default_rng([seed, _STREAM, split_index, class_index, k])
    vid = _youtube_id(rng)
    plan = plan_clip(action, rng, seconds, fps)
    rel = f"{action}/{vid}_{0:06d}_{seconds:06d}.mp4"
    write_video(root / rel, render_clip(plan, seconds, fps, width, height), fps, width, height, crf)
    return [action, vid, 0, seconds, split, rel, plan.second or ""]


def _run_clips(
    make: Callable[[tuple[str, int, int, int]], list[str | int]],
    jobs: list[tuple[str, int, int, int]],
    workers: int,
) -> Iterator[list[str | int]]:
    """Yield ``make(job)`` in job order, from ``workers`` processes."""
    if workers == 1:
        yield from map(make, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(make, jobs, chunksize=max(1, min(16, len(jobs) // (8 * workers))))


def make_kinetics(
    root: Path,
    per_class: dict[str, int],
    seconds: int,
    fps: int,
    width: int,
    height: int,
    seed: int,
    crf: int = 20,
    workers: int = 1,
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
        workers: processes rendering clips (the output does not depend on it).

    Returns:
        The number of clips written.
    """
    jobs = [
        (split, split_index, class_index, k)
        for split_index, (split, n) in enumerate(per_class.items())
        for class_index in range(len(ACTIONS))
        for k in range(n)
    ]
    make = partial(_make_clip, root=root, seconds=seconds, fps=fps, width=width,
                   height=height, seed=seed, crf=crf)  # fmt: skip
    rows: dict[str, list[list[str | int]]] = {split: [] for split in per_class}
    for row in progress(_run_clips(make, jobs, workers), desc="kinetics", total=len(jobs)):
        rows[str(row[4])].append(row)
    root.mkdir(parents=True, exist_ok=True)
    for split, split_rows in rows.items():
        with open(root / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(split_rows)
    return len(jobs)
