"""Synopses and titles written from a movie's content, with varied wording.

A synopsis names what really happens: the leads (by their role text), their
relationship, the places where most of the movie plays, the verbs that dominate it, the
genre's mood and the prevailing way of speaking. Each fact has several phrasings and the
sentence order follows the writer's style, so two movies with the same content read
differently, and synopsis similarity is related to, but not the same as, genre. The
instalments of a franchise share their leads and home sets, so their synopses tend to
name the same characters and places (nothing else marks a sequel in a synopsis); a
sequel's title derives from the original's.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from movierep.corpus.script import MovieScript

RELATIONSHIP_PHRASES: dict[str, tuple[str, ...]] = {
    "friend": ("two old friends", "a pair of friends", "two loyal companions"),
    "ex_boyfriend_ex_girlfriend": ("two former lovers", "an estranged couple", "two exes"),
    "husband_wife": ("a married couple", "husband and wife", "two long-married spouses"),
    "boyfriend_girlfriend": ("two young lovers", "a couple in love", "two sweethearts"),
}
VERB_PHRASES: dict[str, tuple[str, ...]] = {
    "walk": ("stroll", "wander around"),
    "run": ("race about", "sprint"),
    "jump": ("leap", "jump around"),
    "spin": ("twirl", "spin in circles"),
    "fall": ("keep falling over", "tumble"),
    "approach": ("close in on each other", "draw near"),
    "flee": ("run away", "escape"),
    "chase": ("chase one another", "give chase"),
    "hit": ("come to blows", "fight"),
    "push": ("shove each other", "push and shove"),
    "wave": ("wave to each other", "exchange greetings"),
    "talk": ("talk at length", "argue and confide"),
    "grow": ("swell to giant size", "grow"),
    "shrink": ("shrink", "dwindle"),
    "shake": ("tremble", "shake"),
    "sit": ("sit down together", "settle down"),
    "embrace": ("embrace", "hold each other"),
    "kiss": ("kiss", "share a kiss"),
    "smoke": ("smoke", "light up"),
}
WAY_PHRASES: dict[str, tuple[str, ...]] = {
    "explains": ("long explanations", "patient explaining"),
    "confronts": ("heated confrontations", "face-offs"),
    "discuss": ("easy conversation", "back-and-forth discussion"),
    "teaches": ("lessons", "a mentor's teaching"),
    "threatens": ("menacing threats", "intimidation"),
}
TITLE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "action": (("Iron", "Final", "Rapid", "Last"), ("Strike", "Pursuit", "Run", "Impact")),
    "comedy": (("Silly", "Big", "Happy", "Lucky"), ("Mess", "Weekend", "Party", "Mixup")),
    "drama": (("Quiet", "Long", "Broken", "Distant"), ("Hours", "Letters", "Winter", "Promise")),
    "horror": (("Dark", "Hollow", "Silent", "Cursed"), ("House", "Woods", "Night", "Whisper")),
    "romance": (("Summer", "Sweet", "Second", "Golden"), ("Kiss", "Heart", "Season", "Promise")),
    "scifi": (("Star", "Quantum", "Far", "Neon"), ("Drift", "Signal", "Horizon", "Machine")),
    "thriller": (("Cold", "Hidden", "Double", "Red"), ("Witness", "Trace", "Deal", "Alibi")),
}

#: Subtitles of sequels (``"The Hollow Night: Reckoning"``).
SEQUEL_SUBTITLES = ("Reckoning", "Homecoming", "Legacy", "Aftermath", "Rebirth", "Endgame")


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def title(script: MovieScript, rng: np.random.Generator) -> str:
    """A genre-flavoured title, e.g. ``"The Hollow Night"``.

    A franchise's original draws its words from the franchise's ``title_seed``; a sequel
    numbers it or varies it: ``"The Hollow Night 2"``, ``"Hollow Night II"``,
    ``"Return to the Hollow Night"``, ``"The Hollow Night: Reckoning"``.
    """
    meta = script.meta
    first, second = TITLE_WORDS[meta.genre.name]
    if meta.franchise is None:
        article = "The " if rng.random() < 0.5 else ""
        return f"{article}{_pick(first, rng)} {_pick(second, rng)}"
    words = np.random.default_rng(meta.franchise.title_seed)
    article = "The " if words.random() < 0.5 else ""
    base = f"{article}{_pick(first, words)} {_pick(second, words)}"
    number = meta.instalment + 1
    if number == 1:
        return base
    bare = base.removeprefix("The ")
    return _pick(
        (
            f"{base} {number}",
            f"{bare} {'I' * number if number < 4 else 'IV'}",
            f"Return to the {bare}" if number == 2 else f"{base} {number}",
            f"{base}: {_pick(SEQUEL_SUBTITLES, rng)}",
        ),
        rng,
    )


def synopsis(script: MovieScript, rng: np.random.Generator) -> str:
    """A few sentences describing the movie's content (see the module docstring)."""
    meta, cast = script.meta, script.cast
    lead0, lead1 = cast[0].description, cast[1].description
    places = Counter()  # type: Counter[str]
    for scene in script.scenes:
        places[scene.place] += scene.num_events
    top_places = [p for p, _ in places.most_common(2)]
    verbs = Counter(e.verb for e in script.events if e.verb != "talk")
    top_verbs = [v for v, _ in verbs.most_common(3)]
    ways = Counter(s.way_speaking for s in script.scenes if s.way_speaking != "none")
    mood = _pick(meta.genre.mood, rng)
    relation = _pick(RELATIONSHIP_PHRASES[meta.relationship], rng)
    where = " and the ".join(top_places)
    acts = [_pick(VERB_PHRASES[v], rng) for v in top_verbs]
    action = (
        acts[0] if len(acts) == 1 else ", ".join(acts[:-1]) + " and " + acts[-1] if acts else "wait"
    )
    kind = _pick(("story", "tale", "film", "picture"), rng)
    sentences = [
        _pick(
            (
                f"In this {mood} {kind}, {lead0} and {lead1} are {relation}.",
                f"{lead0.capitalize()} and {lead1}, {relation}, anchor a {mood} {kind}.",
                f"A {mood} {kind} about {relation}: {lead0} and {lead1}.",
            ),
            rng,
        ),
        _pick(
            (
                f"Most of it unfolds in the {where}, where they {action}.",
                f"They {action}, mostly in the {where}.",
                f"Set largely in the {where}, the film sees its characters {action}.",
            ),
            rng,
        ),
    ]
    if ways:
        way = ways.most_common(1)[0][0]
        sentences.append(
            _pick(
                (
                    f"The dialogue is full of {_pick(WAY_PHRASES[way], rng)}.",
                    f"Expect {_pick(WAY_PHRASES[way], rng)} between scenes of action.",
                ),
                rng,
            )
        )
    style = meta.writer.style
    if style == "terse":
        sentences = sentences[:2]
    elif style == "ornate":
        extra = len(script.cast) - 2
        sentences.append(
            f"{extra} more {'figure crosses' if extra == 1 else 'figures cross'} their path"
            f" over {len(script.scenes)} scenes."
        )
    order = (
        rng.permutation(len(sentences) - 1) + 1 if style == "ornate" else range(1, len(sentences))
    )
    return " ".join([sentences[0], *(sentences[int(i)] for i in order)])
