"""A movie's script: scenes, shots, 2 s events and the causal links between events.

The script is drawn from the catalog facts (:class:`MovieMeta`) alone, before anything
is rendered:

- **Scenes** tile the movie in whole events (a scene happens in one place with 1-4
  characters; its length follows the writer). The two leads share scenes often and their
  relationship sets how they are placed and what they do together. A scene change is
  not always a place change: a scene may play later in the place of the scene before
  (same background, other characters) or in another room of the same kind. Places follow
  the genre and the director's favourites; an instalment of a franchise brings back the
  franchise's leads and plays many scenes in its home sets (:mod:`.franchise`).
- **Events** are consecutive 2 s windows, one verb each. With the writer's causal rate
  an event is a consequence of one or both of the two events before it in its scene
  (:data:`CAUSAL_RULES`, e.g. ``hit -> fall``, ``chase -> flee``, and the
  :data:`TALK_RULES` of the scene's way of speaking), so consequences chain. Two events
  of a scene at most 2 events apart are linked when a rule matches them, or when the
  middle one follows from the first and leads to the last (the first *Enables* the
  last): every link stays inside VidSitu's 10 s (5-event) window.
- **Shots** tile each scene with lognormal lengths (the genre's pacing times the
  director's habit); each has a camera plan (framing, subject, pan, zoom) and an
  incoming transition (cut, dissolve, or fade at scene changes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from movierep.corpus.franchise import HOME_SET_P, HomeSet
from movierep.corpus.metadata import MovieMeta
from movierep.corpus.vocab import (
    FRAMINGS,
    PLACES,
    TRANSITIVE,
    VERBS,
    WAYS_SPEAKING,
)
from movierep.corpus.world import Character, Palette, sample_cast

#: (source verb, relation, destination verb, destination agent, destination patient).
#: Roles name the source's participants: ``a`` agent, ``p`` patient, ``o`` another
#: character of the scene, ``-`` none. Relations read "src Causes dst", "dst is a
#: Reaction To src", "src Enables dst". Two events of a scene at most 2 events apart are
#: linked exactly when a rule (or a :data:`TALK_RULES` rule of the scene) matches them.
CAUSAL_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    ("hit", "Causes", "fall", "p", "-"),
    ("push", "Causes", "fall", "p", "-"),
    ("chase", "Causes", "fall", "p", "-"),
    ("jump", "Causes", "fall", "a", "-"),
    ("spin", "Causes", "fall", "a", "-"),
    ("run", "Causes", "fall", "a", "-"),
    ("flee", "Causes", "fall", "a", "-"),
    ("shake", "Causes", "fall", "a", "-"),
    ("spin", "Causes", "shake", "a", "-"),
    ("smoke", "Causes", "shake", "a", "-"),
    ("fall", "Causes", "shake", "a", "-"),
    ("hit", "Reaction To", "hit", "p", "a"),
    ("hit", "Reaction To", "shake", "p", "-"),
    ("hit", "Reaction To", "flee", "p", "a"),
    ("push", "Reaction To", "push", "p", "a"),
    ("push", "Reaction To", "hit", "p", "a"),
    ("push", "Reaction To", "shake", "p", "-"),
    ("chase", "Reaction To", "flee", "p", "a"),
    ("flee", "Reaction To", "chase", "p", "a"),
    ("approach", "Reaction To", "flee", "p", "a"),
    ("grow", "Reaction To", "flee", "o", "a"),
    ("grow", "Reaction To", "shrink", "o", "-"),
    ("talk", "Reaction To", "talk", "p", "a"),
    ("wave", "Reaction To", "wave", "p", "a"),
    ("wave", "Reaction To", "approach", "p", "a"),
    ("fall", "Reaction To", "approach", "o", "a"),
    ("shake", "Reaction To", "approach", "o", "a"),
    ("shrink", "Reaction To", "approach", "o", "a"),
    ("kiss", "Reaction To", "embrace", "p", "a"),
    ("approach", "Enables", "hit", "a", "p"),
    ("approach", "Enables", "talk", "a", "p"),
    ("approach", "Enables", "embrace", "a", "p"),
    ("approach", "Enables", "push", "a", "p"),
    ("approach", "Enables", "kiss", "a", "p"),
    ("chase", "Enables", "hit", "a", "p"),
    ("chase", "Enables", "push", "a", "p"),
    ("run", "Enables", "jump", "a", "-"),
    ("walk", "Enables", "sit", "a", "-"),
    ("sit", "Enables", "smoke", "a", "-"),
    ("sit", "Enables", "talk", "a", "o"),
    ("embrace", "Enables", "kiss", "a", "p"),
)
#: What a talk event leads to, by the scene's way of speaking (source verb ``talk``; the
#: listener ``p`` reacts): threats make the listener flee, cower or tremble, a
#: confrontation ends in a push or a hit, a lesson makes the listener sit, and a
#: discussion or an explanation ends in an embrace or a walk.
TALK_RULES: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "threatens": (
        ("talk", "Reaction To", "flee", "p", "a"),
        ("talk", "Reaction To", "shrink", "p", "-"),
        ("talk", "Reaction To", "shake", "p", "-"),
    ),
    "confronts": (
        ("talk", "Reaction To", "push", "p", "a"),
        ("talk", "Reaction To", "hit", "p", "a"),
    ),
    "teaches": (("talk", "Causes", "sit", "p", "-"),),
    "discuss": (("talk", "Enables", "embrace", "p", "a"),),
    "explains": (("talk", "Enables", "walk", "p", "-"),),
}
#: Weight of a consequence of the previous event over one of the event before it, and
#: extra weight of a consequence that follows from both (two links).
PREVIOUS_WEIGHT = 10.0
DOUBLE_CAUSE_WEIGHT = 4.0


def scene_rules(way_speaking: str) -> tuple[tuple[str, str, str, str, str], ...]:
    """The causal rules of a scene: :data:`CAUSAL_RULES` plus its way of speaking's."""
    return CAUSAL_RULES + TALK_RULES.get(way_speaking, ())


