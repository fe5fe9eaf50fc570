"""Choreography: per-frame poses of every character, from the verbs of the 2 s events.

A verb is visible only as motion over its 2 s window: every character has the same
look whatever it does, and a still frame shows a pose that many verbs pass through
(a walk and a run differ in speed, a jump is a parabola, a spin a rotation of the
facing marker, grow/shrink a change of scale, talk a rhythmic pulse whose staging
follows the scene's way of speaking). Poses carry over from one event to the next and
relax back to neutral at the start of each event, so there is no reset cut between them.

A pose is the row ``(x, y, scale, angle, squash, facing)``: ``x, y`` the ground-contact
point in world pixels, ``scale`` relative size, ``angle`` rotation in radians,
``squash`` height/width factor, ``facing`` +1 (right) or -1 (left).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

X, Y, SCALE, ANGLE, SQUASH, FACING = range(6)
POSE_SIZE = 6


@dataclass
class Stage:
    """The world a verb is performed in: its size and the actors' radii (world pixels)."""

    width: float
    height: float
    radii: np.ndarray  # (C,) radius of each actor at scale 1

    def clamp(self, poses: np.ndarray) -> None:
        """Keep every actor inside the world horizontally (in place). poses: (T, C, 6)."""
        r = self.radii[None, :] * poses[..., SCALE]
        poses[..., X] = np.clip(poses[..., X], r, self.width - r)


def smoothstep(u: np.ndarray) -> np.ndarray:
    """Ease-in-out ramp 3u²-2u³ on [0, 1] (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    ramp: np.ndarray = u * u * (3.0 - 2.0 * u)
    return ramp


def window(u: np.ndarray, start: float, end: float) -> np.ndarray:
    """Smooth ramp from 0 at ``start`` to 1 at ``end``."""
    return smoothstep((u - start) / (end - start))


@dataclass
class Performance:
    """One verb being played: the tracks to modify and the world's geometry.

    Attributes:
        u: (T,) normalised time in [0, 1) over the 2 s window.
        poses: (T, C, 6) tracks of every actor, to be modified in place.
        stage: world geometry.
        agent: actor index of Arg0; ``patient``: of Arg1 (or ``None``).
        way: way of speaking (staging of ``talk``).
        rng: randomness of this event (directions, phases).
    """

    u: np.ndarray
    poses: np.ndarray
    stage: Stage
    agent: int
    patient: int | None
    way: str
    rng: np.random.Generator
    direction: int = 0

    @property
    def a(self) -> np.ndarray:
        """(T, 6) view on the agent's track."""
        return self.poses[:, self.agent]

    @property
    def p(self) -> np.ndarray:
        """(T, 6) view on the patient's track."""
        assert self.patient is not None
        return self.poses[:, self.patient]

    def toward(self) -> int:
        """+1 if the patient is to the agent's right, else -1."""
        return 1 if self.p[0, X] >= self.a[0, X] else -1

    def free_side(self, actor: int, distance: float) -> int:
        """A direction (+1/-1) with room for ``distance`` pixels, random if both have room."""
        x = self.poses[0, actor, X]
        right, left = self.stage.width - x >= distance, x >= distance
        if right and left:
            return 1 if self.rng.random() < 0.5 else -1
        return 1 if self.stage.width - x > x else -1

    def contact(self, gap: float) -> float:
        """Agent-patient centre distance at which they are ``gap`` radii apart."""
        return gap * float(self.stage.radii[self.agent] + self.stage.radii[self.patient or 0])

    def move_to(self, track: np.ndarray, target: float, start: float, end: float) -> None:
        """Ease ``track``'s x from its first value to ``target`` during [start, end]."""
        x0 = track[0, X]
        track[:, X] = x0 + (target - x0) * window(self.u, start, end)

    def step_bob(self, track: np.ndarray, steps: float, height: float) -> None:
        """Footstep bounce: ``steps`` bumps over the window, ``height`` of the world height."""
        track[:, Y] -= height * self.stage.height * np.abs(np.sin(np.pi * steps * self.u))


