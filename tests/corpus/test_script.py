"""Scripts without pixels: scene/shot/event/link invariants; content follows the metadata."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from movierep.corpus.make import assign_splits, plan_movie
from movierep.corpus.presets import resolve_options
from movierep.corpus.script import CAUSAL_RULES, RELATIONSHIP_SPACING
from movierep.corpus.vocab import RELATIONS, TRANSITIVE, VERBS
from movierep.errors import UserError

OPTIONS = resolve_options("tiny", movies=40, minutes=1.0)


@pytest.fixture(scope="module")
def plans() -> list:
    return [plan_movie(i, OPTIONS, seed=0) for i in range(OPTIONS.movies)]


def test_structure_invariants(plans: list) -> None:
    for script, staging in plans:
        fpe = script.frames_per_event
        assert script.scenes[0].start_event == 0
        assert sum(s.num_events for s in script.scenes) == len(script.events)
        for scene in script.scenes:
            assert len(scene.characters) in range(1, 5)
            assert scene.num_events >= 2
            shots = [s for s in script.shots if s.scene_index == scene.index]
            assert shots[0].start_frame == scene.start_event * fpe
            assert shots[-1].end_frame == (scene.start_event + scene.num_events) * fpe
        for event in script.events:
            members = script.scenes[event.scene_index].characters
            assert event.agent in members
            assert (event.patient is not None) == (event.verb in TRANSITIVE)
            if event.patient is not None:
                assert event.patient in members
                assert event.patient != event.agent
        assert len(staging.poses) == len(script.scenes)
        assert sum(len(p) for p in staging.poses) == script.num_frames


def test_links_follow_the_causal_rules(plans: list) -> None:
    rules = {(src, rel, dst) for src, rel, dst, _, _ in CAUSAL_RULES}
    total = 0
    for script, _ in plans:
        for link in script.links:
            src, dst = script.events[link.src], script.events[link.dst]
            assert (src.verb, link.relation, dst.verb) in rules
            assert link.relation in RELATIONS
            assert link.dst - link.src in (1, 2)
            assert src.scene_index == dst.scene_index
            total += 1
    assert total > 40
    relations = Counter(link.relation for script, _ in plans for link in script.links)
    assert set(relations) == set(RELATIONS)


def test_every_verb_occurs_and_genres_shape_content(plans: list) -> None:
    verbs = Counter(e.verb for script, _ in plans for e in script.events)
    assert set(verbs) == set(VERBS)
    # A genre's favourite places are over-represented in its movies.
    hits = total = 0
    for script, _ in plans:
        favourites = set(script.meta.genre.places)
        hits += sum(scene.place in favourites for scene in script.scenes)
        total += len(script.scenes)
    assert hits / total > 0.5  # favourites are 4-7 of 16 places


def test_relationship_shows_in_how_close_the_leads_start(plans: list) -> None:
    gaps: dict[str, list[float]] = {}
    for script, _ in plans:
        for scene in script.scenes:
            if 0 in scene.characters and 1 in scene.characters:
                i, j = scene.characters.index(0), scene.characters.index(1)
                gaps.setdefault(script.meta.relationship, []).append(
                    abs(scene.start_x[i] - scene.start_x[j])
                )
    means = {rel: float(np.mean(v)) for rel, v in gaps.items()}
    ordered = sorted(means, key=means.__getitem__)
    assert ordered == sorted(means, key=RELATIONSHIP_SPACING.__getitem__)


def test_same_seed_same_script_and_other_seed_differs() -> None:
    a, _ = plan_movie(3, OPTIONS, seed=1)
    b, _ = plan_movie(3, OPTIONS, seed=1)
    c, _ = plan_movie(3, OPTIONS, seed=2)
    assert a == b
    assert [e.verb for e in a.events] != [e.verb for e in c.events]


def test_splits_and_options() -> None:
    splits = assign_splits(20, seed=0)
    assert Counter(splits) == {"train": 14, "val": 3, "test": 3}
    assert assign_splits(2, seed=0) == ["train", "train"]
    with pytest.raises(UserError, match="unknown option"):
        resolve_options("tiny", colour="red")
    with pytest.raises(UserError, match="even"):
        resolve_options("tiny", width=127)
    with pytest.raises(UserError, match="unknown"):
        resolve_options("huge")


def test_co_watch_synopsis_and_genre_carry_signal_but_differ(plans: list) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from movierep.corpus.audience import watch_log
    from movierep.corpus.synopsis import synopsis

    metas = [script.meta for script, _ in plans]
    log = watch_log(metas, users=400, rng=np.random.default_rng(0)).to_pylist()
    index = {m.movie_id: i for i, m in enumerate(metas)}
    seen = np.zeros((400, len(metas)))
    for row in log:
        seen[int(row["user_id"][1:]), index[row["movie_id"]]] = 1.0
    cowatch = seen.T @ seen
    texts = [synopsis(script, np.random.default_rng(i)) for i, (script, _) in enumerate(plans)]
    tfidf = TfidfVectorizer().fit_transform(texts)
    text_sim = (tfidf @ tfidf.T).toarray()
    genres = np.array([m.genre.name for m in metas])
    same = genres[:, None] == genres[None, :]
    off = ~np.eye(len(metas), dtype=bool)
    for sim in (cowatch, text_sim):
        assert sim[same & off].mean() > 1.2 * sim[~same].mean()
    # ... but the two similarities are far from identical.
    corr = np.corrcoef(cowatch[off], text_sim[off])[0, 1]
    assert corr < 0.8


def test_directors_and_years_show_in_style(plans: list) -> None:
    by_director: dict[str, list[float]] = {}
    for script, _ in plans:
        lengths = [s.end_frame - s.start_frame for s in script.shots]
        scale = script.meta.director.shot_scale * script.meta.genre.shot_seconds
        by_director.setdefault("slow" if scale > 3 else "fast", []).extend(lengths)
    assert np.mean(by_director["slow"]) > 1.3 * np.mean(by_director["fast"])
