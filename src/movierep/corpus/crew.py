"""The crew: directors (camera habits) and writers (script habits), each a catalog class.

Names are class labels without spaces. A director's favourite genres make them 4x
likelier to direct a movie of that genre, and their active decades give the movie's
year; a writer's favourite genres work the same way. Directors also return to their
settings: each has two favourite places, :data:`PLACE_AFFINITY` times likelier in their
movies.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How much likelier a director's favourite place is in their movies (scene places and a
#: franchise's home sets).
PLACE_AFFINITY = 3.0


@dataclass(frozen=True)
class Director:
    """Camera habits of a director.

    Attributes:
        name: class name (no spaces).
        genres: favourite genres (4x as likely to direct).
        decades: the decades the director is active in (the movie's ``year``).
        places: favourite settings, :data:`PLACE_AFFINITY` times likelier in their movies
            (directors return to their settings).
        shot_scale: multiplies the genre's mean shot length.
        framing: weights of wide / medium / close shots.
        pan: probability that a shot pans; ``zoom``: that it zooms.
        follow: how much the camera follows its subject (0 static .. 1 locked on).
        dissolve: probability of a dissolve between shots; ``fade``: of a fade at a scene change.
        handheld: camera shake amplitude (fraction of the frame).
        popularity: effect on the latent popularity; ``quality``: on the like ratio.
    """

    name: str
    genres: tuple[str, ...]
    decades: tuple[int, ...]
    places: tuple[str, ...]
    shot_scale: float
    framing: tuple[float, float, float]
    pan: float
    zoom: float
    follow: float
    dissolve: float
    fade: float
    handheld: float
    popularity: float
    quality: float


DIRECTORS: tuple[Director, ...] = (
    Director(
        name="ada_moreau",
        genres=("action", "thriller"),
        decades=(1980, 1990, 2000),
        places=("street", "warehouse"),
        shot_scale=0.7,
        framing=(1, 2, 3),
        pan=0.6,
        zoom=0.2,
        follow=0.8,
        dissolve=0.02,
        fade=0.2,
        handheld=0.01,
        popularity=0.5,
        quality=0.2,
    ),
    Director(
        name="bo_lindqvist",
        genres=("drama", "romance"),
        decades=(1950, 1960, 1970),
        places=("hotel", "beach"),
        shot_scale=1.4,
        framing=(4, 2, 1),
        pan=0.1,
        zoom=0.1,
        follow=0.1,
        dissolve=0.3,
        fade=0.6,
        handheld=0.0,
        popularity=-0.3,
        quality=0.6,
    ),
    Director(
        name="chen_okafor",
        genres=("scifi", "action"),
        decades=(2000, 2010),
        places=("spaceship", "airport"),
        shot_scale=0.9,
        framing=(2, 2, 2),
        pan=0.4,
        zoom=0.6,
        follow=0.5,
        dissolve=0.1,
        fade=0.3,
        handheld=0.004,
        popularity=0.7,
        quality=0.0,
    ),
    Director(
        name="dara_voss",
        genres=("horror", "thriller"),
        decades=(1970, 1980, 1990),
        places=("forest", "church"),
        shot_scale=1.1,
        framing=(1, 1, 4),
        pan=0.3,
        zoom=0.5,
        follow=0.3,
        dissolve=0.05,
        fade=0.7,
        handheld=0.006,
        popularity=0.0,
        quality=-0.2,
    ),
    Director(
        name="eli_marsh",
        genres=("comedy", "romance"),
        decades=(1990, 2000, 2010),
        places=("restaurant", "park"),
        shot_scale=1.0,
        framing=(3, 3, 1),
        pan=0.2,
        zoom=0.1,
        follow=0.2,
        dissolve=0.15,
        fade=0.2,
        handheld=0.0,
        popularity=0.3,
        quality=0.3,
    ),
    Director(
        name="fen_aldana",
        genres=("drama", "horror"),
        decades=(1930, 1940, 1950),
        places=("hospital", "library"),
        shot_scale=1.3,
        framing=(3, 1, 2),
        pan=0.0,
        zoom=0.3,
        follow=0.0,
        dissolve=0.45,
        fade=0.8,
        handheld=0.0,
        popularity=-0.5,
        quality=0.4,
    ),
    Director(
        name="gus_ibarra",
        genres=("action", "comedy"),
        decades=(1960, 1970, 1980),
        places=("prison", "kitchen"),
        shot_scale=0.8,
        framing=(2, 3, 2),
        pan=0.7,
        zoom=0.1,
        follow=0.6,
        dissolve=0.05,
        fade=0.1,
        handheld=0.008,
        popularity=0.2,
        quality=-0.3,
    ),
    Director(
        name="hana_kowal",
        genres=("scifi", "thriller"),
        decades=(1990, 2000, 2010),
        places=("office", "spaceship"),
        shot_scale=1.2,
        framing=(1, 3, 3),
        pan=0.2,
        zoom=0.7,
        follow=0.4,
        dissolve=0.2,
        fade=0.4,
        handheld=0.002,
        popularity=0.1,
        quality=0.5,
    ),
)


@dataclass(frozen=True)
class Writer:
    """Script habits of a writer.

    Attributes:
        name: class name (no spaces).
        genres: favourite genres.
        scene_events: mean scene length in 2 s events.
        talk: probability that an event is a talk event (when two characters are present).
        causal: probability that an event is a consequence of one of the two events before it
            (a causal rule of :data:`movierep.corpus.script.CAUSAL_RULES`).
        ways: weights over the ways of speaking (explains, confronts, discuss, teaches, threatens).
        cast: mean number of characters in a scene (1..4).
        style: synopsis style (``plain``, ``terse``, ``ornate``).
        quality: effect on the like ratio.
    """

    name: str
    genres: tuple[str, ...]
    scene_events: float
    talk: float
    causal: float
    ways: tuple[float, float, float, float, float]
    cast: float
    style: str
    quality: float


WRITERS: tuple[Writer, ...] = (
    Writer(
        name="iris_navarro",
        genres=("drama", "romance"),
        scene_events=9.0,
        talk=0.45,
        causal=0.7,
        ways=(2, 1, 4, 1, 0.5),
        cast=2.4,
        style="ornate",
        quality=0.4,
    ),
    Writer(
        name="jon_achebe",
        genres=("action", "thriller"),
        scene_events=5.0,
        talk=0.15,
        causal=0.95,
        ways=(1, 3, 1, 0.5, 4),
        cast=3.0,
        style="terse",
        quality=0.0,
    ),
    Writer(
        name="kai_sorensen",
        genres=("comedy",),
        scene_events=6.0,
        talk=0.3,
        causal=0.85,
        ways=(2, 2, 3, 2, 0.5),
        cast=3.2,
        style="plain",
        quality=0.2,
    ),
    Writer(
        name="lena_dubois",
        genres=("horror", "scifi"),
        scene_events=7.0,
        talk=0.2,
        causal=0.9,
        ways=(3, 1, 1, 2, 3),
        cast=2.2,
        style="ornate",
        quality=-0.2,
    ),
    Writer(
        name="milo_tanaka",
        genres=("scifi", "drama"),
        scene_events=8.0,
        talk=0.35,
        causal=0.75,
        ways=(4, 1, 2, 4, 0.5),
        cast=2.6,
        style="plain",
        quality=0.3,
    ),
    Writer(
        name="nora_quist",
        genres=("romance", "comedy"),
        scene_events=6.5,
        talk=0.4,
        causal=0.8,
        ways=(1, 1, 4, 1, 0.3),
        cast=2.1,
        style="terse",
        quality=0.1,
    ),
    Writer(
        name="omar_reyes",
        genres=("thriller", "horror"),
        scene_events=5.5,
        talk=0.25,
        causal=0.9,
        ways=(1, 4, 1, 0.5, 3),
        cast=2.8,
        style="plain",
        quality=-0.1,
    ),
)
