"""Engagement and viewing: likes, views and watch logs from latent popularity and tastes.

- **Engagement.** A movie's latent popularity z (genre + director + noise) sets its views,
  ``view_count = exp(11.76 + 1.2 z + ε)`` (LVU's mean log-views is 11.76); its latent
  quality q (director + writer + noise) sets the like ratio, ``sigmoid(1.9 + 0.8 q)``
  (about 0.87 on average, near LVU's); about 1-3% of viewers vote.
- **Watch logs.** Each simulated viewer has Dirichlet tastes over genres and directors
  and an activity level; they watch movies with probability ∝ exp(z/2) · (0.05 + taste
  for the genre) · (0.05 + taste for the director), without repeats, at increasing
  timestamps. Like real viewers they follow franchises (:mod:`.franchise`): after an
  instalment the next watch is often another instalment of it, and a franchise they
  have started stays likelier. Viewers never see scene content; co-watching carries
  genre, director and franchise signal, mixed with popularity and noise, so it differs
  from genre and synopsis similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from movierep.corpus.crew import DIRECTORS
from movierep.corpus.metadata import MovieMeta
from movierep.corpus.vocab import GENRES

#: Probability that a viewer who just watched an instalment of a franchise watches the
#: earliest instalment they have not seen next; and how much likelier every unwatched
#: instalment of a franchise they have watched is.
FOLLOW_P = 0.5
FRANCHISE_BOOST = 4.0
#: Probability that a viewer's next movie comes from a "more like this" row: among the
#: movies of the genre or director of the movie they just watched (each of those
#: weighted :data:`LIKE_THIS_BOOST` times more), as streaming services recommend.
LIKE_THIS_P = 0.6
LIKE_THIS_BOOST = 8.0
#: Watch-log timestamps start at 2020-01-01 00:00:00 UTC and span one year.
EPOCH = 1_577_836_800
YEAR_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Engagement:
    """Catalog engagement columns of one movie."""

    like_count: int
    dislike_count: int
    view_count: int

    @property
    def like_ratio(self) -> float:
        """Likes / (likes + dislikes)."""
        return self.like_count / max(1, self.like_count + self.dislike_count)


def engagement(meta: MovieMeta, rng: np.random.Generator) -> Engagement:
    """Views and votes of a movie from its latent popularity and quality."""
    views = int(np.exp(11.76 + 1.2 * meta.popularity + rng.normal(0.0, 0.3)))
    votes = max(10, int(views * rng.uniform(0.01, 0.03)))
    ratio = 1.0 / (1.0 + np.exp(-(1.9 + 0.8 * meta.quality)))
    likes = int(rng.binomial(votes, ratio))
    return Engagement(likes, votes - likes, views)


def watch_log(metas: list[MovieMeta], users: int, rng: np.random.Generator) -> pa.Table:
    """Simulate viewers.

    A viewer watches movies one after another, each drawn with probability ∝ exp(z/2) ·
    (0.05 + genre taste) · (0.05 + director taste) among the movies not yet watched. They
    follow franchises: after an instalment, with probability :data:`FOLLOW_P` the next
    watch is the earliest unwatched instalment of that franchise, and every unwatched
    instalment of a franchise they have watched is :data:`FRANCHISE_BOOST` times likelier
    from then on. Otherwise, with probability :data:`LIKE_THIS_P`, the next movie is
    picked from a "more like this" row: movies sharing the genre or the director of the
    one just watched are :data:`LIKE_THIS_BOOST` times likelier (recommendation-driven
    viewing; the viewer still never sees scene content). Timestamps increase in watching
    order.

    Returns:
        Table ``user_id`` (str ``u0000``), ``movie_id`` (str), ``timestamp`` (int64 Unix
        seconds), sorted by user then time.
    """
    genre_index = np.array([GENRES.index(m.genre.name) for m in metas])
    director_index = np.array([[d.name for d in DIRECTORS].index(m.director.name) for m in metas])
    popularity = np.array([m.popularity for m in metas])
    franchise = np.array([m.franchise.index if m.franchise else -1 for m in metas])
    rows_user, rows_movie, rows_time = [], [], []
    for user in range(users):
        genre_taste = rng.dirichlet(np.full(len(GENRES), 0.4))
        director_taste = rng.dirichlet(np.full(len(DIRECTORS), 0.5))
        weight = (
            np.exp(popularity / 2)
            * (0.05 + genre_taste[genre_index])
            * (0.05 + director_taste[director_index])
        )
        count = min(len(metas), 1 + int(rng.poisson(max(1.0, 0.25 * len(metas)))))
        watched = _watch(weight, franchise, count, rng, (genre_index, director_index))
        times = np.sort(rng.integers(0, YEAR_S, size=count)) + EPOCH
        for movie, t in zip(watched, times, strict=True):
            rows_user.append(f"u{user:04d}")
            rows_movie.append(metas[movie].movie_id)
            rows_time.append(int(t))
    return pa.table(
        {
            "user_id": pa.array(rows_user, pa.string()),
            "movie_id": pa.array(rows_movie, pa.string()),
            "timestamp": pa.array(rows_time, pa.int64()),
        }
    )


def _watch(
    weight: np.ndarray,
    franchise: np.ndarray,
    count: int,
    rng: np.random.Generator,
    kinds: tuple[np.ndarray, ...] = (),
) -> list[int]:
    """``count`` distinct movies in watching order (``franchise`` -1: standalone).

    ``kinds``: per-movie class indices (genre, director) that "more like this" matches.
    """
    weight = weight.astype(float).copy()
    watched: list[int] = []
    started: set[int] = set()
    for _ in range(count):
        sequels = np.zeros(0, dtype=int)
        if watched and franchise[watched[-1]] >= 0:
            sequels = np.flatnonzero((franchise == franchise[watched[-1]]) & (weight > 0))
        if rng.random() < FOLLOW_P and len(sequels):
            movie = int(sequels[0])  # the earliest instalment not yet watched
        elif watched and kinds and rng.random() < LIKE_THIS_P:
            like = np.zeros(len(weight), dtype=bool)
            for kind in kinds:
                like |= kind == kind[watched[-1]]
            boosted = weight * np.where(like, LIKE_THIS_BOOST, 1.0)
            movie = int(rng.choice(len(weight), p=boosted / boosted.sum()))
        else:
            movie = int(rng.choice(len(weight), p=weight / weight.sum()))
        watched.append(movie)
        weight[movie] = 0.0
        if franchise[movie] >= 0 and franchise[movie] not in started:
            started.add(int(franchise[movie]))
            weight[franchise == franchise[movie]] *= FRANCHISE_BOOST
    return watched
