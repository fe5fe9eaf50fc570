"""Catalog-level causes of a movie's content: genres, directors, writers, year, popularity.

As in real catalogs, metadata is not independent of content: a genre sets the odds of
places and verbs, the pacing (mean shot length) and the palette; a director has camera
habits (framing, pans, zooms, dissolves, shot length) and favourite genres and decades;
a writer has script habits (scene length, how much talk, how often one event causes the
next, favourite ways of speaking); both are listed in :mod:`.crew`. A director's
favourite places are likelier in their movies. The year is drawn from the director's
active decades and shows as a visual grade (:mod:`.render`). Popularity is a latent
variable that drives view counts and likes (:mod:`.audience`). A movie may be an
instalment of a franchise (:mod:`.franchise`), whose shared facts replace its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from movierep.corpus.crew import DIRECTORS, PLACE_AFFINITY, WRITERS, Director, Writer
from movierep.corpus.vocab import DECADES, GENRES, PLACES, RELATIONSHIPS, VERBS

if TYPE_CHECKING:
    from movierep.corpus.franchise import Franchise


@dataclass(frozen=True)
class Genre:
    """A genre's distributions over content and style.

    Attributes:
        name: class name.
        places: relative weights of the favoured places (others get weight 0.3).
        verbs: relative weights of the favoured verbs (others get weight 0.4).
        shot_seconds: mean shot length (pacing).
        hue_shift: palette rotation in degrees; ``saturation`` and ``brightness`` scale it.
        relationships: weights over :data:`RELATIONSHIPS` for the two leads.
        popularity: mean of the latent popularity.
        mood: adjectives the synopsis uses for this genre.
    """

    name: str
    places: dict[str, float]
    verbs: dict[str, float]
    shot_seconds: float
    hue_shift: float
    saturation: float
    brightness: float
    relationships: tuple[float, float, float, float]
    popularity: float
    mood: tuple[str, ...]

    def place_weights(self) -> np.ndarray:
        """Normalised weights over :data:`PLACES`."""
        w = np.array([self.places.get(p, 0.3) for p in PLACES])
        return np.asarray(w / w.sum())

    def verb_weights(self) -> np.ndarray:
        """Normalised weights over :data:`VERBS`."""
        w = np.array([self.verbs.get(v, 0.4) for v in VERBS])
        return np.asarray(w / w.sum())


GENRE_PROFILES: dict[str, Genre] = {
    g.name: g
    for g in (
        Genre(
            name="action",
            places={"street": 4, "warehouse": 4, "airport": 3, "prison": 3},
            verbs={"run": 4, "chase": 4, "hit": 4, "push": 3, "jump": 3, "flee": 3, "fall": 2},
            shot_seconds=1.6,
            hue_shift=25,
            saturation=1.15,
            brightness=1.0,
            relationships=(5, 1, 1, 1),
            popularity=0.4,
            mood=("explosive", "relentless", "high-octane", "breakneck"),
        ),
        Genre(
            name="comedy",
            places={"restaurant": 4, "school": 3, "park": 3, "kitchen": 3, "beach": 2},
            verbs={"fall": 4, "spin": 4, "jump": 3, "shake": 3, "wave": 3, "grow": 2, "shrink": 2},
            shot_seconds=2.8,
            hue_shift=-10,
            saturation=1.25,
            brightness=1.15,
            relationships=(4, 2, 2, 2),
            popularity=0.3,
            mood=("zany", "light-hearted", "goofy", "cheerful"),
        ),
        Genre(
            name="drama",
            places={"office": 4, "hospital": 4, "hotel": 3, "kitchen": 3, "library": 2},
            verbs={"talk": 6, "walk": 3, "sit": 4, "embrace": 2, "wave": 2},
            shot_seconds=3.6,
            hue_shift=0,
            saturation=0.75,
            brightness=0.95,
            relationships=(2, 2, 4, 2),
            popularity=-0.2,
            mood=("quiet", "moving", "intimate", "sober"),
        ),
        Genre(
            name="horror",
            places={"forest": 4, "church": 4, "hospital": 3, "warehouse": 3},
            verbs={"flee": 4, "shake": 4, "shrink": 3, "grow": 3, "fall": 3, "chase": 3},
            shot_seconds=2.6,
            hue_shift=160,
            saturation=0.6,
            brightness=0.65,
            relationships=(3, 2, 2, 3),
            popularity=0.0,
            mood=("eerie", "chilling", "nightmarish", "grim"),
        ),
        Genre(
            name="romance",
            places={"beach": 4, "park": 4, "restaurant": 3, "hotel": 3},
            verbs={"embrace": 5, "kiss": 5, "talk": 4, "walk": 3, "wave": 2, "approach": 3},
            shot_seconds=3.4,
            hue_shift=-25,
            saturation=1.05,
            brightness=1.1,
            relationships=(1, 3, 3, 6),
            popularity=0.2,
            mood=("tender", "sweeping", "bittersweet", "heartfelt"),
        ),
        Genre(
            name="scifi",
            places={"spaceship": 6, "airport": 2, "warehouse": 2, "office": 1},
            verbs={"grow": 4, "shrink": 4, "spin": 3, "jump": 3, "approach": 3},
            shot_seconds=2.4,
            hue_shift=120,
            saturation=1.1,
            brightness=0.9,
            relationships=(5, 1, 2, 2),
            popularity=0.1,
            mood=("cosmic", "uncanny", "futuristic", "mind-bending"),
        ),
        Genre(
            name="thriller",
            places={"street": 3, "hotel": 3, "office": 3, "library": 3, "prison": 2},
            verbs={"approach": 4, "talk": 4, "smoke": 4, "push": 3, "chase": 2, "flee": 2},
            shot_seconds=2.2,
            hue_shift=70,
            saturation=0.8,
            brightness=0.8,
            relationships=(3, 4, 2, 1),
            popularity=0.0,
            mood=("tense", "twisty", "brooding", "paranoid"),
        ),
    )
}
assert tuple(GENRE_PROFILES) == GENRES


@dataclass(frozen=True)
class MovieMeta:
    """The catalog facts of one movie, drawn before its script.

    Attributes:
        index: position in the corpus; ``movie_id`` is ``m{index:04d}``.
        genre, director, writer: the profiles.
        year: release year (its decade is the LVU ``year`` class).
        relationship: of the two leads (LVU classes).
        num_events: length in 2 s events.
        hue: per-movie palette rotation in degrees (genre shift plus jitter).
        popularity: latent popularity z; ``quality``: latent quality q.
        franchise: the franchise the movie belongs to (None: a standalone movie) and
            ``instalment`` its place in it (0 the original).
    """

    index: int
    genre: Genre
    director: Director
    writer: Writer
    year: int
    relationship: str
    num_events: int
    hue: float
    popularity: float
    quality: float
    franchise: Franchise | None = None
    instalment: int = 0

    @property
    def movie_id(self) -> str:
        """Stable id ``m0000``, ``m0001``, ..."""
        return f"m{self.index:04d}"

    @property
    def decade(self) -> int:
        """Start year of the decade (1930 .. 2010)."""
        return self.year // 10 * 10

    def place_weights(self) -> np.ndarray:
        """Normalised weights over :data:`PLACES` of a scene's place (:func:`place_weights`)."""
        return place_weights(self.genre, self.director)


