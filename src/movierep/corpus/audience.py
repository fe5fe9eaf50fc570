"""Engagement and viewing: likes, views and watch logs from latent popularity and tastes.

- **Engagement.** A movie's latent popularity z (genre + director + noise) sets its views,
  ``view_count = exp(11.76 + 1.2 z + ε)`` (LVU's mean log-views is 11.76); its latent
  quality q (director + writer + noise) sets the like ratio, ``sigmoid(1.9 + 0.8 q)``
  (about 0.87 on average, near LVU's); about 1-3% of viewers vote.
- **Watch logs.** Each simulated viewer has Dirichlet tastes over genres and directors
  and an activity level; they watch movies with probability ∝ exp(z/2) · (0.05 + taste
  for the genre) · (0.05 + taste for the director), without repeats, at increasing
  timestamps. Co-watching therefore carries genre and director signal, but mixed with
  popularity and noise, so it differs from genre and synopsis similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from movierep.corpus.crew import DIRECTORS
from movierep.corpus.metadata import MovieMeta
from movierep.corpus.vocab import GENRES

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

    Returns:
        Table ``user_id`` (str ``u0000``), ``movie_id`` (str), ``timestamp`` (int64 Unix
        seconds), sorted by user then time.
    """
    genre_index = np.array([GENRES.index(m.genre.name) for m in metas])
    director_index = np.array([[d.name for d in DIRECTORS].index(m.director.name) for m in metas])
    popularity = np.array([m.popularity for m in metas])
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
        watched = rng.choice(len(metas), size=count, replace=False, p=weight / weight.sum())
        times = np.sort(rng.integers(0, YEAR_S, size=count)) + EPOCH
        for movie, t in zip(watched, times, strict=True):
            rows_user.append(f"u{user:04d}")
            rows_movie.append(metas[int(movie)].movie_id)
            rows_time.append(int(t))
    return pa.table(
        {
            "user_id": pa.array(rows_user, pa.string()),
            "movie_id": pa.array(rows_movie, pa.string()),
            "timestamp": pa.array(rows_time, pa.int64()),
        }
    )
