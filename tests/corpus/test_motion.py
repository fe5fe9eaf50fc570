"""Verbs as motion: each choreography moves the agent the way its name says."""

from __future__ import annotations

import numpy as np
import pytest

from movierep.corpus.motion import (
    ANGLE,
    FACING,
    POSE_SIZE,
    SCALE,
    SQUASH,
    VERB_MOTIONS,
    Stage,
    X,
    Y,
    perform,
)
from movierep.corpus.vocab import VERBS

W, H, FRAMES = 256.0, 144.0, 50


def _play(verb: str, way: str = "explains", seed: int = 0) -> np.ndarray:
    stage = Stage(W, H, np.array([10.0, 10.0]))
    start = np.zeros((2, POSE_SIZE))
    start[:, X] = [100.0, 160.0]
    start[:, Y] = 130.0
    start[:, SCALE] = start[:, SQUASH] = start[:, FACING] = 1.0
    poses, _ = perform(verb, start, stage, 0, 1, FRAMES, np.random.default_rng(seed), way)
    return poses


def test_every_verb_has_a_motion() -> None:
    assert set(VERB_MOTIONS) == set(VERBS)


def test_speed_separates_walk_from_run() -> None:
    walk = abs(_play("walk")[-1, 0, X] - 100.0)
    run = abs(_play("run")[-1, 0, X] - 100.0)
    assert 30 < walk < 60
    assert run > 2 * walk


@pytest.mark.parametrize(
    ("verb", "check"),
    [
        ("jump", lambda p: p[:, 0, Y].min() < 130.0 - 0.2 * H),
        ("grow", lambda p: p[-1, 0, SCALE] > 1.5),
        ("shrink", lambda p: p[-1, 0, SCALE] < 0.65),
        ("spin", lambda p: abs(p[-1, 0, ANGLE]) > 3 * np.pi),
        ("fall", lambda p: abs(abs(p[-1, 0, ANGLE]) - np.pi / 2) < 0.05),
        ("sit", lambda p: p[-1, 0, SQUASH] < 0.7),
        ("approach", lambda p: p[-1, 1, X] - p[-1, 0, X] < 30.0),
        ("flee", lambda p: p[-1, 1, X] - p[-1, 0, X] > 100.0),
        ("push", lambda p: p[-1, 1, X] > 160.0 + 0.15 * W),
        ("embrace", lambda p: p[-1, 1, X] - p[-1, 0, X] < 15.0),
    ],
)
def test_verb_motion(verb: str, check) -> None:
    assert check(_play(verb))


def test_talk_staging_depends_on_the_way_of_speaking() -> None:
    distance = {
        way: float(_play("talk", way)[-1, 1, X] - _play("talk", way)[-1, 0, X])
        for way in ("confronts", "discuss", "teaches")
    }
    assert distance["confronts"] < distance["discuss"] < distance["teaches"]
    threat = _play("talk", "threatens")
    assert threat[-1, 0, SCALE] > 1.2
    assert threat[-1, 1, SCALE] < 0.9


def test_poses_relax_from_the_previous_event_and_stay_in_the_world() -> None:
    grown = _play("grow")
    stage = Stage(W, H, np.array([10.0, 10.0]))
    after, _ = perform("wave", grown[-1], stage, 1, 0, FRAMES, np.random.default_rng(1))
    assert after[0, 0, SCALE] == pytest.approx(grown[-1, 0, SCALE], rel=0.02)
    assert after[-1, 0, SCALE] == pytest.approx(1.0)
    for verb in VERBS:
        poses = _play(verb)
        r = 10.0 * poses[..., SCALE]
        assert (poses[..., X] >= r - 1e-3).all()
        assert (poses[..., X] <= W - r + 1e-3).all()
