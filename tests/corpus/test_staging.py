"""The camera operator (``staging.keep_in_frame``): the action stays in frame and in motion."""

from __future__ import annotations

import numpy as np

from movierep.corpus.make import plan_movie
from movierep.corpus.motion import SCALE
from movierep.corpus.presets import resolve_options
from movierep.corpus.staging import (
    CAMERA_MARGIN,
    Staging,
    action_boxes,
    camera_windows,
    keep_in_frame,
)


def _visible(windows: np.ndarray, staging: Staging) -> tuple[np.ndarray, ...]:
    """(T,) left, top, right, bottom of each window in world pixels."""
    cx, cy, zoom = windows.T
    w, h = staging.width / zoom, staging.height / zoom
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def test_the_acting_characters_stay_in_frame_in_every_shot() -> None:
    options = resolve_options("tiny", movies=3, minutes=0.5)
    frames = movie_frames = 0
    for index in range(3):
        script, staging = plan_movie(index, options, seed=1)
        movie_frames += script.num_frames
        for shot in script.shots:
            windows = camera_windows(shot, script, staging)
            left, top, right, bottom = _visible(windows, staging)
            x1, y1, x2, y2 = action_boxes(shot, script, staging).T
            # a rotated or squashed shape may poke a few px out of the world, no further
            x1, x2 = np.clip(x1, 0, staging.width), np.clip(x2, 0, staging.width)
            y1, y2 = np.clip(y1, 0, staging.height), np.clip(y2, 0, staging.height)
            fits = (x2 - x1 < staging.width) & (y2 - y1 < staging.height)
            tol = 1e-6
            assert np.all((x1 >= left - tol) & (x2 <= right + tol) | ~fits), shot.index
            assert np.all((y1 >= top - tol) & (y2 <= bottom + tol) | ~fits), shot.index
            frames += len(windows)
    assert frames == movie_frames  # every frame of every movie was checked


def test_keep_in_frame_zooms_out_just_enough_and_moves_to_the_box() -> None:
    staging = Staging(256, 144, 128, 72, np.ones(1), [], [])
    planned = np.tile([[128.0, 72.0, 3.0]], (40, 1))  # a close shot at the centre
    box = np.tile([[10.0, 90.0, 90.0, 130.0]], (40, 1))  # 80 px wide, at the left edge
    out = keep_in_frame(planned, box, staging)
    # the box needs 80 / (1 - 2 * margin) px of visible width: zoom 256 / that
    assert np.allclose(out[:, 2], 256 * (1 - 2 * CAMERA_MARGIN) / 80)
    left, _, right, _ = _visible(out, staging)
    assert np.all(left <= 10.0) and np.all(right >= 90.0)
    assert np.all(out[:, 0] < 128.0)  # moved toward the box


def test_the_camera_frames_the_whole_event_so_a_growing_character_grows_on_screen() -> None:
    options = resolve_options("tiny", movies=6, minutes=0.5)
    growth = []
    for index in range(6):
        script, staging = plan_movie(index, options, seed=0)
        fpe = script.frames_per_event
        for shot in script.shots:
            zoom = camera_windows(shot, script, staging)[:, 2]
            scene = script.scenes[shot.scene_index]
            for event in script.events:
                start, end = event.index * fpe, (event.index + 1) * fpe
                if event.verb != "grow" or start < shot.start_frame or end > shot.end_frame:
                    continue
                k = scene.characters.index(event.agent)
                scale = staging.poses[shot.scene_index][:, k, SCALE]
                first = start - scene.start_event * fpe
                rel = slice(start - shot.start_frame + 12, end - shot.start_frame - 1)
                # on-screen size ∝ scale x zoom: the camera must not zoom out as fast
                on_screen = scale[first + 12 : first + fpe - 1] * zoom[rel]
                growth.append(on_screen[-1] / on_screen[0])
    assert growth, "no grow event inside a shot"
    assert np.median(growth) > 1.3
