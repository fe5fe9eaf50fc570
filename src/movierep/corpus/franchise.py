"""Franchises: sequels that bring back their leads, their recurring sets and their crew.

In real catalogs co-watched movies share content: a sequel returns to its original's
characters and sets, usually with the same director and writer, a few years later. About
45% of the corpus's movies belong to a franchise of 2-4 instalments. All instalments of a
franchise share

- its genre, the leads' relationship and the palette's hue;
- its two leads: the same shape, colour and size as ``c0`` and ``c1`` (the supporting
  cast is drawn anew for each instalment);
- its **home sets**: 2-3 places, each with its layout seed and palette, so the same room
  reappears looking the same; a scene that does not keep the background of the scene
  before plays in a home set with probability :data:`HOME_SET_P` (:mod:`.script`), so
  about 60% of an instalment's scenes do;
- usually its director and writer (a sequel keeps them with probabilities
  ``metadata.KEEP_DIRECTOR`` = 0.8 and ``KEEP_WRITER`` = 0.6), and a year 2-5 years after
  the instalment before.

**Which movies.** The movie indices are cut into consecutive blocks by the corpus-level
stream ``(seed, stream)``: a block is a franchise of 2-4 instalments with probability
:data:`FRANCHISE_P`, else a single standalone movie. Blocks never depend on the number of
movies (a corpus of n movies is the first n movies of a larger one; only its last
franchise may be cut short), and each franchise's facts come from its own stream
``(seed, stream, k)``, so a movie still depends only on the seed and its index.

Nothing in the catalog names a franchise: it shows only in the movies themselves (leads,
sets, crew, years, titles, and through them the synopses) and in viewers who follow a
franchise (:mod:`.audience`). Movie similarity still comes only from the watch log, the
synopses and the genres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movierep.corpus.crew import Director, Writer
from movierep.corpus.metadata import (
    GENRE_PROFILES,
    Genre,
    draw_director,
    draw_writer,
    place_weights,
)
from movierep.corpus.vocab import GENRES, PLACES, RELATIONSHIPS
from movierep.corpus.world import Character, Palette, sample_cast

#: Probability that a block of movie indices is a franchise (else one standalone movie);
#: with :data:`FRANCHISE_SIZES` about 45% of the movies belong to a franchise.
FRANCHISE_P = 0.23
#: Instalments per franchise and their probabilities.
FRANCHISE_SIZES: tuple[tuple[int, float], ...] = ((2, 0.5), (3, 0.3), (4, 0.2))
#: Probability that a scene that does not keep the background of the scene before plays
#: in one of the franchise's home sets (in every instalment, the original included).
HOME_SET_P = 0.7
#: Relative use of the first, second and third home set.
HOME_SET_WEIGHTS = (0.6, 0.25, 0.15)


@dataclass(frozen=True)
class HomeSet:
    """A franchise's recurring set: a place with a fixed layout and colours."""

    place: str
    layout_seed: int
    palette: Palette


@dataclass(frozen=True)
class Franchise:
    """The facts all instalments of a franchise share.

    Attributes:
        index: the k-th franchise of the corpus (its random stream).
        first: movie index of the original; instalment i is movie ``first + i``.
        size: number of instalments (the corpus may hold fewer).
        genre, director, writer: the original's profiles (sequels usually keep director
            and writer).
        years: release year of each instalment (2-5 years apart).
        relationship: of the two leads.
        leads: the characters ``c0`` and ``c1`` of every instalment.
        sets: the home sets, most used first.
        hue: palette rotation in degrees of every instalment.
        title_seed: seed of the original's title words (sequels' titles derive from it).
    """

    index: int
    first: int
    size: int
    genre: Genre
    director: Director
    writer: Writer
    years: tuple[int, ...]
    relationship: str
    leads: tuple[Character, Character]
    sets: tuple[HomeSet, ...]
    hue: float
    title_seed: int

    @property
    def franchise_id(self) -> str:
        """Stable id ``f000``, ``f001``, ... (not written to any table)."""
        return f"f{self.index:03d}"

    def set_weights(self) -> np.ndarray:
        """Probabilities of the home sets (:data:`HOME_SET_WEIGHTS`, renormalised)."""
        w = np.array(HOME_SET_WEIGHTS[: len(self.sets)])
        return np.asarray(w / w.sum())


def _blocks(upto: int, seed: int, stream: int) -> list[tuple[int, int, int | None]]:
    """``(first, size, franchise index or None)`` blocks covering movie indices 0..upto."""
    rng = np.random.default_rng([seed, stream])
    sizes = np.array([s for s, _ in FRANCHISE_SIZES])
    probs = np.array([p for _, p in FRANCHISE_SIZES])
    blocks: list[tuple[int, int, int | None]] = []
    first = franchises = 0
    while first <= upto:
        is_franchise = rng.random() < FRANCHISE_P
        size = int(rng.choice(sizes, p=probs))  # drawn for every block: stable boundaries
        if is_franchise:
            blocks.append((first, size, franchises))
            franchises += 1
        else:
            size = 1
            blocks.append((first, 1, None))
        first += size
    return blocks


def sample_franchise(index: int, first: int, size: int, seed: int, stream: int) -> Franchise:
    """Draw franchise ``index`` (movies ``first .. first + size - 1``) from its own stream."""
    rng = np.random.default_rng([seed, stream, index])
    genre = GENRE_PROFILES[GENRES[int(rng.integers(len(GENRES)))]]
    director = draw_director(genre, rng)
    writer = draw_writer(genre, rng)
    decade = director.decades[int(rng.integers(len(director.decades)))]
    years = [decade + int(rng.integers(10))]
    for _ in range(size - 1):
        years.append(min(2019, years[-1] + int(rng.integers(2, 6))))
    rw = np.array(genre.relationships, dtype=float)
    relationship = RELATIONSHIPS[int(rng.choice(len(RELATIONSHIPS), p=rw / rw.sum()))]
    c0, c1 = sample_cast(2, rng)
    hue = genre.hue_shift + float(rng.normal(0.0, 12.0))
    palette = Palette(hue, genre.saturation, genre.brightness)
    count = int(rng.integers(2, 4))
    places = rng.choice(len(PLACES), size=count, replace=False, p=place_weights(genre, director))
    sets = tuple(
        HomeSet(PLACES[int(p)], int(rng.integers(2**31)), palette.jitter(rng)) for p in places
    )
    return Franchise(
        index=index,
        first=first,
        size=size,
        genre=genre,
        director=director,
        writer=writer,
        years=tuple(years),
        relationship=relationship,
        leads=(c0, c1),
        sets=sets,
        hue=hue,
        title_seed=int(rng.integers(2**31)),
    )


def franchise_of(index: int, seed: int, stream: int) -> tuple[Franchise | None, int]:
    """The franchise of movie ``index`` and its instalment number (0 the original).

    Returns ``(None, 0)`` for a standalone movie. Depends only on ``seed``, ``stream`` and
    ``index`` (see the module docstring).
    """
    first, size, k = _blocks(index, seed, stream)[-1]
    if k is None:
        return None, 0
    return sample_franchise(k, first, size, seed, stream), index - first