#: Verbs the two leads favour together, by relationship (shows the relationship in content).
RELATIONSHIP_VERBS: dict[str, dict[str, float]] = {
    "friend": {"talk": 3, "wave": 3, "walk": 2, "approach": 1},
    "ex_boyfriend_ex_girlfriend": {"flee": 3, "push": 2, "talk": 2, "approach": 1},
    "husband_wife": {"talk": 3, "sit": 2, "embrace": 2, "walk": 1},
    "boyfriend_girlfriend": {"embrace": 3, "kiss": 3, "talk": 2, "approach": 2},
}
#: How far apart the leads start a scene (fraction of the world width), by relationship.
RELATIONSHIP_SPACING: dict[str, float] = {
    "friend": 0.25,
    "ex_boyfriend_ex_girlfriend": 0.5,
    "husband_wife": 0.16,
    "boyfriend_girlfriend": 0.11,
}
#: Scene changes are not always place changes. With probability ``SAME_PLACE_P`` a scene
#: plays where the scene before it played (same place, layout and palette: the same
#: background), a later moment there, if its characters differ; with probability
#: ``SAME_KIND_P`` (or when its characters are the same) it plays in another room of the
#: same kind (same place class and palette, a new layout). In an instalment of a
#: franchise, a scene that does not keep the background before it plays in one of the
#: franchise's home sets with probability ``franchise.HOME_SET_P`` first.
SAME_PLACE_P = 0.4
SAME_KIND_P = 0.2
#: Redraws of a shot's camera plan while it has the framing of the shot before it in the
#: scene: consecutive shots of a scene mostly change framing.
REFRAME_TRIES = 3
#: Genre nudges on the writer's ways of speaking.
GENRE_WAYS: dict[str, tuple[float, float, float, float, float]] = {
    "action": (1, 2, 1, 0.5, 2),
    "comedy": (1, 1, 2, 1, 0.5),
    "drama": (2, 1, 2, 1, 0.5),
    "horror": (1, 1, 0.5, 0.5, 3),
    "romance": (1, 1, 3, 0.5, 0.3),
    "scifi": (3, 0.5, 1, 3, 0.5),
    "thriller": (1, 2, 1, 0.5, 3),
}


