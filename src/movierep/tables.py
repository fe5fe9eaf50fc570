"""The Parquet tables every stage reads and writes (pyarrow), one row per shot / event.

Embeddings are stored as a ``fixed_size_list<float32>[D]`` column so a table opens in any
Parquet reader and converts to an (N, D) array without copying row by row. Writes are
atomic: a crash never leaves a half-written table under the final name.

Schemas (column: type):

- ``SHOTS``: movie_id, shot_index, start_frame, end_frame (exclusive), start_time,
  end_time, score (detector confidence of the boundary that opens the shot), detector.
- ``KEYFRAMES``: movie_id, shot_index, k (0..2, MovieNet ``img_k``), frame, time, path.
- ``EVENTS``: movie_id, event_index, start_time, end_time, video_path.
- ``event_features_schema(D)``: movie_id, event_index, start_time, end_time, feature[D].
- ``FAILURES``: path, stage, error_type, message, outcome (``failed``: no result;
  ``partial``: a result was kept, e.g. the frames decoded before a corrupt spot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from movierep.errors import UserError
from movierep.files import atomic_path

SHOTS = pa.schema(
    [
        ("movie_id", pa.string()),
        ("shot_index", pa.int32()),
        ("start_frame", pa.int64()),
        ("end_frame", pa.int64()),
        ("start_time", pa.float64()),
        ("end_time", pa.float64()),
        ("score", pa.float32()),
        ("detector", pa.string()),
    ]
)

KEYFRAMES = pa.schema(
    [
        ("movie_id", pa.string()),
        ("shot_index", pa.int32()),
        ("k", pa.int8()),
        ("frame", pa.int64()),
        ("time", pa.float64()),
        ("path", pa.string()),
    ]
)

EVENTS = pa.schema(
    [
        ("movie_id", pa.string()),
        ("event_index", pa.int32()),
        ("start_time", pa.float64()),
        ("end_time", pa.float64()),
        ("video_path", pa.string()),
    ]
)

FAILURES = pa.schema(
    [
        ("path", pa.string()),
        ("stage", pa.string()),
        ("error_type", pa.string()),
        ("message", pa.string()),
        ("outcome", pa.string()),
    ]
)


def embedding_type(dim: int) -> pa.DataType:
    """The Arrow type of an embedding column: ``fixed_size_list<float32>[dim]``."""
    return pa.list_(pa.float32(), dim)


def event_features_schema(dim: int, context_dim: int | None = None) -> pa.Schema:
    """Schema of an event-features table with D = ``dim`` (and an optional context column)."""
    fields = [
        ("movie_id", pa.string()),
        ("event_index", pa.int32()),
        ("start_time", pa.float64()),
        ("end_time", pa.float64()),
        ("feature", embedding_type(dim)),
    ]
    if context_dim is not None:
        fields.append(("context_feature", embedding_type(context_dim)))
    return pa.schema(fields)


def embedding_array(x: np.ndarray) -> pa.FixedSizeListArray:
    """Wrap an (N, D) array as a ``fixed_size_list<float32>[D]`` Arrow array (no per-row copy)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {x.shape}")
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def to_numpy_embeddings(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Convert an embedding column back to an (N, D) float32 array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    dim = column.type.list_size
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float32).reshape(-1, dim)


def row_groups(table: pa.Table, column: str = "movie_id") -> dict[str, np.ndarray]:
    """Row indices of ``table`` per value of ``column`` (values as str), ascending in each group.

    Returns:
        ``{value: (n_value,) int64 row indices}`` in order of first appearance.
    """
    groups: dict[str, list[int]] = {}
    for i, value in enumerate(table.column(column).to_pylist()):
        groups.setdefault(str(value), []).append(i)
    return {value: np.asarray(rows, dtype=np.int64) for value, rows in groups.items()}


def write_table(path: str | Path, table: pa.Table) -> Path:
    """Write ``table`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_table(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet table; a missing or unreadable file is a one-line :class:`UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: table not found")
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as err:
        raise UserError(f"{path}: not a readable Parquet table ({err})") from None


def as_feature(table: pa.Table, column: str) -> pa.Table:
    """``table`` with embedding column ``column`` read as its ``feature`` (the others kept).

    An event-features table holds the backbone's ``feature`` and TxE's ``context_feature``
    side by side; tasks read ``feature``, so this picks which one they see.
    """
    if column == "feature":
        return table
    keep = [c for c in table.column_names if c not in ("feature", column)]
    return table.select(keep).append_column("feature", table.column(column))


def require_columns(table: pa.Table, columns: list[str], source: str | Path) -> None:
    """Raise a :class:`UserError` naming ``source`` when ``table`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UserError(f"{source}: missing column(s) {', '.join(missing)}")