#: Probability that a franchise's sequel keeps its director / writer (:mod:`.franchise`).
KEEP_DIRECTOR = 0.8
KEEP_WRITER = 0.6


def _affinity(favourites: tuple[str, ...], genre: str) -> float:
    return 4.0 if genre in favourites else 1.0


def place_weights(genre: Genre, director: Director) -> np.ndarray:
    """Weights over :data:`PLACES`: the genre's, the director's favourites x ``PLACE_AFFINITY``."""
    w = genre.place_weights() * np.array(
        [PLACE_AFFINITY if p in director.places else 1.0 for p in PLACES]
    )
    return np.asarray(w / w.sum())


def draw_director(genre: Genre, rng: np.random.Generator) -> Director:
    """A director, 4x likelier when the genre is one of their favourites."""
    weights = np.array([_affinity(d.genres, genre.name) for d in DIRECTORS])
    return DIRECTORS[int(rng.choice(len(DIRECTORS), p=weights / weights.sum()))]


def draw_writer(genre: Genre, rng: np.random.Generator) -> Writer:
    """A writer, 4x likelier when the genre is one of their favourites."""
    weights = np.array([_affinity(w.genres, genre.name) for w in WRITERS])
    return WRITERS[int(rng.choice(len(WRITERS), p=weights / weights.sum()))]


def sample_meta(
    index: int,
    mean_events: float,
    rng: np.random.Generator,
    franchise: Franchise | None = None,
    instalment: int = 0,
) -> MovieMeta:
    """Draw the catalog facts of movie ``index``.

    Genre is uniform; director and writer are 4x likelier for their favourite genres;
    the decade is uniform over the director's active decades; the relationship follows
    the genre; the length is ``mean_events`` ±25% (at least 4 events).

    An instalment of ``franchise`` draws the same numbers, then takes the franchise's
    genre, relationship, hue and year; the original takes its director and writer, a
    sequel keeps them with probabilities ``KEEP_DIRECTOR`` and ``KEEP_WRITER``
    and otherwise has its own (drawn for the franchise's genre). A standalone movie draws
    exactly what it drew before franchises existed.
    """
    genre = GENRE_PROFILES[GENRES[int(rng.integers(len(GENRES)))]]
    if franchise is not None:
        genre = franchise.genre
    director = draw_director(genre, rng)
    writer = draw_writer(genre, rng)
    decade = director.decades[int(rng.integers(len(director.decades)))]
    assert decade in DECADES
    rw = np.array(genre.relationships, dtype=float)
    relationship = RELATIONSHIPS[int(rng.choice(len(RELATIONSHIPS), p=rw / rw.sum()))]
    num_events = max(4, round(mean_events * rng.uniform(0.75, 1.25)))
    if franchise is not None:
        keep_director, keep_writer = rng.random(), rng.random()
        if instalment == 0 or keep_director < KEEP_DIRECTOR:
            director = franchise.director
        if instalment == 0 or keep_writer < KEEP_WRITER:
            writer = franchise.writer
        relationship = franchise.relationship
    popularity = genre.popularity + director.popularity + rng.normal(0.0, 0.7)
    quality = director.quality + writer.quality + rng.normal(0.0, 0.5)
    year = decade + int(rng.integers(10))
    hue = genre.hue_shift + rng.normal(0.0, 12.0)
    if franchise is not None:
        year, hue = franchise.years[instalment], franchise.hue
    return MovieMeta(
        index=index,
        genre=genre,
        director=director,
        writer=writer,
        year=year,
        relationship=relationship,
        num_events=num_events,
        hue=float(hue),
        popularity=float(popularity),
        quality=float(quality),
        franchise=franchise,
        instalment=instalment,
    )