@dataclass(frozen=True)
class Scene:
    """A stretch of the movie in one place.

    Attributes:
        index: scene number in the movie.
        place: class of :data:`PLACES`.
        characters: cast indices present (1-4).
        way_speaking: how its talk events are staged (``none`` without talk).
        start_event: first event index; ``num_events`` its length in 2 s events.
        palette: colour transform of the background.
        layout_seed: seed of the procedural background layout.
        start_x: initial x of each character (fraction of world width).
        start_y: initial ground line of each character (fraction of world height).
    """

    index: int
    place: str
    characters: tuple[int, ...]
    way_speaking: str
    start_event: int
    num_events: int
    palette: Palette
    layout_seed: int
    start_x: tuple[float, ...]
    start_y: tuple[float, ...]


@dataclass(frozen=True)
class Event:
    """One 2 s event: a verb performed by an agent, maybe on a patient (cast indices)."""

    index: int
    scene_index: int
    verb: str
    agent: int
    patient: int | None


@dataclass(frozen=True)
class Link:
    """A causal link ``src relation dst`` between two events of the same scene."""

    src: int
    dst: int
    relation: str


@dataclass(frozen=True)
class CameraPlan:
    """How one shot is filmed.

    Attributes:
        framing: ``wide``, ``medium`` or ``close``.
        zoom: world width / visible width at the shot's first frame.
        zoom_rate: relative zoom change per second (>0 zooms in).
        subject: cast index the camera frames (``None`` for a wide master shot).
        pan: horizontal pan speed in world widths per second.
        follow: how much the camera follows the subject's motion (0..1).
        handheld: camera-shake amplitude (fraction of the visible width).
        offset: framing offset of the centre (fraction of the visible width).
    """

    framing: str
    zoom: float
    zoom_rate: float
    subject: int | None
    pan: float
    follow: float
    handheld: float
    offset: float

    def describe(self, cast: list[Character]) -> str:
        """Camera text for ``shots.parquet``, e.g. ``close:c1;pan_right;zoom_in``."""
        parts = [
            self.framing
            + (f":{cast[self.subject].character_id}" if self.subject is not None else "")
        ]
        if self.pan:
            parts.append("pan_right" if self.pan > 0 else "pan_left")
        if self.zoom_rate:
            parts.append("zoom_in" if self.zoom_rate > 0 else "zoom_out")
        if self.handheld:
            parts.append("handheld")
        return ";".join(parts)


@dataclass(frozen=True)
class Shot:
    """A continuous camera take: frames ``[start_frame, end_frame)`` of one scene."""

    index: int
    scene_index: int
    start_frame: int
    end_frame: int
    transition_in: str
    camera: CameraPlan


@dataclass(frozen=True)
class MovieScript:
    """Everything that happens in one movie, in frames and 2 s events."""

    meta: MovieMeta
    cast: list[Character]
    scenes: list[Scene]
    events: list[Event]
    links: list[Link]
    shots: list[Shot]
    fps: int

    @property
    def frames_per_event(self) -> int:
        """Frames of one 2 s event."""
        return 2 * self.fps

    @property
    def num_frames(self) -> int:
        """Length of the movie in frames."""
        return len(self.events) * self.frames_per_event


