"""Frames of a movie, one at a time: backgrounds, sprites, camera, transitions and grade.

Frame ``t`` is a pure function of the script and staging, so the renderer streams: it
keeps only the backgrounds and camera windows of the shots around ``t`` (memory does
not grow with the movie's length). Per frame it copies the scene's world canvas, draws
the characters (far ones first), maps the camera window to the frame with one affine
warp, blends dissolves and fades, and applies the year's visual grade (saturation,
sepia tint, contrast, film grain).
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from movierep.corpus.motion import Y
from movierep.corpus.places import paint_place
from movierep.corpus.script import MovieScript
from movierep.corpus.sprites import draw_character, draw_smoke_prop
from movierep.corpus.staging import (
    Staging,
    camera_windows,
    centres,
    world_to_frame,
)
from movierep.corpus.vocab import DECADES

#: Per decade (1930s .. 2010s): saturation, contrast, grain amplitude, sepia strength.
GRADES: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.85, 14.0, 0.6),
    (0.1, 0.9, 12.0, 0.4),
    (0.45, 0.95, 9.0, 0.25),
    (0.7, 1.0, 7.0, 0.1),
    (0.85, 1.05, 5.0, 0.05),
    (0.95, 1.05, 4.0, 0.0),
    (1.0, 1.1, 3.0, 0.0),
    (1.05, 1.1, 2.0, 0.0),
    (1.1, 1.15, 1.0, 0.0),
)
SEPIA = np.array([1.12, 0.98, 0.78], dtype=np.float32)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class VisualGrade:
    """The look of a decade: f(x) = tint ⊙ (contrast·(g + sat·(x − g) − 128) + 128) + grain.

    g = luma(x). Saturation, contrast and tint are linear in x, so they fold into one
    3x4 colour matrix applied with ``cv2.transform``; 8 grain frames are cycled.

    Args:
        decade: start year of the decade.
        height: frame height.
        width: frame width.
        rng: grain randomness.
    """

    def __init__(self, decade: int, height: int, width: int, rng: np.random.Generator):
        sat, contrast, grain, sepia = GRADES[DECADES.index(decade)]
        tint = (1 - sepia) + sepia * SEPIA
        mix = sat * np.eye(3) + (1 - sat) * np.ones((3, 1)) * LUMA[None, :]  # rows: out channel
        matrix = contrast * tint[:, None] * mix
        offset = tint * 128.0 * (1 - contrast)
        self.matrix = np.concatenate([matrix, offset[:, None]], axis=1).astype(np.float32)
        noise = rng.standard_normal((8, height, width, 1)) * grain
        self.grain = np.repeat(noise, 3, axis=3).astype(np.float32)

    def __call__(self, frame: np.ndarray, t: int) -> np.ndarray:
        """Grade one float32 (H, W, 3) frame; returns uint8."""
        out = cv2.transform(frame, self.matrix)
        out += self.grain[t % 8]
        return np.asarray(np.clip(out, 0, 255, out=out), dtype=np.uint8)


class MovieRenderer:
    """Render the frames of one scripted, staged movie.

    Args:
        script: the movie's script.
        staging: its poses and geometry (:func:`staging.choreograph`).
        rng: film-grain randomness.
        dissolve_s: dissolve length in seconds; ``fade_s``: fade-out + fade-in length.
    """

    def __init__(
        self,
        script: MovieScript,
        staging: Staging,
        rng: np.random.Generator,
        dissolve_s: float = 0.5,
        fade_s: float = 0.8,
    ):
        self.script, self.staging = script, staging
        self.half_dissolve = max(1, round(dissolve_s * script.fps / 2))
        self.half_fade = max(1, round(fade_s * script.fps / 2))
        self.shot_starts = np.array([s.start_frame for s in script.shots])
        self.grade = VisualGrade(script.meta.decade, staging.frame_height, staging.frame_width, rng)
        self._backgrounds: dict[int, np.ndarray] = {}
        self._windows: dict[int, np.ndarray] = {}

    @property
    def num_frames(self) -> int:
        """Frames in the movie."""
        return self.script.num_frames

    def shot_at(self, t: int) -> int:
        """Index of the shot that owns frame ``t``."""
        return int(np.searchsorted(self.shot_starts, t, side="right") - 1)

    def background(self, scene_index: int) -> np.ndarray:
        """World canvas of a scene (cached for the scenes around the current one)."""
        if scene_index not in self._backgrounds:
            for old in [k for k in self._backgrounds if k < scene_index - 1]:
                del self._backgrounds[old]
            scene = self.script.scenes[scene_index]
            rng = np.random.default_rng(scene.layout_seed)
            self._backgrounds[scene_index] = paint_place(
                scene.place, self.staging.height, self.staging.width, scene.palette, rng
            )
        return self._backgrounds[scene_index]

    def windows(self, shot_index: int) -> np.ndarray:
        """(T_shot, 3) camera windows of a shot (cached for the shots around the current one)."""
        if shot_index not in self._windows:
            for old in [k for k in self._windows if k < shot_index - 1]:
                del self._windows[old]
            shot = self.script.shots[shot_index]
            self._windows[shot_index] = camera_windows(shot, self.script, self.staging)
        return self._windows[shot_index]

    def world(self, scene_index: int, t: int) -> np.ndarray:
        """The scene's world canvas at frame ``t`` (clamped into the scene) with its characters."""
        script, staging = self.script, self.staging
        scene = script.scenes[scene_index]
        poses = staging.poses[scene_index]
        local = int(np.clip(t - scene.start_event * script.frames_per_event, 0, len(poses) - 1))
        canvas = self.background(scene_index).copy()
        radii = staging.radii[list(scene.characters)]
        xs, ys = centres(poses[local], radii)
        for k in np.argsort(poses[local, :, Y], kind="stable"):
            member = script.cast[scene.characters[k]]
            draw_character(
                canvas, member.shape, member.rgb, poses[local, k], radii[k], (xs[k], ys[k])
            )
        event = script.events[scene.start_event + local // script.frames_per_event]
        if event.verb == "smoke":
            k = scene.characters.index(event.agent)
            u = (local % script.frames_per_event) / script.frames_per_event
            draw_smoke_prop(canvas, poses[local, k], radii[k], (xs[k], ys[k]), u)
        return canvas

    def view(self, shot_index: int, t: int) -> np.ndarray:
        """Frame ``t`` as shot ``shot_index``'s camera sees it: float32 (H, W, 3)."""
        shot = self.script.shots[shot_index]
        windows = self.windows(shot_index)
        window = windows[int(np.clip(t - shot.start_frame, 0, len(windows) - 1))]
        matrix = world_to_frame(window, self.staging)
        size = (self.staging.frame_width, self.staging.frame_height)
        world = self.world(shot.scene_index, t)
        out = cv2.warpAffine(
            world, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        return out.astype(np.float32)

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t`` of the movie: uint8 (H, W, 3) RGB."""
        shots = self.script.shots
        k = self.shot_at(t)
        shot = shots[k]
        image = self.view(k, t)
        hd, hf = self.half_dissolve, self.half_fade
        if shot.transition_in == "dissolve" and k > 0 and t < shot.start_frame + hd:
            alpha = (t - (shot.start_frame - hd) + 0.5) / (2 * hd)
            image = alpha * image + (1 - alpha) * self.view(k - 1, t)
        nxt = shots[k + 1] if k + 1 < len(shots) else None
        if nxt is not None and nxt.transition_in == "dissolve" and t >= nxt.start_frame - hd:
            alpha = (t - (nxt.start_frame - hd) + 0.5) / (2 * hd)
            image = (1 - alpha) * image + alpha * self.view(k + 1, t)
        if shot.transition_in == "fade" and t < shot.start_frame + hf:
            image = image * ((t - shot.start_frame + 1) / (hf + 1))
        fade_out_at = nxt.start_frame if nxt is not None and nxt.transition_in == "fade" else None
        if nxt is None:
            fade_out_at = self.num_frames
        if fade_out_at is not None and t >= fade_out_at - hf:
            image = image * ((fade_out_at - t) / (hf + 1))
        return self.grade(image, t)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames ``start .. stop-1`` (default: the whole movie) one at a time."""
        for t in range(start, self.num_frames if stop is None else stop):
            yield self.frame(t)
