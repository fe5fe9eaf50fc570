"""What the browsing page shows, read from a store: movies, their items, nearest items.

:class:`StoreBrowser` answers the page's questions with plain JSON-ready dicts:

- :meth:`~StoreBrowser.status`: what the store holds per level (movies, items, index), and
  a sentence saying what is missing when the page cannot show anything yet;
- :meth:`~StoreBrowser.movies`: the movies of a level and their number of items;
- :meth:`~StoreBrowser.items`: a movie's items (events, shots or scenes) with times and
  keyframe URLs (a scene's keyframes are those of its shots ``[start_shot, end_shot)``);
- :meth:`~StoreBrowser.neighbours`: the items of *other* movies nearest (cosine) to one
  item, through the level's FAISS index (:class:`movierep.store.index.StoreIndex`),
  optionally without those a moderation head flags.

Every call reads ``store.json`` and the level files afresh, so a page served while
``movierep embed`` is still filling the store shows what is there now. Only the index is
kept loaded; it is reloaded when its ``index.json`` changes, and built on the first
search when the level has none (:func:`movierep.store.index.build_index`), which is also
what ``movierep index`` would do. A store that cannot answer (no ``store.json``, no rows of
the level) raises :class:`StoreNotReadyError` with a one-line message for the page; an
unknown movie or item raises :class:`NotFoundError`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movierep.errors import UserError
from movierep.store.index import StoreIndex, build_index, index_dir, read_index_info
from movierep.store.layout import (
    INFO,
    LEVELS,
    LevelInfo,
    StoreInfo,
    keyframes_dir,
    level_files,
    movie_file,
    read_info,
    read_level,
)
from movierep.tables import to_numpy_embeddings
from movierep.video.keyframes import SHOT_IMAGE_K, keyframe_name
from movierep.web.moderation import ModerationHead
from movierep.web.store_files import file_url

ITEM_COLUMNS = ["movie_id", "item_index", "start_time", "end_time", "start_shot", "end_shot"]


class StoreNotReadyError(UserError):
    """The store cannot answer yet: no ``store.json``, no such level, or no rows in it."""


class NotFoundError(UserError):
    """No such movie or item in the store."""


class BadRequestError(UserError):
    """A request the store cannot answer as asked (an unknown level, no moderation head)."""


class StoreBrowser:
    """Read-only answers about one store for the browsing page.

    Args:
        store: the store folder.
        moderation: a loaded moderation head (enables the neighbour filter), or ``None``.
    """

    def __init__(self, store: str | Path, moderation: ModerationHead | None = None) -> None:
        self.root = Path(store)
        self.moderation = moderation
        self._lock = threading.Lock()
        self._indexes: dict[str, tuple[float, StoreIndex]] = {}

    # --- the store's state -------------------------------------------------------------

    def info(self) -> StoreInfo:
        """``store.json``; an empty or foreign folder is :class:`StoreNotReadyError`."""
        if not (self.root / INFO).is_file():
            raise StoreNotReadyError(
                f"{self.root}: no {INFO} yet: not a movierep store, or `movierep embed` has not "
                "written anything (run `movierep embed CATALOG --out STORE`)"
            )
        try:
            return read_info(self.root)
        except UserError as err:
            raise StoreNotReadyError(str(err)) from None

    def level_info(self, level: str) -> LevelInfo:
        """The level's entry of ``store.json`` (:class:`StoreNotReadyError` when it has none)."""
        if level not in LEVELS:
            raise BadRequestError(f"unknown level {level!r} (choose from {', '.join(LEVELS)})")
        info = self.info()
        if level not in info.levels:
            have = ", ".join(info.levels) or "none"
            raise StoreNotReadyError(
                f"{self.root / INFO}: the store has no {level} level yet (it has: {have})"
            )
        return info.levels[level]

    def _counts(self, level: str) -> dict[str, int]:
        """Movie id -> items of that level, in file order ({} when there are no files)."""
        if not level_files(self.root, level):
            return {}
        ids = read_level(self.root, level, columns=["movie_id"])["movie_id"]
        return {str(c["values"]): int(c["counts"]) for c in pc.value_counts(ids).to_pylist()}

    def status(self, level: str) -> dict[str, Any]:
        """What the store holds, and whether ``level`` can be browsed.

        Returns:
            ``{"store", "level", "ready", "message", "levels": {name: {"encoder", "dim",
            "movies", "items", "index": {"kind", "n"} | None}}, "moderation": {"classes",
            "dim", "level"} | None}``; ``message`` says what is missing (``""``: nothing).
        """
        out: dict[str, Any] = {"store": str(self.root), "level": level, "levels": {}}
        out["moderation"] = (
            None
            if self.moderation is None
            else {
                "classes": list(self.moderation.classes),
                "dim": self.moderation.dim,
                "level": self.moderation.level,
            }
        )
        try:
            info = self.info()
            for name, entry in info.levels.items():
                counts = self._counts(name)
                meta = self._index_meta(name)
                out["levels"][name] = {
                    "encoder": entry.encoder,
                    "dim": entry.dim,
                    "movies": len(counts),
                    "items": sum(counts.values()),
                    "index": None if meta is None else {"kind": meta["kind"], "n": meta["n"]},
                }
            self.level_info(level)
        except UserError as err:
            return {**out, "ready": False, "message": str(err)}
        mine = out["levels"][level]
        if mine["items"] == 0:
            message = (
                f"{self.root / level}: no {level} embeddings yet (is `movierep embed` still "
                f"running? failed movies are listed in {self.root / 'failures.parquet'})"
            )
            return {**out, "ready": False, "message": message}
        note = ""
        if mine["index"] is None:
            note = f"no {level} index yet: it is built on the first search"
        elif mine["index"]["n"] != mine["items"]:
            note = (
                f"the {level} index holds {mine['index']['n']} of the store's {mine['items']} "
                f"{level}s (`movierep index {self.root} --level {level}` brings it up to date)"
            )
        elif self.moderation is not None and self.moderation.dim != mine["dim"]:
            note = (
                f"the moderation head takes D={self.moderation.dim}, the {level} level has "
                f"D={mine['dim']}: the filter is off for this level"
            )
        return {**out, "ready": True, "message": note}

    def _index_meta(self, level: str) -> dict[str, Any] | None:
        """The level's ``index.json``, or ``None`` when it has no (readable) index."""
        if not (index_dir(self.root, level) / "index.json").is_file():
            return None
        try:
            return read_index_info(self.root, level)
        except UserError:
            return None

    # --- movies and items --------------------------------------------------------------

    def movies(self, level: str) -> list[dict[str, Any]]:
        """The movies with rows of ``level``: ``[{"movie_id", "items"}]`` sorted by id.

        Raises:
            StoreNotReadyError: no store, no such level, or no rows of it yet.
        """
        self.level_info(level)
        counts = self._counts(level)
        if not counts:
            raise StoreNotReadyError(f"{self.root / level}: no {level} embeddings yet")
        return [{"movie_id": m, "items": n} for m, n in sorted(counts.items())]

    def _movie_rows(self, level: str, movie: str, columns: list[str]) -> pa.Table:
        self.level_info(level)
        if not movie_file(self.root, level, movie).is_file():
            raise NotFoundError(f"{self.root / level}: no movie {movie!r} at the {level} level")
        return read_level(self.root, level, movie_ids=[movie], columns=columns)

    def _keyframes(self, row: dict[str, Any]) -> list[str]:
        """URLs of an item's keyframes: its shots' (scenes, shots) or its own (events)."""
        movie = str(row["movie_id"])
        if row.get("start_shot") is not None and row.get("end_shot") is not None:
            folder = keyframes_dir(Path(), movie)
            paths = [
                (folder / keyframe_name(s, SHOT_IMAGE_K)).as_posix()
                for s in range(int(row["start_shot"]), int(row["end_shot"]))
            ]
        else:
            paths = [row["keyframe"]] if row.get("keyframe") else []
        return [file_url(p) for p in paths if (self.root / p).is_file()]

    def _item(self, row: dict[str, Any]) -> dict[str, Any]:
        keyframe = row.get("keyframe")
        has_keyframe = bool(keyframe) and (self.root / str(keyframe)).is_file()
        return {
            "movie_id": str(row["movie_id"]),
            "item_index": int(row["item_index"]),
            "start_time": float(row["start_time"]),
            "end_time": float(row["end_time"]),
            "keyframe": file_url(str(keyframe)) if has_keyframe else None,
            "keyframes": self._keyframes(row),
        }

    def items(self, level: str, movie: str) -> list[dict[str, Any]]:
        """A movie's items of ``level``, in order, with times and keyframe URLs.

        Returns:
            ``[{"movie_id", "item_index", "start_time", "end_time", "keyframe" (URL of its
            keyframe or None), "keyframes" (URLs of its shots' keyframes)}]``.

        Raises:
            NotFoundError: the movie has no file of that level.
        """
        rows = self._movie_rows(level, movie, [*ITEM_COLUMNS, "keyframe"])
        return [self._item(r) for r in rows.to_pylist()]

    # --- search --------------------------------------------------------------------------

    def index(self, level: str) -> tuple[StoreIndex, bool]:
        """The level's loaded index, built first if there is none; and whether it was built."""
        self.level_info(level)
        meta = index_dir(self.root, level) / "index.json"
        with self._lock:
            built = False
            if not meta.is_file():
                if not level_files(self.root, level):
                    raise StoreNotReadyError(
                        f"{self.root / level}: no {level} embeddings to index yet"
                    )
                build_index(self.root, level)
                built = True
            stamp = meta.stat().st_mtime_ns
            cached = self._indexes.get(level)
            if cached is None or cached[0] != stamp:
                cached = (stamp, StoreIndex(self.root, level))
                self._indexes[level] = cached
            return cached[1], built

    def _head_for(self, level: str) -> ModerationHead:
        """The moderation head, if there is one and it takes the level's embeddings."""
        head = self.moderation
        if head is None:
            raise BadRequestError(
                "no moderation head loaded (start the server with --moderation HEAD)"
            )
        dim = self.level_info(level).dim
        if head.dim != dim:
            raise BadRequestError(
                f"{head.path}: the head takes D={head.dim}, the {level} level has D={dim}"
            )
        return head

    def _filter_probabilities(
        self, level: str, hits: list[dict[str, Any]]
    ) -> tuple[ModerationHead, np.ndarray]:
        """The moderation head and its probabilities (N, C) for each hit."""
        head = self._head_for(level)
        table = self._stored(level, hits, ["movie_id", "item_index", "embedding"])
        keys = zip(table["movie_id"].to_pylist(), table["item_index"].to_pylist(), strict=True)
        row_of = {key: i for i, key in enumerate(keys)}
        missing = [h for h in hits if (h["movie_id"], h["item_index"]) not in row_of]
        if missing:
            raise StoreNotReadyError(
                f"{index_dir(self.root, level)}: the index holds {level} "
                f"{missing[0]['movie_id']}:{missing[0]['item_index']}, which the store no longer "
                f"has (run `movierep index {self.root} --level {level} --rebuild`)"
            )
        x = to_numpy_embeddings(table["embedding"])
        picked = [row_of[(h["movie_id"], h["item_index"])] for h in hits]
        return head, head.probabilities(x[picked].reshape(len(picked), -1))

    def _stored(self, level: str, hits: list[dict[str, Any]], columns: list[str]) -> pa.Table:
        """The stored rows of the hits' movies (those that still have a file of ``level``)."""
        movies = sorted({str(h["movie_id"]) for h in hits})
        there = [m for m in movies if movie_file(self.root, level, m).is_file()]
        if not there:
            return pa.table({c: pa.array([], pa.string()) for c in columns})
        return read_level(self.root, level, movie_ids=there, columns=columns)

    def neighbours(
        self,
        level: str,
        movie: str,
        item: int,
        k: int = 10,
        *,
        hide: str | None = None,
        threshold: float = 0.5,
    ) -> dict[str, Any]:
        """The ``k`` items of other movies nearest (cosine) to ``movie``'s item ``item``.

        Args:
            level: ``event``, ``shot`` or ``scene``.
            movie: the query's movie.
            item: the query's item index at that level.
            k: results wanted.
            hide: a moderation class: leave out items whose probability of it is above
                ``threshold`` (the search goes deeper so up to ``k`` items remain).
            threshold: the probability above which an item is hidden.

        Returns:
            ``{"query": item, "results": [item + {"rank", "score", "probabilities"?}],
            "hidden": how many were left out, "index": {"kind", "n", "built_now"}}``; a
            result's ``rank`` is its place among all items of other movies (so hidden ones
            leave gaps).

        Raises:
            NotFoundError: no such movie or item.
            StoreNotReadyError: the store cannot be searched yet.
            BadRequestError: ``hide`` without a moderation head, or an unknown class.
        """
        rows = self._movie_rows(level, movie, [*ITEM_COLUMNS, "keyframe", "embedding"])
        row = rows.filter(pc.equal(rows["item_index"], item))
        if row.num_rows != 1:
            raise NotFoundError(
                f"{movie_file(self.root, level, movie)}: movie {movie!r} has no {level} {item} "
                f"(it has {level}s 0..{rows.num_rows - 1})"
            )
        if hide is not None:  # no head, an unknown class or another D fail before searching
            self._head_for(level).class_index(hide)
        query = to_numpy_embeddings(row["embedding"])
        index, built = self.index(level)
        total = int(index.index.ntotal)
        fetch, hidden = k, 0
        probs: np.ndarray | None = None
        while True:
            found = index.search(query, fetch, exclude_movies=[movie]).to_pylist()
            if hide is None:
                shown = found
                break
            head, probs = self._filter_probabilities(level, found)
            mask = head.hides(probs, hide, threshold)
            shown = [h for h, out in zip(found, mask, strict=True) if not out]
            probs = probs[~mask]
            hidden = int(mask[: _cut(mask, k)].sum())
            if len(shown) >= k or fetch >= total:
                break
            fetch = min(total, fetch * 4)
        details = self._details(level, shown[:k])
        results = []
        for i, hit in enumerate(shown[:k]):
            entry = {
                **self._item(details[(hit["movie_id"], hit["item_index"])]),
                "rank": int(hit["rank"]),
                "score": float(hit["score"]),
            }
            if probs is not None and self.moderation is not None:
                names = self.moderation.classes
                entry["probabilities"] = dict(zip(names, map(float, probs[i]), strict=True))
            results.append(entry)
        return {
            "query": self._item(row.drop_columns(["embedding"]).to_pylist()[0]),
            "results": results,
            "hidden": hidden,
            "index": {"kind": index.info["kind"], "n": index.info["n"], "built_now": built},
        }

    def _details(
        self, level: str, hits: list[dict[str, Any]]
    ) -> dict[tuple[str, int], dict[str, Any]]:
        """The stored rows (shot ranges, keyframe) of the hits, by (movie, item).

        A hit whose movie left the store since the index was built keeps the index's row.
        """
        table = self._stored(level, hits, [*ITEM_COLUMNS, "keyframe"])
        rows = {(r["movie_id"], r["item_index"]): r for r in table.to_pylist()}
        return {(h["movie_id"], h["item_index"]): h for h in hits} | rows


def _cut(hidden_mask: np.ndarray, k: int) -> int:
    """How many leading search hits it took to keep ``k`` (all, when fewer remain)."""
    kept = np.cumsum(~hidden_mask)
    reached = np.nonzero(kept >= k)[0]
    return int(reached[0]) + 1 if len(reached) else len(hidden_mask)