def _travel(perf: Performance, fraction: float, steps: float, bob: float, lean: float) -> None:
    distance = fraction * perf.stage.width
    d = perf.free_side(perf.agent, distance)
    perf.direction = d
    perf.a[:, X] += d * distance * perf.u
    perf.a[:, FACING] = d
    perf.a[:, ANGLE] += d * lean
    perf.step_bob(perf.a, steps, bob)


def _walk(perf: Performance) -> None:
    _travel(perf, 0.2, 4, 0.02, 0.0)


def _run(perf: Performance) -> None:
    _travel(perf, 0.45, 8, 0.025, 0.18)


def _jump(perf: Performance) -> None:
    for take_off in (0.1, 0.55):  # two hops, each a parabola of 0.35 of the window
        v = np.clip((perf.u - take_off) / 0.35, 0.0, 1.0)
        perf.a[:, Y] -= 0.3 * perf.stage.height * 4 * v * (1 - v)
        crouch = (np.abs(perf.u - take_off + 0.04) < 0.04) | (
            np.abs(perf.u - take_off - 0.39) < 0.04
        )
        perf.a[crouch, SQUASH] *= 0.7


def _spin(perf: Performance) -> None:
    perf.a[:, ANGLE] += (
        (1 if perf.rng.random() < 0.5 else -1) * 4 * np.pi * window(perf.u, 0.1, 0.9)
    )


def _fall(perf: Performance) -> None:
    d = 1 if perf.rng.random() < 0.5 else -1
    wobble = 0.15 * np.sin(2 * np.pi * 3 * perf.u) * (perf.u < 0.25)
    perf.a[:, ANGLE] += wobble + d * (np.pi / 2) * window(perf.u, 0.25, 0.5)


def _approach(perf: Performance) -> None:
    d = perf.toward()
    perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(1.4), 0.0, 0.9)
    perf.a[:, FACING] = d
    perf.step_bob(perf.a, 4, 0.012)


def _flee(perf: Performance) -> None:
    d = -perf.toward()
    perf.direction = d
    perf.a[:, X] += d * 0.38 * perf.stage.width * window(perf.u, 0.05, 1.0)
    perf.a[:, FACING] = d
    perf.a[:, ANGLE] += d * 0.15
    perf.step_bob(perf.a, 8, 0.025)
    perf.p[:, FACING] = d


def _chase(perf: Performance) -> None:
    d = perf.toward()
    perf.direction = d
    perf.p[:, X] += d * 0.3 * perf.stage.width * perf.u
    perf.p[:, FACING] = d
    target = perf.p[:, X] - d * perf.contact(1.3)
    perf.a[:, X] += (target - perf.a[0, X]) * smoothstep(perf.u)
    perf.a[:, FACING] = d
    perf.a[:, ANGLE] += d * 0.15
    perf.step_bob(perf.a, 8, 0.025)
    perf.step_bob(perf.p, 8, 0.025)


def _hit(perf: Performance) -> None:
    d = perf.toward()
    perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(2.2), 0.0, 0.3)
    lunge = window(perf.u, 0.3, 0.42) - window(perf.u, 0.5, 0.7)
    perf.a[:, X] += d * perf.contact(1.3) * lunge
    perf.a[:, FACING] = d
    perf.p[:, X] += d * 0.06 * perf.stage.width * window(perf.u, 0.42, 0.6)
    perf.p[:, ANGLE] += d * 0.5 * np.exp(-(((perf.u - 0.48) / 0.08) ** 2))


def _push(perf: Performance) -> None:
    d = perf.toward()
    perf.direction = d
    perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(1.0), 0.0, 0.3)
    shove = d * 0.18 * perf.stage.width * window(perf.u, 0.3, 0.9)
    perf.a[:, X] += shove
    perf.p[:, X] += shove
    perf.a[:, FACING] = d
    perf.a[:, ANGLE] += d * 0.2 * (perf.u > 0.3)
    perf.p[:, ANGLE] += d * 0.15 * (window(perf.u, 0.3, 0.4) - window(perf.u, 0.85, 1.0))


