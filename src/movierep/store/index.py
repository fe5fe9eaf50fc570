"""A FAISS index over one level of the store, and nearest-neighbour search in it.

Similarity is cosine: vectors are L2-normalised and compared by inner product
(``METRIC_INNER_PRODUCT``), as clip-retrieval does for CLIP embeddings. Which index, after
the FAISS wiki's "Guidelines to choose an index":

- ``flat`` (``IndexFlatIP``): exact search, no training, no parameters. Below
  :data:`EXACT_LIMIT` vectors a batched exact search costs about a millisecond per query
  on one core, so ``kind="auto"`` takes it.
- ``ivf`` (``IndexIVFFlat``): k-means splits the space into ``nlist ≈ 4·√n`` cells
  (trained once, on at most ``64·nlist`` vectors); a query scans the ``nprobe`` nearest
  cells. Cheap to build and to grow, so ``auto`` takes it above :data:`EXACT_LIMIT`.
- ``hnsw`` (``IndexHNSWFlat``, M = 32 links, efConstruction 40): a graph searched with a
  beam of ``efSearch``; no training, but slow to build on CPU.

``benchmarks/index_search.py`` measured the choice (512-d, one thread, recall@10 against
exact search; ``benchmarks/results/index_search.json``): on clustered vectors IVF at the
default ``nprobe`` 16 kept 99.3% of the exact top 10 at 22x the speed of batched exact
search at 1M vectors (nprobe 1: 98.6% at 112x); HNSW built with efConstruction 40 reached
only 90% at 1M (efSearch 512) and took 2.4x IVF's build time, so ``auto`` never picks it.
On isotropic random vectors, which have no neighbourhood structure, no index reached 95%
without scanning most of the data. Every choice and parameter is written beside the index,
so a search uses exactly what was built.

Files of ``STORE/index/<level>/`` (the folder is replaced atomically, never left half
written)::

    index.faiss    the FAISS index; vector id i is row i of rows.parquet
    rows.parquet   id, movie_id, level, item_index, start_time, end_time, keyframe
    index.json     level, kind, params, metric, dim, n, encoder, checkpoint_id, movies
                   (every movie included), rows (the id -> row mapping file), trained (IVF:
                   how many vectors of how many movies trained it), history (every build)

**Incremental.** Building again after movies were added to the store reads only the new
movies' files and adds their vectors (ids continue where the index ended). An IVF index
keeps the cells it was trained on: the first build trains, later builds only add, and
``trained`` records on what. The index is rebuilt from scratch when asked (``rebuild``),
when the level's encoder changed, when a movie it holds left the store, or when ``auto``
now picks another kind.

This is the index and back-end stage of clip-retrieval's inference → index → back end
design: the index is built from the stored Parquet files alone, and :func:`search` needs
only the index folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movierep import files, tables
from movierep.errors import UserError
from movierep.store.layout import LevelInfo, check_level, level_files, read_info, read_level

KINDS = ("auto", "flat", "ivf", "hnsw")
#: ``kind="auto"`` takes exact search up to this many vectors and IVF above.
EXACT_LIMIT = 100_000
#: IVF cells scanned per query, unless given (``benchmarks/index_search.py``).
DEFAULT_NPROBE = 16
#: HNSW beam width at search time, unless given.
DEFAULT_EF_SEARCH = 64
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
METRIC = "cosine (inner product of L2-normalised vectors)"
ROW_COLUMNS = ["movie_id", "level", "item_index", "start_time", "end_time", "keyframe"]


def index_dir(store: str | Path, level: str) -> Path:
    """``STORE/index/<level>``."""
    return Path(store) / "index" / check_level(level)


def choose_kind(n: int, kind: str = "auto") -> str:
    """The index kind for ``n`` vectors: ``kind`` itself, or for ``auto`` flat / ivf by size."""
    if kind not in KINDS:
        raise UserError(f"--kind {kind!r}: unknown (choose from {', '.join(KINDS)})")
    if kind != "auto":
        return kind
    return "flat" if n <= EXACT_LIMIT else "ivf"


def default_params(
    kind: str, n: int, *, nprobe: int | None = None, ef_search: int | None = None
) -> dict[str, int]:
    """The parameters of a ``kind`` index of ``n`` vectors.

    ``nlist = round(4·√n)``, at most ``n / 39`` (FAISS wants ≥ 39 training points per
    cell) and at least 1; ``nprobe`` at most ``nlist``.
    """
    if kind == "flat":
        return {}
    if kind == "ivf":
        nlist = max(1, min(round(4 * math.sqrt(n)), n // 39))
        return {"nlist": nlist, "nprobe": min(nprobe or DEFAULT_NPROBE, nlist)}
    if kind == "hnsw":
        return {
            "M": HNSW_M,
            "efConstruction": HNSW_EF_CONSTRUCTION,
            "efSearch": ef_search or DEFAULT_EF_SEARCH,
        }
    raise UserError(f"--kind {kind!r}: unknown (choose from {', '.join(KINDS[1:])})")


def normalized(x: np.ndarray) -> np.ndarray:
    """(N, D) float32 copy of ``x`` with unit L2 rows (zero rows stay zero)."""
    x = np.array(x, dtype=np.float32, ndmin=2)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def make_index(kind: str, dim: int, params: dict[str, int]) -> Any:
    """An empty FAISS index of ``kind`` for D = ``dim`` (IVF still needs :func:`train`)."""
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "ivf":
        return faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, params["nlist"], ip)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params["M"], ip)
        index.hnsw.efConstruction = params["efConstruction"]
        return index
    raise ValueError(f"unknown index kind {kind!r}")


def train(index: Any, x: np.ndarray, params: dict[str, int], seed: int = 0) -> int:
    """Train an IVF index's cells on at most ``64·nlist`` rows of ``x`` (others: no-op).

    Returns:
        The number of training vectors.
    """
    if index.is_trained:
        return 0
    size = min(len(x), 64 * params["nlist"])
    rows = np.sort(np.random.default_rng(seed).permutation(len(x))[:size])
    if size < 39 * params["nlist"]:  # a store of fewer than 39 vectors: one cell, no warning
        index.cp.min_points_per_centroid = 1
    index.train(np.ascontiguousarray(x[rows]))
    return size


def set_search_params(index: Any, kind: str, params: dict[str, int]) -> None:
    """Apply the search-time parameters (``nprobe``, ``efSearch``) to a loaded index."""
    if kind == "ivf":
        index.nprobe = params["nprobe"]
    elif kind == "hnsw":
        index.hnsw.efSearch = params["efSearch"]


@dataclass(frozen=True)
class BuildReport:
    """What :func:`build_index` did.

    Attributes:
        folder: the index folder.
        kind: the index kind.
        params: its parameters.
        n: vectors in the index.
        movies: movies in the index.
        added_movies: movies added by this build.
        added_vectors: vectors added by this build.
        from_scratch: whether it was built anew (else: added to the existing index).
        reason: why it was built anew, or ``""``.
    """

    folder: Path
    kind: str
    params: dict[str, int]
    n: int
    movies: int
    added_movies: int
    added_vectors: int
    from_scratch: bool
    reason: str = ""

    def summary(self) -> str:
        """One line for the CLI."""
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        how = f"built from scratch ({self.reason})" if self.from_scratch else "updated"
        return (
            f"{self.folder}: {self.kind}{f' ({params})' if params else ''}, {self.n} vectors "
            f"of {self.movies} movies; {how}: +{self.added_vectors} vectors of "
            f"+{self.added_movies} movies"
        )


def read_index_info(store: str | Path, level: str) -> dict[str, Any]:
    """``index.json`` of a level's index.

    Raises:
        UserError: there is no index of that level.
    """
    path = index_dir(store, level) / "index.json"
    if not path.is_file():
        raise UserError(
            f"{path.parent}: no {level} index (run `movierep index {store} --level {level}`)"
        )
    info: dict[str, Any] = files.read_json(path)
    return info


def _level_movies(store: str | Path, level: str) -> tuple[list[str], int]:
    """The movies with a file of ``level`` (in file order) and their number of rows."""
    if not level_files(store, level):
        return [], 0
    ids = read_level(store, level, columns=["movie_id"])["movie_id"]
    return [str(m) for m in pc.unique(ids).to_pylist()], len(ids)


def _stale(
    old: dict[str, Any] | None, level: LevelInfo, movies: list[str], kind: str, rebuild: bool
) -> str:
    """Why an existing index cannot be grown (``""``: it can)."""
    if old is None:
        return "no index yet"
    if rebuild:
        return "asked to rebuild"
    if (old["checkpoint_id"], old["dim"]) != (level.checkpoint_id, level.dim):
        return f"the level's encoder changed ({old['checkpoint_id']} -> {level.checkpoint_id})"
    gone = sorted(set(old["movies"]) - set(movies))
    if gone:
        return f"{len(gone)} indexed movies left the store (e.g. {gone[0]!r})"
    if kind != old["kind"]:
        return f"kind {old['kind']} -> {kind}"
    return ""


def build_index(
    store: str | Path,
    level: str = "scene",
    kind: str = "auto",
    *,
    nprobe: int | None = None,
    ef_search: int | None = None,
    rebuild: bool = False,
) -> BuildReport:
    """Build (or grow) the index of one level of the store (``movierep index``).

    Args:
        store: the store folder.
        level: ``event``, ``shot`` or ``scene``.
        kind: ``auto``, ``flat``, ``ivf`` or ``hnsw``.
        nprobe: IVF cells scanned per query (default :data:`DEFAULT_NPROBE`).
        ef_search: HNSW beam width (default :data:`DEFAULT_EF_SEARCH`).
        rebuild: build from scratch even when the index could be grown.

    Returns:
        A :class:`BuildReport`.

    Raises:
        UserError: no store, no such level, or no embeddings in it.
    """
    level_info = read_info(store).level(level)
    movies, n = _level_movies(store, level)
    if not movies:
        raise UserError(f"{Path(store) / level}: no {level} embeddings to index")
    folder = index_dir(store, level)
    old = read_index_info(store, level) if (folder / "index.json").is_file() else None
    wanted = choose_kind(n, kind)  # auto: by the size the index will have
    reason = _stale(old, level_info, movies, wanted, rebuild)
    if reason or old is None:
        return _write(store, level, level_info, wanted, movies, None, reason, nprobe, ef_search)
    known = set(old["movies"])
    new_movies = [m for m in movies if m not in known]
    if not new_movies and nprobe is None and ef_search is None:  # up to date: touch nothing
        return BuildReport(
            folder, old["kind"], old["params"], old["n"], len(old["movies"]), 0, 0, False
        )
    return _write(store, level, level_info, wanted, new_movies, old, "", nprobe, ef_search)


def _write(
    store: str | Path,
    level: str,
    level_info: LevelInfo,
    kind: str,
    movies: list[str],
    old: dict[str, Any] | None,
    reason: str,
    nprobe: int | None,
    ef_search: int | None,
) -> BuildReport:
    """Add ``movies`` to the ``old`` index (or to a new one) and swap the folder in."""
    folder = index_dir(store, level)
    table = None
    if movies:
        columns = [*ROW_COLUMNS, "embedding"]
        table = read_level(store, level, movie_ids=movies, columns=columns)
    x = normalized(tables.to_numpy_embeddings(table["embedding"])) if table is not None else None
    if old is None:
        if x is None or table is None:
            raise ValueError("a new index needs vectors")
        params = default_params(kind, len(x), nprobe=nprobe, ef_search=ef_search)
        index = make_index(kind, level_info.dim, params)
        meta: dict[str, Any] = {
            "level": level,
            "kind": kind,
            "params": params,
            "metric": METRIC,
            "dim": level_info.dim,
            "n": 0,
            "encoder": level_info.encoder,
            "checkpoint_id": level_info.checkpoint_id,
            "movies": [],
            "rows": "rows.parquet",
            "faiss_version": faiss.__version__,
            "history": [],
        }
        if kind == "ivf":  # trained once, here; later builds only add
            trained = train(index, x, params)
            meta["trained"] = {"vectors": trained, "movies": len(movies), "of_vectors": len(x)}
        rows = table.select(ROW_COLUMNS).slice(0, 0)
    else:
        meta = dict(old)
        index = faiss.read_index(str(folder / "index.faiss"))
        params = dict(meta["params"])
        if nprobe is not None and meta["kind"] == "ivf":
            params["nprobe"] = min(nprobe, params["nlist"])
        if ef_search is not None and meta["kind"] == "hnsw":
            params["efSearch"] = ef_search
        meta["params"] = params
        rows = tables.read_table(folder / "rows.parquet").select(ROW_COLUMNS)
    added = 0
    if x is not None and table is not None:
        index.add(x)
        added = len(x)
        rows = pa.concat_tables([rows, table.select(ROW_COLUMNS)])
    rows = rows.add_column(0, "id", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    meta["n"] = int(index.ntotal)
    meta["movies"] = [*meta["movies"], *movies]
    meta["history"] = [
        *meta["history"],
        {"from_scratch": old is None, "added_movies": len(movies), "added_vectors": added},
    ]
    if meta["n"] != rows.num_rows:
        raise RuntimeError(f"{folder}: {meta['n']} vectors but {rows.num_rows} rows")
    with files.atomic_dir(folder) as tmp:
        faiss.write_index(index, str(tmp / "index.faiss"))
        tables.write_table(tmp / "rows.parquet", rows)
        files.write_json(tmp / "index.json", meta)
    return BuildReport(
        folder,
        meta["kind"],
        meta["params"],
        meta["n"],
        len(meta["movies"]),
        len(movies),
        added,
        old is None,
        reason,
    )


class StoreIndex:
    """A level's index loaded for searching.

    Args:
        store: the store folder.
        level: ``event``, ``shot`` or ``scene``.
        nprobe: override the IVF ``nprobe`` recorded in ``index.json``.
        ef_search: override the HNSW ``efSearch``.

    Raises:
        UserError: no index of that level.
    """

    def __init__(
        self,
        store: str | Path,
        level: str = "scene",
        *,
        nprobe: int | None = None,
        ef_search: int | None = None,
    ) -> None:
        self.store = Path(store)
        self.level = check_level(level)
        self.info = read_index_info(store, level)
        folder = index_dir(store, level)
        self.rows = tables.read_table(folder / "rows.parquet")
        self.index = faiss.read_index(str(folder / "index.faiss"))
        params = dict(self.info["params"])
        if nprobe is not None and "nprobe" in params:
            params["nprobe"] = nprobe
        if ef_search is not None and "efSearch" in params:
            params["efSearch"] = ef_search
        set_search_params(self.index, self.info["kind"], params)
        self.params = params
        self.dim = int(self.info["dim"])
        self._movie_of = np.asarray(self.rows["movie_id"].to_pylist(), dtype=object)
        counts = pc.value_counts(self.rows["movie_id"])
        self._items_per_movie = {str(c["values"]): int(c["counts"]) for c in counts.to_pylist()}

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        *,
        exclude_movies: list[str | None] | None = None,
    ) -> pa.Table:
        """The ``k`` items most similar (cosine) to each query.

        Args:
            queries: (Q, D) query vectors (normalised here), or one (D,) vector.
            k: results per query.
            exclude_movies: per query, a movie whose items are left out (``None``: none);
                e.g. the query's own movie, to find similar items of *other* movies.

        Returns:
            Q·k rows (fewer when the index holds fewer eligible items): query, rank (1 =
            nearest), score (cosine), movie_id, level, item_index, start_time, end_time,
            keyframe.

        Raises:
            UserError: the queries' D is not the index's, or ``k`` < 1.
        """
        q = normalized(queries)
        if q.shape[1] != self.dim:
            raise UserError(
                f"{index_dir(self.store, self.level)}: query vectors have D={q.shape[1]}, "
                f"the {self.level} index has D={self.dim}"
            )
        if k < 1:
            raise UserError(f"-k must be at least 1, got {k}")
        excluded = exclude_movies or [None] * len(q)
        if len(excluded) != len(q):
            raise ValueError(f"{len(q)} queries but {len(excluded)} exclude_movies entries")
        skip = max((self._items_per_movie.get(m, 0) for m in excluded if m), default=0)
        fetch = min(k + skip, int(self.index.ntotal))
        scores, ids = self.index.search(q, fetch)  # (Q, fetch) each
        picked: list[tuple[int, int, float, int]] = []  # query, rank, score, row
        for qi in range(len(q)):
            rank = 0
            for score, row in zip(scores[qi], ids[qi], strict=True):
                if row < 0 or (excluded[qi] is not None and self._movie_of[row] == excluded[qi]):
                    continue
                rank += 1
                picked.append((qi, rank, float(score), int(row)))
                if rank == k:
                    break
        result = self.rows.take(pa.array([p[3] for p in picked], pa.int64())).select(ROW_COLUMNS)
        result = result.add_column(0, "score", pa.array([p[2] for p in picked], pa.float32()))
        result = result.add_column(0, "rank", pa.array([p[1] for p in picked], pa.int32()))
        return result.add_column(0, "query", pa.array([p[0] for p in picked], pa.int32()))


def search(
    store: str | Path,
    query_vectors: np.ndarray,
    k: int = 10,
    level: str = "scene",
    *,
    exclude_movies: list[str | None] | None = None,
) -> pa.Table:
    """Search the ``level`` index of ``store`` (see :meth:`StoreIndex.search`)."""
    return StoreIndex(store, level).search(query_vectors, k, exclude_movies=exclude_movies)
