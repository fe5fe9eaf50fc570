"""Rendering and encoding: streaming, transitions, grades, places, contact sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import numpy as np
import pytest

from movierep.cli import corpus as corpus_cli
from movierep.corpus.encode import video_codec, write_video
from movierep.corpus.make import plan_movie, renderer
from movierep.corpus.places import PLACE_PAINTERS, paint_place
from movierep.corpus.presets import resolve_options
from movierep.corpus.vocab import PLACES
from movierep.corpus.world import Palette


def test_places_are_textured_and_distinct() -> None:
    assert set(PLACE_PAINTERS) == set(PLACES)
    assert len(PLACES) >= 12
    images = {p: paint_place(p, 72, 128, Palette(), np.random.default_rng(0)) for p in PLACES}
    for image in images.values():
        assert image.shape == (72, 128, 3)
        assert image.dtype == np.uint8
        assert image.std(axis=(0, 1)).mean() > 8  # never one flat colour

    # Nearest-mean classification of 16x9 thumbnails across layout seeds: places are recognisable.
    def thumb(p: str, seed: int) -> np.ndarray:
        image = paint_place(
            p, 72, 128, Palette().jitter(np.random.default_rng(seed)), np.random.default_rng(seed)
        )
        return image[::8, ::8].astype(np.float32).ravel()

    means = np.stack([np.mean([thumb(p, s) for s in range(3)], axis=0) for p in PLACES])
    hits = sum(
        int(np.argmin(((means - thumb(p, 99)) ** 2).sum(1)) == i) for i, p in enumerate(PLACES)
    )
    assert hits >= 13


def test_renderer_streams_frames_with_transitions(tmp_path: Path) -> None:
    options = resolve_options("tiny", movies=1, minutes=0.3)
    script, staging = plan_movie(0, options, seed=5)
    frames = renderer(script, staging, seed=5)
    first, middle = frames.frame(0), frames.frame(script.num_frames // 2)
    assert first.mean() < 5  # the movie fades in from black
    assert middle.shape == (72, 128, 3)
    assert middle.std() > 10
    assert np.array_equal(frames.frame(40), renderer(script, staging, seed=5).frame(40))
    count = write_video(tmp_path / "m.mp4", frames.frames(0, 30), 25, 128, 72)
    with av.open(str(tmp_path / "m.mp4")) as container:
        assert count == 30 == sum(1 for _ in container.decode(video=0))
    assert video_codec() in ("libx264", "mpeg4")


def test_dissolve_blends_the_two_shots() -> None:
    options = resolve_options("tiny", movies=6, minutes=1.0)
    for index in range(options.movies):
        script, staging = plan_movie(index, options, seed=0)
        shots = [s for s in script.shots[1:] if s.transition_in == "dissolve"]
        if shots:
            break
    else:
        pytest.fail("no dissolve in 6 movies")
    frames, b = renderer(script, staging, seed=0), shots[0].start_frame
    blended = frames.frame(b).astype(np.float32)
    before = frames.view(shots[0].index - 1, b)
    after = frames.view(shots[0].index, b)
    assert np.abs(before - after).mean() > 1.0
    ungraded = frames.grade(0.5 * before + 0.5 * after, b).astype(np.float32)
    assert np.abs(blended - ungraded).mean() < 3.0


def test_preview_writes_a_contact_sheet(tiny_corpus: Path, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    corpus_cli.register(parser.add_subparsers())
    out = tmp_path / "sheet.png"
    args = parser.parse_args(
        ["corpus", "preview", str(tiny_corpus), "--out", str(out), "--shots", "4"]
    )
    assert args.func(args) == 0
    from PIL import Image

    with Image.open(out) as image:
        assert image.width > 4 * 128
        assert image.height >= 4 * 72


def test_cli_make_rejects_bad_options_and_writes_a_corpus(tmp_path: Path) -> None:
    from movierep.errors import UserError

    parser = argparse.ArgumentParser()
    corpus_cli.register(parser.add_subparsers())
    bad = parser.parse_args(["corpus", "make", str(tmp_path / "x"), "--width", "101"])
    with pytest.raises(UserError, match="--width"):
        bad.func(bad)
    assert not (tmp_path / "x").exists()


def test_old_movies_are_graded_grey() -> None:
    from movierep.corpus.render import VisualGrade

    colour = np.zeros((4, 4, 3), dtype=np.float32)
    colour[..., 0] = 200.0
    old = VisualGrade(1930, 4, 4, np.random.default_rng(0))(colour.copy(), 0).astype(float)
    new = VisualGrade(2010, 4, 4, np.random.default_rng(0))(colour.copy(), 0).astype(float)
    spread = lambda image: float((image.max(-1) - image.min(-1)).mean())  # noqa: E731
    assert spread(old) < 0.3 * spread(new)


def test_boxes_match_the_drawn_characters() -> None:
    import cv2

    from movierep.corpus.sprites import UNIT_SHAPES, draw_character
    from movierep.corpus.staging import (
        camera_windows,
        centres,
        frame_boxes,
        world_to_frame,
    )

    options = resolve_options("tiny", movies=1, minutes=0.5)
    script, staging = plan_movie(0, options, seed=2)
    frames = renderer(script, staging, seed=2)
    size = (staging.frame_width, staging.frame_height)
    errors = []
    for shot in script.shots:
        scene = script.scenes[shot.scene_index]
        cast = [script.cast[c] for c in scene.characters]
        radii = staging.radii[list(scene.characters)]
        units = [UNIT_SHAPES[c.shape] for c in cast]
        windows = camera_windows(shot, script, staging)
        offset = shot.start_frame - scene.start_event * script.frames_per_event
        for dt in range(0, shot.end_frame - shot.start_frame, 9):
            poses = staging.poses[shot.scene_index][offset + dt]
            boxes, keep = frame_boxes(poses[None], radii, units, windows[dt : dt + 1], staging)
            xs, ys = centres(poses, radii)
            matrix = world_to_frame(windows[dt], staging)
            empty = cv2.warpAffine(frames.background(shot.scene_index), matrix, size)
            for k in np.nonzero(keep[0])[0]:
                box = boxes[0, k]
                if box[0] < 1 or box[1] < 1 or box[2] > size[0] - 1 or box[3] > size[1] - 1:
                    continue  # clipped by the frame
                canvas = frames.background(shot.scene_index).copy()
                draw_character(
                    canvas, cast[k].shape, cast[k].rgb, poses[k], radii[k], (xs[k], ys[k])
                )
                drawn = cv2.warpAffine(canvas, matrix, size)
                rows, cols = np.nonzero(np.abs(drawn.astype(int) - empty).max(-1) > 8)
                found = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
                blur = 1.0 + 1.5 * matrix[0, 0]  # anti-aliased outline + interpolation
                assert np.abs(found - box).max() < blur, (shot.index, dt, k, found, box)
                errors.append(np.abs(found - box).mean())
    assert len(errors) >= 50
    print(f"box error: mean {np.mean(errors):.2f} px over {len(errors)} boxes")
    assert np.mean(errors) < 1.0


@pytest.mark.slow
def test_every_kinetics_action_moves() -> None:
    from movierep.corpus.kinetics import ACTIONS, action_clip

    assert len(ACTIONS) == 16
    for i, action in enumerate(ACTIONS):
        clip = np.stack(list(action_clip(action, 3, 25, 128, 72, np.random.default_rng(i))))
        assert clip.shape == (75, 72, 128, 3)
        change = np.abs(clip.astype(np.int16) - clip[:1]).max(-1).max(0)  # vs the first frame
        assert (change > 40).sum() > 30, action  # the actor visibly changes over the clip


def test_make_refuses_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    from movierep.corpus import make_corpus
    from movierep.errors import UserError

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a corpus"):
        make_corpus(tmp_path, movies=1)
    assert (tmp_path / "notes.txt").read_text() == "mine"