def _wave(perf: Performance) -> None:
    if perf.patient is not None:
        perf.a[:, FACING] = perf.toward()
    envelope = window(perf.u, 0.05, 0.2) * (1 - window(perf.u, 0.85, 1.0))
    perf.a[:, ANGLE] += 0.5 * np.sin(2 * np.pi * 3 * perf.u) * envelope


def _pulse(track: np.ndarray, u: np.ndarray, active: np.ndarray, rng: np.random.Generator) -> None:
    """Speech rhythm: a 2 Hz squash pulse while ``active`` (4 beats over the 2 s)."""
    phase = rng.uniform(0, 2 * np.pi)
    track[:, SQUASH] *= 1.0 + 0.12 * np.sin(2 * np.pi * 4 * u + phase) * active


def _talk(perf: Performance) -> None:
    d = perf.toward()
    perf.a[:, FACING], perf.p[:, FACING] = d, -d
    u, everyone = perf.u, np.ones_like(perf.u)
    if perf.way == "confronts":  # close, leaning in
        perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(1.2), 0.0, 0.3)
        perf.a[:, ANGLE] += d * 0.25 * window(u, 0.2, 0.4)
        perf.p[:, ANGLE] -= d * 0.15 * window(u, 0.3, 0.5)
        _pulse(perf.a, u, everyone, perf.rng)
    elif perf.way == "threatens":  # looms larger, the listener shrinks back
        perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(1.4), 0.0, 0.4)
        perf.a[:, SCALE] *= 1.0 + 0.25 * window(u, 0.1, 0.5)
        perf.p[:, SCALE] *= 1.0 - 0.15 * window(u, 0.3, 0.6)
        perf.p[:, X] += d * 0.04 * perf.stage.width * window(u, 0.3, 0.7)
        _pulse(perf.a, u, everyone, perf.rng)
    elif perf.way == "teaches":  # at a distance, pacing; the listener sits
        perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(3.5), 0.0, 0.3)
        perf.a[:, X] += 0.05 * perf.stage.width * np.sin(2 * np.pi * u)
        perf.p[:, SQUASH] *= 1.0 - 0.3 * window(u, 0.0, 0.2)
        _pulse(perf.a, u, everyone, perf.rng)
    elif perf.way == "discuss":  # turn-taking at a middle distance
        perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(2.0), 0.0, 0.3)
        _pulse(perf.a, u, (u < 0.5).astype(float), perf.rng)
        _pulse(perf.p, u, (u >= 0.5).astype(float), perf.rng)
    else:  # explains: a steady speaker with slow gestures
        perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(2.5), 0.0, 0.3)
        perf.a[:, ANGLE] += 0.12 * np.sin(2 * np.pi * 3 * u)
        _pulse(perf.a, u, everyone, perf.rng)


def _grow(perf: Performance) -> None:
    perf.a[:, SCALE] *= 1.0 + 0.6 * window(perf.u, 0.1, 0.9)


def _shrink(perf: Performance) -> None:
    perf.a[:, SCALE] *= 1.0 - 0.4 * window(perf.u, 0.1, 0.9)


def _shake(perf: Performance) -> None:
    phase = perf.rng.uniform(0, 2 * np.pi)
    perf.a[:, X] += 0.03 * perf.stage.width * np.sin(2 * np.pi * 16 * perf.u + phase)
    perf.a[:, ANGLE] += 0.15 * np.sin(2 * np.pi * 12 * perf.u)


def _sit(perf: Performance) -> None:
    perf.a[:, SQUASH] *= 1.0 - 0.45 * window(perf.u, 0.15, 0.45)


