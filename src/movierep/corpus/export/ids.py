"""Benchmark-style identifiers derived from corpus movie ids (stable, seed-free, collision-free).

- IMDb-style movie ids ``tt`` + 7 digits (MovieNet folders, the LVU last column, VidSitu
  ``imdb_id``), from a SHA-256 of the movie id; collisions move to the next free number in
  sorted ``movie_id`` order, so the mapping only depends on the set of movies.
- YouTube-style 11-character ids over ``[A-Za-z0-9_-]`` (VidSitu ``name``, LVU clip ids), the
  URL-safe base64 of a SHA-256 of a key string.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

YOUTUBE_ID_LENGTH = 11


def youtube_id(key: str) -> str:
    """An 11-character YouTube-style id over ``[A-Za-z0-9_-]`` for ``key`` (deterministic)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:YOUTUBE_ID_LENGTH]


def imdb_ids(movie_ids: Iterable[str]) -> dict[str, str]:
    """Map each movie id to a distinct ``tt`` + 7-digit id (``tt1000000`` .. ``tt9999999``)."""
    out: dict[str, str] = {}
    used: set[int] = set()
    for movie_id in sorted(set(movie_ids)):
        digest = hashlib.sha256(f"imdb/{movie_id}".encode()).digest()
        number = 1_000_000 + int.from_bytes(digest[:8], "big") % 9_000_000
        while number in used:
            number = 1_000_000 + (number - 1_000_000 + 1) % 9_000_000
        used.add(number)
        out[movie_id] = f"tt{number:07d}"
    return out


def stable_int(key: str) -> int:
    """A 64-bit integer hash of ``key`` (seeds per-clip random generators)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