def _weights(values: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    w = np.array([values.get(n, 0.0) for n in names], dtype=float)
    return np.asarray(w / w.sum())


def _scene_lengths(total: int, mean: float, rng: np.random.Generator) -> list[int]:
    lengths: list[int] = []
    while sum(lengths) < total:
        lengths.append(int(np.clip(rng.poisson(mean), 2, 30)))
    lengths[-1] -= sum(lengths) - total
    if lengths[-1] < 2 and len(lengths) > 1:
        last = lengths.pop()  # (``lengths[-2] += lengths.pop()`` would add it to the wrong one)
        lengths[-1] += last
    return lengths


def _plan_scenes(meta: MovieMeta, cast: list[Character], rng: np.random.Generator) -> list[Scene]:
    genre, writer = meta.genre, meta.writer
    movie_palette = Palette(meta.hue, genre.saturation, genre.brightness)
    ways = np.array(writer.ways) * np.array(GENRE_WAYS[genre.name])
    place_weights, franchise = meta.place_weights(), meta.franchise
    scenes: list[Scene] = []
    start = 0
    for index, length in enumerate(_scene_lengths(meta.num_events, writer.scene_events, rng)):
        size = int(np.clip(rng.poisson(writer.cast - 1) + 1, 1, min(4, len(cast))))
        leads = [0, 1] if rng.random() < 0.7 else [int(rng.integers(2))]
        others = [int(c) for c in rng.permutation(np.arange(2, len(cast)))]
        members = (leads + others)[: max(size, 1)]
        xs = np.sort(rng.uniform(0.12, 0.88, len(members)))
        order = [int(i) for i in rng.permutation(len(members))]
        start_x = [float(xs[order[i]]) for i in range(len(members))]
        if 0 in members and 1 in members:  # the relationship shows in how close the leads stand
            i0, i1 = members.index(0), members.index(1)
            mid = float(np.clip(start_x[i0], 0.3, 0.7))
            gap = RELATIONSHIP_SPACING[meta.relationship] * rng.uniform(0.85, 1.15)
            side = 1 if rng.random() < 0.5 else -1
            start_x[i0], start_x[i1] = mid - side * gap / 2, mid + side * gap / 2
        place = PLACES[int(rng.choice(len(PLACES), p=place_weights))]
        way = WAYS_SPEAKING[int(rng.choice(len(WAYS_SPEAKING), p=ways / ways.sum()))]
        palette, layout_seed = movie_palette.jitter(rng), int(rng.integers(2**31))
        start_y = tuple(float(y) for y in rng.uniform(0.8, 0.94, len(members)))
        continuity = rng.random()
        same_cast = bool(scenes) and set(members) == set(scenes[-1].characters)
        keep = bool(scenes) and continuity < SAME_PLACE_P and not same_cast
        if franchise is not None and not keep and rng.random() < HOME_SET_P:
            # one of the franchise's recurring sets, looking as it does in every instalment
            home = franchise.sets[int(rng.choice(len(franchise.sets), p=franchise.set_weights()))]
            place, palette = home.place, home.palette
            if not (same_cast and _same_place(scenes[-1], home)):  # else another room there
                layout_seed = home.layout_seed
        elif keep:
            # a later moment in the same place with other characters: the same background
            previous = scenes[-1]
            place, palette, layout_seed = previous.place, previous.palette, previous.layout_seed
        elif scenes and continuity < SAME_PLACE_P + SAME_KIND_P:
            # another room of the same kind (same place class and colours, new layout)
            place, palette = scenes[-1].place, scenes[-1].palette
        scenes.append(
            Scene(
                index=index,
                place=place,
                characters=tuple(members),
                way_speaking=way,
                start_event=start,
                num_events=length,
                palette=palette,
                layout_seed=layout_seed,
                start_x=tuple(start_x),
                start_y=start_y,
            )
        )
        start += length
    return scenes


def _same_place(a: Scene, b: Scene | HomeSet) -> bool:
    """Whether two scenes (or a scene and a set) have the same place and background."""
    return (a.place, a.layout_seed, a.palette) == (b.place, b.layout_seed, b.palette)


def _fresh_event(meta: MovieMeta, scene: Scene, index: int, rng: np.random.Generator) -> Event:
    """An event not caused by an earlier one: talk, a verb of the leads, or a genre verb."""
    members = list(scene.characters)
    if len(members) >= 2 and rng.random() < meta.writer.talk:
        verb = "talk"
    elif 0 in members and 1 in members and rng.random() < 0.4:
        weights = _weights(RELATIONSHIP_VERBS[meta.relationship], VERBS)
        verb = VERBS[int(rng.choice(len(VERBS), p=weights))]
        agent = int(rng.integers(2))  # one lead acts, on the other
        return Event(index, scene.index, verb, agent, 1 - agent if verb in TRANSITIVE else None)
    else:
        weights = meta.genre.verb_weights()
        if len(members) < 2:
            weights = weights * np.array([v not in TRANSITIVE for v in VERBS])
        verb = VERBS[int(rng.choice(len(VERBS), p=weights / weights.sum()))]
    order = [int(c) for c in rng.permutation(members)]
    patient = order[1] if verb in TRANSITIVE else None
    return Event(index, scene.index, verb, order[0], patient)


def _relation(src: Event, dst: Event, scene: Scene) -> str | None:
    """The relation of the first causal rule that ``src -> dst`` satisfies, else None."""
    roles = {"a": src.agent, "p": src.patient}
    others = [c for c in scene.characters if c not in (src.agent, src.patient)]
    for verb, relation, dst_verb, agent_role, patient_role in scene_rules(scene.way_speaking):
        if verb != src.verb or dst_verb != dst.verb:
            continue
        for role, who in ((agent_role, dst.agent), (patient_role, dst.patient)):
            if role == "-":
                ok = who is None
            elif role == "o":
                ok = who in others
            else:
                ok = who is not None and who == roles[role]
            if not ok:
                break
        else:
            return relation
    return None


def _consequences(src: Event, scene: Scene) -> list[tuple[str, int, int | None]]:
    """Every (verb, agent, patient) that a causal rule lets ``src`` lead to."""
    others = [c for c in scene.characters if c not in (src.agent, src.patient)]
    out: list[tuple[str, int, int | None]] = []
    pick: dict[str, list[int | None]] = {
        "a": [src.agent],
        "p": [src.patient],
        "o": list(others),
        "-": [None],
    }
    for verb, _, dst, agent_role, patient_role in scene_rules(scene.way_speaking):
        if verb != src.verb:
            continue
        for agent in pick[agent_role]:
            for patient in pick[patient_role]:
                if agent is None or (patient_role != "-" and patient in (None, agent)):
                    continue
                if (dst, agent, patient) not in out:
                    out.append((dst, agent, patient))
    return out


def _caused_event(
    meta: MovieMeta, scene: Scene, sources: list[Event], index: int, rng: np.random.Generator
) -> Event | None:
    """A consequence of the previous event(s) ``sources`` (nearest first), or None.

    Candidates are the rule consequences of either source; one is drawn with the genre's
    verb weights, :data:`PREVIOUS_WEIGHT` times likelier when it follows from the previous
    event and :data:`DOUBLE_CAUSE_WEIGHT` times likelier again when it follows from both.
    """
    candidates = [c for src in sources for c in _consequences(src, scene)]
    candidates = list(dict.fromkeys(candidates))
    if not candidates:
        return None
    verb_weights = dict(zip(VERBS, meta.genre.verb_weights(), strict=True))
    weights = []
    for verb, agent, patient in candidates:
        event = Event(index, scene.index, verb, agent, patient)
        linked = [_relation(src, event, scene) is not None for src in sources]
        w = verb_weights[verb] * (PREVIOUS_WEIGHT if linked[0] else 1.0)
        if all(linked) and len(linked) > 1:
            w *= DOUBLE_CAUSE_WEIGHT
        weights.append(w)
    p = np.array(weights) / sum(weights)
    verb, agent, patient = candidates[int(rng.choice(len(candidates), p=p))]
    return Event(index, scene.index, verb, agent, patient)


def _scene_links(events: list[Event], scene: Scene) -> list[Link]:
    """The links of a scene's events, ordered by destination then source.

    A pair at most 2 events apart is linked by the first rule that it satisfies; a pair
    2 apart that no rule links, whose middle event follows from the first and leads to
    the last, is linked too: the first *Enables* the last through the middle one.
    """
    first, end = scene.start_event, scene.start_event + scene.num_events
    direct: dict[tuple[int, int], str] = {}
    for dst in range(first, end):
        for src in (dst - 2, dst - 1):
            if src >= first:
                relation = _relation(events[src], events[dst], scene)
                if relation is not None:
                    direct[src, dst] = relation
    links = []
    for dst in range(first, end):
        for src in (dst - 2, dst - 1):
            if (src, dst) in direct:
                links.append(Link(src, dst, direct[src, dst]))
            elif dst - src == 2 and (src, src + 1) in direct and (src + 1, dst) in direct:
                links.append(Link(src, dst, "Enables"))
    return links


def _script_events(
    meta: MovieMeta, scenes: list[Scene], rng: np.random.Generator
) -> tuple[list[Event], list[Link]]:
    """Events and links, scene by scene.

    With the writer's causal rate an event is a consequence of one or both of the two
    events before it (:func:`_caused_event`), else a fresh event (:func:`_fresh_event`);
    a scene with company gets a talk event if it has none. The links are then read off
    the final events (:func:`_scene_links`).
    """
    events: list[Event] = []
    for scene in scenes:
        end = scene.start_event + scene.num_events
        for index in range(scene.start_event, end):
            sources = [events[i] for i in (index - 1, index - 2) if i >= scene.start_event]
            event = None
            if sources and rng.random() < meta.writer.causal:
                event = _caused_event(meta, scene, sources, index, rng)
            events.append(event or _fresh_event(meta, scene, index, rng))
        scene_events = events[scene.start_event : end]
        if len(scene.characters) >= 2 and not any(e.verb == "talk" for e in scene_events):
            # every scene with company has a talk event (its way of speaking shows);
            # prefer an event that no causal rule ties to its neighbours
            tied = {i for link in _scene_links(events, scene) for i in (link.src, link.dst)}
            free = [e.index for e in scene_events if e.index not in tied]
            i = int(rng.choice(free or [e.index for e in scene_events]))
            a, p = (int(c) for c in rng.permutation(list(scene.characters))[:2])
            events[i] = Event(i, scene.index, "talk", a, p)
    links = [link for scene in scenes for link in _scene_links(events, scene)]
    return events, links


def _plan_camera(
    meta: MovieMeta,
    scene: Scene,
    events: list[Event],
    first: bool,
    mid_event: int,
    rng: np.random.Generator,
) -> CameraPlan:
    d = meta.director
    framing_w = np.array(d.framing, dtype=float) * (np.array([4.0, 1.0, 0.5]) if first else 1.0)
    framing = list(FRAMINGS)[int(rng.choice(3, p=framing_w / framing_w.sum()))]
    subject = None
    if framing != "wide":
        subject = (
            events[mid_event].agent if rng.random() < 0.7 else int(rng.choice(scene.characters))
        )
    lo, hi = FRAMINGS[framing]
    zoom_rate = (
        float(rng.choice([-1, 1]) * rng.uniform(0.04, 0.12)) if rng.random() < d.zoom else 0.0
    )
    pan = float(rng.choice([-1, 1]) * rng.uniform(0.02, 0.06)) if rng.random() < d.pan else 0.0
    return CameraPlan(
        framing=framing,
        zoom=float(rng.uniform(lo, hi)),
        zoom_rate=zoom_rate,
        subject=subject,
        pan=pan,
        follow=d.follow,
        handheld=d.handheld,
        offset=float(rng.uniform(-0.15, 0.15)),
    )


def _plan_shots(
    meta: MovieMeta, scenes: list[Scene], events: list[Event], fps: int, rng: np.random.Generator
) -> list[Shot]:
    fpe = 2 * fps
    mean = meta.genre.shot_seconds * meta.director.shot_scale * fps
    min_len = max(8, int(0.6 * fps))
    shots: list[Shot] = []
    for scene in scenes:
        # a scene in the place of the one before needs no establishing (wide) shot
        establish = scene.index == 0 or not _same_place(scenes[scene.index - 1], scene)
        start = scene.start_event * fpe
        end = start + scene.num_events * fpe
        cuts = [start]
        while cuts[-1] < end:
            length = max(min_len, int(rng.lognormal(np.log(mean) - 0.125, 0.5)))
            cuts.append(min(end, cuts[-1] + length))
        if len(cuts) > 2 and cuts[-1] - cuts[-2] < min_len:
            cuts.pop(-2)
        for k, (s, e) in enumerate(itertools.pairwise(cuts)):
            if not shots:
                transition = "fade"
            elif k == 0:
                r = rng.random()
                transition = (
                    "fade"
                    if r < meta.director.fade
                    else "dissolve"
                    if r < meta.director.fade + 0.2
                    else "cut"
                )
            else:
                transition = "dissolve" if rng.random() < meta.director.dissolve * 0.5 else "cut"
            mid_event = ((s + e) // 2) // fpe
            camera = _plan_camera(meta, scene, events, k == 0 and establish, mid_event, rng)
            for _ in range(REFRAME_TRIES):  # the editor avoids cutting to the same framing
                if k == 0 or camera.framing != shots[-1].camera.framing:
                    break
                camera = _plan_camera(meta, scene, events, False, mid_event, rng)
            shots.append(Shot(len(shots), scene.index, s, e, transition, camera))
    return shots


def write_script(meta: MovieMeta, fps: int, rng: np.random.Generator) -> MovieScript:
    """Draw the whole script of one movie: cast, scenes, events, links and shots."""
    leads = meta.franchise.leads if meta.franchise is not None else ()
    cast = sample_cast(int(rng.integers(3, 7)), rng, leads)
    scenes = _plan_scenes(meta, cast, rng)
    events, links = _script_events(meta, scenes, rng)
    shots = _plan_shots(meta, scenes, events, fps, rng)
    return MovieScript(meta, cast, scenes, events, links, shots, fps)