def _embrace(perf: Performance) -> None:
    d = perf.toward()
    perf.move_to(perf.a, perf.p[0, X] - d * perf.contact(0.6), 0.0, 0.4)
    perf.a[:, FACING], perf.p[:, FACING] = d, -d
    hug = window(perf.u, 0.4, 0.5)
    sway = hug * np.sin(np.pi * 2 * perf.u) ** 2
    perf.a[:, SQUASH] *= 1.0 - 0.15 * sway
    perf.p[:, SQUASH] *= 1.0 - 0.15 * sway
    perf.a[:, ANGLE] += d * 0.25 * hug
    perf.p[:, ANGLE] -= d * 0.25 * hug


def _kiss(perf: Performance) -> None:
    d = perf.toward()
    middle = (perf.a[0, X] + perf.p[0, X]) / 2
    half = perf.contact(0.8) / 2
    perf.move_to(perf.a, middle - d * half, 0.0, 0.5)
    perf.move_to(perf.p, middle + d * half, 0.0, 0.5)
    perf.a[:, FACING], perf.p[:, FACING] = d, -d
    lean = window(perf.u, 0.5, 0.6) - window(perf.u, 0.8, 0.9)
    perf.a[:, ANGLE] += d * 0.3 * lean
    perf.p[:, ANGLE] -= d * 0.3 * lean


def _smoke(perf: Performance) -> None:
    """A breath in at each of the prop's two lifts (the prop: :func:`sprites.draw_smoke_prop`)."""
    inhale = np.exp(-(((perf.u - 0.35) / 0.05) ** 2)) + np.exp(-(((perf.u - 0.8) / 0.05) ** 2))
    perf.a[:, SQUASH] *= 1.0 + 0.12 * inhale


VERB_MOTIONS: dict[str, Callable[[Performance], None]] = {
    "walk": _walk,
    "run": _run,
    "jump": _jump,
    "spin": _spin,
    "fall": _fall,
    "approach": _approach,
    "flee": _flee,
    "chase": _chase,
    "hit": _hit,
    "push": _push,
    "wave": _wave,
    "talk": _talk,
    "grow": _grow,
    "shrink": _shrink,
    "shake": _shake,
    "sit": _sit,
    "embrace": _embrace,
    "kiss": _kiss,
    "smoke": _smoke,
}


def perform(
    verb: str,
    start: np.ndarray,
    stage: Stage,
    agent: int,
    patient: int | None,
    frames: int,
    rng: np.random.Generator,
    way: str = "explains",
) -> tuple[np.ndarray, int]:
    """Play one event from the poses at its start.

    Everyone first relaxes to a neutral pose (scale 1, upright, unsquashed) during the
    first 15% of the window; bystanders only breathe. Then the verb's motion is added.

    Args:
        verb: one of :data:`VERBS`.
        start: (C, 6) poses at the first frame.
        stage: world geometry.
        agent: actor index of Arg0.
        patient: actor index of Arg1 (``None`` for intransitive verbs).
        frames: frames of the window (2 s).
        rng: randomness of this event.
        way: the scene's way of speaking (staging of ``talk``).

    Returns:
        (T, C, 6) poses and the travel direction (+1 right, -1 left, 0 none).
    """
    u = np.arange(frames, dtype=np.float64) / frames
    relax = window(u, 0.0, 0.15)[:, None]
    poses = np.repeat(start[None].astype(np.float64), frames, axis=0)
    angle0 = (start[:, ANGLE] + np.pi) % (2 * np.pi) - np.pi
    poses[..., ANGLE] = angle0[None] * (1 - relax)
    poses[..., SCALE] = start[None, :, SCALE] + (1 - start[None, :, SCALE]) * relax
    poses[..., SQUASH] = start[None, :, SQUASH] + (1 - start[None, :, SQUASH]) * relax
    phases = np.asarray(rng.uniform(0, 2 * np.pi, size=start.shape[0]))
    poses[..., SQUASH] *= 1.0 + 0.02 * np.sin(2 * np.pi * 1.4 * u[:, None] + phases[None, :])
    perf = Performance(u, poses, stage, agent, patient, way, rng)
    VERB_MOTIONS[verb](perf)
    stage.clamp(poses)
    return poses.astype(np.float32), perf.direction
