"""Per-movie reads of a ``shot_features`` Parquet table, with memory bounded by a few movies.

Movies2Scenes (§3.1, §3.2, supplement §1.1) reads E_fixed shot features one movie pair at
a time: movie-similarity learning takes both movies of a pair per item, and scene-pair
selection scores the whole movies of every similar pair. At the paper's scale (30K
movies, 33M shots × 512 float32) the table is ~67 GB, so loading it whole
(:func:`movierep.features.shot_features.movie_features`) is not an option. :class:`ShotFeatureStore`
is a read-only ``Mapping[str, Tensor]`` (movie id → (M, D) features in shot order) that
reads a movie only when asked:

- **Index.** One entry per run of a movie's rows inside a Parquet row group: ``(row group,
  first row, end row)``. A row group whose ``movie_id`` statistics have min = max belongs
  to one movie and is indexed from the footer alone; any other row group costs one read
  of its ``movie_id`` column (never the features). Any row order works: rows need not be
  sorted by movie or shot (a movie's rows are put in shot order on read, as
  :func:`~movierep.features.shot_features.movie_features` does).
- **Reads.** ``store[movie]`` reads only the row groups holding the movie, streamed in
  batches of :data:`READ_BATCH` rows with buffered (not pre-buffered) column reads, and
  keeps only the movie's rows; the ``feature`` and ``shot_index`` columns alone. The last
  :data:`CACHE_MOVIES` movies read are kept (LRU).
- **Workers.** The file is opened lazily in each process (the handle is dropped when the
  store is pickled and reopened after a fork), so every DataLoader worker reads through
  its own handle and cache.

**Memory bound.** The index and the Parquet footer pyarrow keeps (~10 KB per movie in a
file of one movie per row group; a shuffled file costs 24 bytes per run, up to one run per
row: regroup it), the cached movies, and while reading, one movie ×2 plus one batch of
:data:`READ_BATCH` rows: no features beyond a few movies, whatever the catalog's size and
the row groups' size. **Time** is another matter: a movie inside a large row group is
found by decoding the group up to the movie's last row. Files written by
:func:`write_shot_features` keep whole movies in row groups of at most
:data:`ROWS_PER_GROUP` rows (a longer movie gets its own group), so a read decodes about
one movie; ``movierep extract shots`` writes its output that way, streaming its per-movie
parts into it. A file written otherwise (one concatenated table: row groups of up to 1Mi
rows, pyarrow's default) can be rewritten once with :func:`regroup_shot_features` (one
streaming pass) for fast random access.

Measured by ``benchmarks/shot_store_memory.py`` (``benchmarks/results/shot_store_memory.json``,
2 shared CPU cores) on a synthetic catalog of 10,000 movies × 1,500 shots (15M rows), D =
128 float32 (7.9 GB file, 10,000 row groups; D = 512 would be 30.7 GB of features, more
than the disk had free). Peak RSS of a fresh process, after ~279 MiB of imports:

- index (footer only, 0.6 s) and both movies of 1,000 random pairs: 397 MiB peak
  (+118 MiB), 5.2 ms per movie pair (0.73 MiB per movie);
- ``select_pairs`` over 200 movie pairs, scenes of 9 shots, a random ShotAdjacencyNet:
  516 MiB peak (+237 MiB), 0.93 s per movie pair (the greedy pop, not the reads);
- a file of concatenated movies (1,000 movies in row groups of 1Mi and 451K rows):
  0.39 s per movie read (+138 MiB peak) against 3.3 ms after :func:`regroup_shot_features`
  (6 s for 1.5M rows);
- the old whole-table load, ``movie_features(read_table(...))``, on those 1,000 movies:
  3.5× the features' bytes at its peak (+2.5 GiB for 0.77 GB), i.e. ~27 GB for the
  synthetic catalog and ~236 GB for the paper's (33M shots × 512 float32 = 67.6 GB).

Example:
    >>> store = ShotFeatureStore("features/shots_clip.parquet")  # doctest: +SKIP
    >>> x = store["tt0111161"]  # (M, D) float32, row i = shot i  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch import Tensor

from movierep import files, tables
from movierep.errors import UserError

#: Rows per read batch: the transient memory of a read on top of the movie itself.
READ_BATCH = 8192

#: Movies kept after reading (least recently used dropped first).
CACHE_MOVIES = 4

#: Largest row group :func:`write_shot_features` makes of several movies (a paper movie
#: has ~1,100 shots: 33M shots / 30K movies).
ROWS_PER_GROUP = 2048

#: Buffer of a streamed column read (Arrow reads a whole column chunk at once without one).
READ_BUFFER = 1 << 20

#: A movie's place in the file: (R, 3) int64 rows of ``(row group, start, end)``, in file order.
Runs = np.ndarray


def _id_runs(ids: pa.Array | pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """Runs of equal values in a ``movie_id`` column.

    Returns:
        The distinct values, and (R, 3) int64 rows ``(value's position among them, start,
        end)``, one per run, in order (end exclusive).

    Raises:
        ValueError: the column holds nulls.
    """
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if ids.null_count:
        raise ValueError("movie_id holds nulls")
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    encoded = ids.dictionary_encode()
    values = [str(v) for v in encoded.dictionary.to_pylist()]
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    if len(codes) == 0:
        return values, np.zeros((0, 3), np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1])
    ends = np.append(starts[1:], len(codes))
    return values, np.stack([codes[starts], starts, ends], 1).astype(np.int64)


def _single_movie(group: pq.RowGroupMetaData, column: int) -> str | None:
    """The one movie of a row group when its ``movie_id`` statistics say so (min = max)."""
    stats = group.column(column).statistics
    if stats is None or not stats.has_min_max or stats.null_count != 0:
        return None
    return str(stats.min) if stats.min == stats.max else None


def _scan(file: pq.ParquetFile, path: Path) -> dict[str, Runs]:
    """Movie id → its runs, from the footer and the ``movie_id`` column of mixed groups."""
    meta = file.metadata
    column = file.schema_arrow.get_field_index("movie_id")
    movies: dict[str, int] = {}
    codes: list[np.ndarray] = []
    runs: list[np.ndarray] = []
    for g in range(meta.num_row_groups):
        rows = meta.row_group(g).num_rows
        single = _single_movie(meta.row_group(g), column) if rows else None
        if single is not None:
            values, found = [single], np.array([[0, 0, rows]], dtype=np.int64)
        else:
            try:
                values, found = _id_runs(file.read_row_group(g, columns=["movie_id"]).column(0))
            except ValueError as err:
                raise UserError(f"{path}: row group {g}: {err}") from None
        known = np.array([movies.setdefault(v, len(movies)) for v in values], dtype=np.int64)
        codes.append(known[found[:, 0]] if len(found) else found[:, 0])
        runs.append(np.concatenate([np.full((len(found), 1), g), found[:, 1:]], 1))
    if not movies:
        return {}
    code, where = np.concatenate(codes), np.concatenate(runs)
    order = np.argsort(code, kind="stable")  # a movie's runs stay in file order
    bounds = np.flatnonzero(np.diff(code[order])) + 1
    per_code = {int(code[part[0]]): where[part] for part in np.split(order, bounds)}
    return {m: per_code[movies[m]] for m in sorted(movies)}


class ShotFeatureStore(Mapping[str, Tensor]):
    """Movie id → (M, D) E_fixed shot features, read from a ``shot_features`` file on demand.

    Args:
        path: a ``shot_features`` Parquet table (at least ``movie_id``, ``shot_index`` and
            the ``feature`` embedding column, D = its list size), rows in any order.
        cache_size: movies kept after reading (LRU; 0 keeps none).

    Raises:
        UserError: the file is missing, unreadable, or lacks those columns.

    ``store[m]`` raises a :class:`UserError` naming the file and the movie when ``m`` has no
    rows, and when its shot indices are not 0 .. M − 1. Iteration is in sorted id order.
    """

    def __init__(self, path: str | Path, *, cache_size: int = CACHE_MOVIES) -> None:
        self.path = Path(path)
        self.cache_size = cache_size
        self._file: pq.ParquetFile | None = None
        self._pid = -1
        self._cache: OrderedDict[str, Tensor] = OrderedDict()
        file = self._open()
        self.schema: pa.Schema = file.schema_arrow
        tables.require_columns(
            self.schema.empty_table(), ["movie_id", "shot_index", "feature"], path
        )
        feature = self.schema.field("feature").type
        if not pa.types.is_fixed_size_list(feature):
            raise UserError(f"{path}: column feature is {feature}, not a fixed-size list")
        self.dim: int = feature.list_size
        self._groups = np.array(
            [file.metadata.row_group(g).num_rows for g in range(file.metadata.num_row_groups)],
            dtype=np.int64,
        )
        self._index = _scan(file, self.path)
        self._movies = list(self._index)

    def _open(self) -> pq.ParquetFile:
        """This process's handle on the file (reopened after a fork)."""
        if self._file is None or self._pid != os.getpid():
            if not self.path.is_file():
                raise UserError(f"{self.path}: shot features table not found")
            try:
                self._file = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=READ_BUFFER)
            except (pa.ArrowInvalid, OSError) as err:
                raise UserError(f"{self.path}: not a readable Parquet table ({err})") from None
            self._pid = os.getpid()
        return self._file

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the file handle and the cache (each worker opens its own)."""
        state = self.__dict__.copy()
        state.update(_file=None, _pid=-1, _cache=OrderedDict())
        return state

    def __len__(self) -> int:
        return len(self._movies)

    def __iter__(self) -> Iterator[str]:
        return iter(self._movies)

    def __contains__(self, movie: object) -> bool:
        return movie in self._index

    @property
    def grouped(self) -> bool:
        """Whether each movie's rows are one contiguous range of the file (``extract`` output)."""
        first = np.concatenate([[0], np.cumsum(self._groups)])
        for runs in self._index.values():
            start, end = first[runs[:, 0]] + runs[:, 1], first[runs[:, 0]] + runs[:, 2]
            if not np.array_equal(start[1:], end[:-1]):
                return False
        return True

    def num_shots(self, movie: str) -> int:
        """M, the rows of ``movie`` (from the index; nothing is read)."""
        runs = self._runs(movie)
        return int((runs[:, 2] - runs[:, 1]).sum())

    def subset(self, movie_ids: Iterable[str]) -> ShotFeatureStore:
        """A store of these movies only, sharing the index (an unknown movie is an error)."""
        ids = sorted(set(movie_ids))
        for movie in ids:
            self._runs(movie)
        view = ShotFeatureStore.__new__(ShotFeatureStore)
        view.__dict__.update(self.__getstate__())
        view._index = {m: self._index[m] for m in ids}
        view._movies = ids
        return view

    def _runs(self, movie: str) -> Runs:
        runs = self._index.get(movie)
        if runs is None:
            raise UserError(f"{self.path}: no shot features for movie {movie!r}")
        return runs

    def table(self, movie: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The rows of ``movie`` in shot order (all columns, or ``columns``).

        Reads only the row groups holding the movie, each streamed until the movie's last
        row in it.

        Raises:
            UserError: no such movie, or its shot indices are not 0 .. M − 1.
        """
        runs = self._runs(movie)
        names = list(columns) if columns is not None else self.schema.names
        if "shot_index" not in names:
            names.append("shot_index")
        file = self._open()
        pieces: list[pa.RecordBatch] = []
        for g in np.unique(runs[:, 0]).tolist():
            wanted = runs[runs[:, 0] == g, 1:].tolist()
            last = max(end for _, end in wanted)
            offset = 0
            for batch in file.iter_batches(READ_BATCH, row_groups=[g], columns=names):
                stop = offset + batch.num_rows
                for start, end in wanted:
                    a, b = max(start, offset), min(end, stop)
                    if a < b:
                        pieces.append(batch.slice(a - offset, b - a))
                offset = stop
                if offset >= last:
                    break
        rows = pa.Table.from_batches(pieces)  # never empty: a movie is indexed by its rows
        shots = rows.column("shot_index").to_numpy()
        order = np.argsort(shots, kind="stable")
        if not np.array_equal(shots[order], np.arange(len(order))):
            raise UserError(
                f"{self.path}: shot features of movie {movie!r}: shot indices are not "
                f"0..{len(order) - 1}"
            )
        if not np.array_equal(order, np.arange(len(order))):
            rows = rows.take(pa.array(order))
        return (
            rows
            if columns is None or "shot_index" in columns
            else rows.drop_columns(["shot_index"])
        )

    def __getitem__(self, movie: str) -> Tensor:
        """(M, D) float32 features of ``movie``, row i = shot i."""
        cached = self._cache.get(movie)
        if cached is not None:
            self._cache.move_to_end(movie)
            return cached
        rows = self.table(movie, ["feature"])
        feats = torch.from_numpy(tables.to_numpy_embeddings(rows.column("feature")).copy())
        if self.cache_size > 0:
            self._cache[movie] = feats
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return feats

    def get(self, movie: str, default: Any = None) -> Any:
        """``store[movie]``, or ``default`` when the file has no rows of ``movie``."""
        return self[movie] if movie in self._index else default


def write_shot_features(
    path: str | Path,
    schema: pa.Schema,
    movies: Iterable[pa.Table],
    *,
    rows_per_group: int = ROWS_PER_GROUP,
) -> Path:
    """Write movies' shot rows so each movie lies whole in one small row group, shots in order.

    A row group takes movies until the next one would pass ``rows_per_group`` rows; a longer
    movie gets a group of its own. Only ``movie_id`` is dictionary-encoded: a movie's
    features fit pyarrow's 1 MB dictionary page, and dictionary-encoding distinct floats
    makes the file ~1.5× larger. Memory: the movies of one row group. Written atomically.

    Args:
        path: the ``shot_features`` file.
        schema: its schema (e.g. :func:`movierep.features.shot_features.shot_features_schema`).
        movies: one table per movie (its rows in any order), each with ``schema``'s columns.
        rows_per_group: the row-group size movies are packed into.

    Raises:
        UserError: a table holds rows of several movies.
    """
    path = Path(path)
    pending: list[pa.Table] = []
    rows = 0
    with (
        files.atomic_path(path) as tmp,
        pq.ParquetWriter(tmp, schema, use_dictionary=["movie_id"]) as writer,
    ):
        for movie in movies:
            ids = movie.column("movie_id").unique()
            if len(ids) > 1:
                raise UserError(f"{path}: one table per movie, got rows of {ids.to_pylist()}")
            if movie.num_rows == 0:
                continue
            order = np.argsort(movie.column("shot_index").to_numpy(), kind="stable")
            movie = movie.select(schema.names).cast(schema).take(pa.array(order))
            if pending and rows + movie.num_rows > rows_per_group:
                writer.write_table(pa.concat_tables(pending), row_group_size=rows)
                pending, rows = [], 0
            pending.append(movie)
            rows += movie.num_rows
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=rows)
    return path


def _movies_in_file_order(file: pq.ParquetFile) -> Iterator[pa.Table]:
    """Each movie's rows of a file grouped by movie, in one streaming pass."""
    current: str | None = None
    pieces: list[pa.RecordBatch] = []
    for batch in file.iter_batches(READ_BATCH):
        values, found = _id_runs(batch.column("movie_id"))
        for value, start, end in found.tolist():
            if values[value] != current and pieces:
                yield pa.Table.from_batches(pieces)
                pieces = []
            current = values[value]
            pieces.append(batch.slice(start, end - start))
    if pieces:
        yield pa.Table.from_batches(pieces)


def movie_sized_groups(path: str | Path, rows_per_group: int = ROWS_PER_GROUP) -> bool:
    """Whether no row group of a file passes ``rows_per_group`` rows (footer only).

    True for a file :func:`write_shot_features` wrote (or a small one): regrouping it again
    would rewrite the same layout.
    """
    meta = pq.ParquetFile(path).metadata
    return all(meta.row_group(i).num_rows <= rows_per_group for i in range(meta.num_row_groups))


def regroup_shot_features(
    src: str | Path, dst: str | Path, *, rows_per_group: int = ROWS_PER_GROUP
) -> Path:
    """Rewrite a ``shot_features`` file for fast per-movie reads (:func:`write_shot_features`).

    A file grouped by movie (one concatenated table of per-movie parts) is streamed once
    in file order; any other is read movie by movie through a :class:`ShotFeatureStore` (slow when
    its row groups are large). Memory: one movie and one batch either way.
    """
    store = ShotFeatureStore(src, cache_size=0)
    if store.grouped:
        movies: Iterable[pa.Table] = _movies_in_file_order(store._open())
    else:
        movies = (store.table(m) for m in store)
    return write_shot_features(dst, store.schema, movies, rows_per_group=rows_per_group)
