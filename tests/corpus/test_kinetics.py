"""The Kinetics stand-in: every clip its own place and cast, the action only as motion."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from movierep.corpus.kinetics import (
    ACTIONS,
    COLUMNS,
    ClipPlan,
    make_kinetics,
    plan_clip,
    render_clip,
)
from movierep.corpus.vocab import PLACES, SHAPES, TRANSITIVE
from movierep.data.sources import kinetics_source

#: Plan fields that draw the motion; every other field is the clip's look.
MOTION_FIELDS = {"action", "second", "lead", "motion_seed"}


def _look(plan: ClipPlan) -> dict[str, object]:
    return {k: v for k, v in dataclasses.asdict(plan).items() if k not in MOTION_FIELDS}


def test_the_look_of_a_clip_never_reads_its_action() -> None:
    for seed in range(40):
        looks = [_look(plan_clip(a, np.random.default_rng(seed))) for a in ACTIONS]
        assert all(look == looks[0] for look in looks), seed


def test_looks_vary_from_clip_to_clip_for_every_kind_of_action() -> None:
    """Over 40 clips of a transitive and of an intransitive verb, the looks spread alike."""
    for action in ("walk", "hit"):
        assert (action in TRANSITIVE) == (action == "hit")
        plans = [plan_clip(action, np.random.default_rng([7, i])) for i in range(40)]
        assert len({p.place for p in plans}) >= 10
        assert len({p.cast[0].shape for p in plans}) >= len(SHAPES) - 2
        assert np.std([p.palette.hue for p in plans]) > 60
        assert len({p.layout_seed for p in plans}) == 40
        sizes = [len(p.cast) for p in plans]
        assert set(sizes) == {2, 3}  # a second character always: patient or bystander
        assert len({p.zoom for p in plans}) == 40
    assert set(PLACES) >= {p.place for p in plans}


def test_second_verbs_are_drawn_and_fit_in_the_clip() -> None:
    plans = [plan_clip(ACTIONS[i % 16], np.random.default_rng(i)) for i in range(400)]
    seconds = [p for p in plans if p.second is not None]
    assert 0.22 < len(seconds) / len(plans) < 0.38
    assert all(p.second in ACTIONS and p.second != p.action for p in seconds)
    assert all(p.lead <= 75 - 50 - 12 for p in seconds)  # >= 0.5 s of the second verb shows
    assert max(p.lead for p in plans) == 25
    short = [plan_clip("jump", np.random.default_rng(i), seconds=2) for i in range(50)]
    assert all(p.second is None and p.lead == 0 for p in short)  # no room for a second verb


def test_before_the_action_every_verb_shows_the_same_frame() -> None:
    """No prop, colour or pose gives the verb away before it is played (smoke included)."""
    seed = next(s for s in range(100) if plan_clip("run", np.random.default_rng(s)).lead > 2)
    plans = [plan_clip(a, np.random.default_rng(seed)) for a in ACTIONS]
    first = [next(render_clip(p, 3, 25, 64, 36)) for p in plans]
    assert all(np.array_equal(frame, first[0]) for frame in first)


def test_two_clips_of_one_action_have_different_backgrounds() -> None:
    means = [
        next(render_clip(plan_clip("spin", np.random.default_rng(i)), 3, 25, 64, 36))
        .reshape(-1, 3)
        .mean(0)
        for i in range(6)
    ]
    gaps = [np.abs(a - b).max() for i, a in enumerate(means) for b in means[i + 1 :]]
    assert min(gaps) > 3.0  # mean colour per channel, 0..255


def test_clips_are_deterministic_for_a_seed() -> None:
    a, b, c = (plan_clip("push", np.random.default_rng(s)) for s in (3, 3, 4))
    assert a == b and a != c
    frames = [np.stack(list(render_clip(p, 3, 25, 64, 36))) for p in (a, b)]
    assert frames[0].shape == (75, 36, 64, 3)
    assert np.array_equal(frames[0], frames[1])


def _csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_make_kinetics_writes_kinetics_csvs_with_a_second_label(tmp_path: Path) -> None:
    per_class = {"train": 1, "val": 1}
    n = make_kinetics(tmp_path / "a", per_class, 3, 25, 32, 18, seed=5)
    assert n == 2 * len(ACTIONS)
    train = _csv(tmp_path / "a" / "train.csv")
    assert train[0] == list(COLUMNS)
    assert train[0][:6] == ["label", "youtube_id", "time_start", "time_end", "split", "path"]
    rows = train[1:]
    assert len(rows) == len(ACTIONS)
    assert {r[0] for r in rows} == set(ACTIONS)
    assert all(r[4] == "train" and r[5] == f"{r[0]}/{r[1]}_000000_000003.mp4" for r in rows)
    second = [r[6] for r in rows]
    assert "" in second and any(second)
    assert all(s == "" or (s in ACTIONS and s != r[0]) for s, r in zip(second, rows, strict=True))
    source = kinetics_source(tmp_path / "a", "train")  # the reader ignores the extra column
    assert len(source) == len(rows) and source.classes == tuple(sorted(ACTIONS))
    assert len(_csv(tmp_path / "a" / "val.csv")) == 1 + len(ACTIONS)

    # The same bytes for a seed whatever the number of processes; another seed differs.
    make_kinetics(tmp_path / "b", per_class, 3, 25, 32, 18, seed=5, workers=2)
    for name in ("train.csv", "val.csv", rows[0][5], rows[-1][5]):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    make_kinetics(tmp_path / "c", {"val": 1}, 3, 25, 32, 18, seed=6)
    assert _csv(tmp_path / "c" / "val.csv")[1:] != _csv(tmp_path / "a" / "val.csv")[1:]
