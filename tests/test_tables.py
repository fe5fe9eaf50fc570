"""Parquet tables: embedding columns round-trip, writes are atomic, bad files are UserErrors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from movierep.errors import UserError
from movierep.tables import (
    embedding_array,
    event_features_schema,
    read_table,
    require_columns,
    to_numpy_embeddings,
    write_table,
)


def test_embedding_column_round_trip(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    schema = event_features_schema(4)
    table = pa.table(
        {
            "movie_id": ["a", "a", "b"],
            "event_index": pa.array([0, 1, 0], pa.int32()),
            "start_time": [0.0, 2.0, 0.0],
            "end_time": [2.0, 4.0, 2.0],
            "feature": embedding_array(x),
        },
        schema=schema,
    )
    write_table(tmp_path / "f.parquet", table)
    back = read_table(tmp_path / "f.parquet")
    assert back.schema.field("feature").type == pa.list_(pa.float32(), 4)
    np.testing.assert_array_equal(to_numpy_embeddings(back["feature"]), x)
    assert [p.name for p in tmp_path.iterdir()] == ["f.parquet"]


def test_missing_and_corrupt_tables_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.parquet: table not found"):
        read_table(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(UserError, match=r"bad\.parquet: not a readable Parquet table"):
        read_table(bad)
    with pytest.raises(UserError, match="missing column"):
        require_columns(pa.table({"a": [1]}), ["a", "b"], "t.parquet")


def test_embedding_array_rejects_wrong_rank() -> None:
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        embedding_array(np.zeros(3))
