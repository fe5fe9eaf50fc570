"""Franchises: sequels share leads, home sets and crew; viewers follow them; all seeded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from movierep.corpus.audience import watch_log
from movierep.corpus.franchise import _blocks, franchise_of
from movierep.corpus.make import plan_movie
from movierep.corpus.presets import resolve_options
from movierep.corpus.script import MovieScript

OPTIONS = resolve_options("tiny", movies=40, minutes=0.6)


@pytest.fixture(scope="module")
def scripts() -> list[MovieScript]:
    return [plan_movie(i, OPTIONS, seed=0)[0] for i in range(OPTIONS.movies)]


def _background(scene: object) -> tuple:
    return (scene.place, scene.layout_seed, scene.palette)  # type: ignore[attr-defined]


def test_about_half_the_movies_belong_to_franchises_of_2_to_4() -> None:
    blocks = _blocks(999, seed=0, stream=6)
    movies = sum(size for _, size, _ in blocks)
    in_franchise = sum(size for _, size, k in blocks if k is not None)
    assert 0.35 < in_franchise / movies < 0.6
    assert {size for _, size, k in blocks if k is not None} == {2, 3, 4}
    # blocks never depend on how many movies the corpus has
    assert _blocks(99, seed=0, stream=6) == blocks[: len(_blocks(99, seed=0, stream=6))]


def test_instalments_share_leads_home_sets_and_facts(scripts: list[MovieScript]) -> None:
    by_franchise: dict[int, list[MovieScript]] = {}
    for script in scripts:
        if script.meta.franchise is not None:
            by_franchise.setdefault(script.meta.franchise.index, []).append(script)
    sequels = [group for group in by_franchise.values() if len(group) >= 2]
    assert len(sequels) >= 3
    home = total = shared = pairs = 0
    for group in sequels:
        franchise = group[0].meta.franchise
        assert franchise is not None
        sets = {(s.place, s.layout_seed, s.palette) for s in franchise.sets}
        assert [s.meta.instalment for s in group] == list(range(len(group)))
        years = [s.meta.year for s in group]
        assert years == sorted(years) and years[-1] - years[0] <= 5 * len(group)
        for script in group:
            meta = script.meta
            assert meta.franchise == franchise
            assert (meta.genre, meta.relationship, meta.hue) == (
                franchise.genre, franchise.relationship, franchise.hue,
            )  # fmt: skip
            lead_looks = [(c.shape, c.color, c.size) for c in script.cast[:2]]
            assert lead_looks == [(c.shape, c.color, c.size) for c in franchise.leads]
            shapes = [c.shape for c in script.cast]
            colors = [c.color for c in script.cast]
            assert len(set(shapes)) == len(shapes) and len(set(colors)) == len(colors)
            home += sum(_background(scene) in sets for scene in script.scenes)
            total += len(script.scenes)
        # the same room, looking the same, recurs across instalments
        used = [{_background(s) for s in script.scenes} & sets for script in group]
        shared += sum(bool(a & b) for a, b in itertools.combinations(used, 2))
        pairs += len(group) * (len(group) - 1) // 2
    assert 0.45 < home / total < 0.85
    assert shared > 0.4 * pairs
    for script in scripts:
        meta, franchise = script.meta, script.meta.franchise
        if franchise is not None and meta.instalment == 0:
            assert (meta.director, meta.writer) == (franchise.director, franchise.writer)


def test_standalone_movies_are_unchanged_in_kind(scripts: list[MovieScript]) -> None:
    home_sets = {
        (s.place, s.layout_seed, s.palette)
        for script in scripts
        if script.meta.franchise is not None
        for s in script.meta.franchise.sets
    }
    standalone = [s for s in scripts if s.meta.franchise is None]
    assert len(standalone) >= 10
    for script in standalone:
        assert script.meta.instalment == 0
        assert 3 <= len(script.cast) <= 6
        assert len({c.shape for c in script.cast}) == len(script.cast)
        assert not {_background(s) for s in script.scenes} & home_sets
    # the leads of different standalone movies are drawn independently
    leads = {(c.shape, c.color, c.size) for s in standalone for c in s.cast[:2]}
    assert len(leads) > 1.5 * len(standalone)


def test_viewers_co_watch_the_instalments_of_a_franchise(scripts: list[MovieScript]) -> None:
    metas = [s.meta for s in scripts]
    log = watch_log(metas, users=300, rng=np.random.default_rng(0)).to_pydict()
    seen = np.zeros((300, len(metas)))
    after = np.zeros((len(metas), len(metas)))
    previous: dict[str, int] = {}
    for user, movie in zip(log["user_id"], log["movie_id"], strict=True):
        m = int(movie[1:])
        seen[int(user[1:]), m] = 1.0
        if user in previous:
            after[previous[user], m] += 1
        previous[user] = m
    both = seen.T @ seen
    franchise = [m.franchise.index if m.franchise else -1 for m in metas]
    pairs = list(itertools.combinations(range(len(metas)), 2))
    same = [(a, b) for a, b in pairs if franchise[a] == franchise[b] >= 0]
    other = [(a, b) for a, b in pairs if franchise[a] != franchise[b] or franchise[a] < 0]
    assert np.mean([both[p] for p in same]) > 1.5 * np.mean([both[p] for p in other])
    next_same = np.mean([after[a, b] + after[b, a] for a, b in same])
    next_other = np.mean([after[a, b] + after[b, a] for a, b in other])
    assert next_same > 5 * next_other


def test_same_seed_same_franchises() -> None:
    a, _ = plan_movie(5, OPTIONS, seed=3)
    b, _ = plan_movie(5, OPTIONS, seed=3)
    assert a == b
    assert franchise_of(5, seed=3, stream=6) == franchise_of(5, seed=3, stream=6)
    assert [franchise_of(i, 0, 6)[0] is None for i in range(40)] != [
        franchise_of(i, 1, 6)[0] is None for i in range(40)
    ]
    metas = [plan_movie(i, OPTIONS, seed=3)[0].meta for i in range(12)]
    one = watch_log(metas, users=20, rng=np.random.default_rng(7))
    two = watch_log(metas, users=20, rng=np.random.default_rng(7))
    assert one.equals(two)


def test_the_next_movie_often_comes_from_a_more_like_this_row(
    scripts: list[MovieScript],
) -> None:
    """Consecutive watches share the genre or the director far more than random pairs."""
    metas = [s.meta for s in scripts]
    log = watch_log(metas, users=200, rng=np.random.default_rng(1)).to_pydict()
    kind = {m.movie_id: (m.genre.name, m.director.name) for m in metas}
    same_next, previous = [], {}
    for user, movie in zip(log["user_id"], log["movie_id"], strict=True):
        if user in previous:
            a, b = kind[previous[user]], kind[movie]
            same_next.append(a[0] == b[0] or a[1] == b[1])
        previous[user] = movie
    pairs = list(itertools.combinations(metas, 2))
    same_any = np.mean([a.genre == b.genre or a.director == b.director for a, b in pairs])
    assert np.mean(same_next) > 0.5 > 1.5 * same_any
