import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from movierep.data.movie_pair_data import MoviePairDataset
from movierep.errors import UserError
from movierep.features.shot_features import movie_features, shot_features_schema
from movierep.features.shot_store import (
    ShotFeatureStore,
    movie_sized_groups,
    regroup_shot_features,
    write_shot_features,
)
from movierep.tables import embedding_array

LENGTHS = {"a": 7, "b": 3, "c": 12, "d": 1, "e": 5}
DIM = 4


def catalog(seed: int = 0, shuffle: bool = True) -> pa.Table:
    """Every shot of LENGTHS' movies, rows in random order (or grouped, in shot order)."""
    rng = np.random.default_rng(seed)
    rows = [(m, i) for m, n in LENGTHS.items() for i in range(n)]
    if shuffle:
        rows = [rows[i] for i in rng.permutation(len(rows))]
    return pa.Table.from_pydict(
        {
            "movie_id": [m for m, _ in rows],
            "shot_index": [i for _, i in rows],
            "start_time": [float(i) for _, i in rows],
            "end_time": [i + 1.0 for _, i in rows],
            "feature": embedding_array(rng.standard_normal((len(rows), DIM)).astype(np.float32)),
        },
        schema=shot_features_schema(DIM),
    )


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[int] | None]:
    """Record the row groups of every streamed read."""
    seen: list[list[int] | None] = []
    original = pq.ParquetFile.iter_batches

    def counting(self: pq.ParquetFile, *args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("row_groups"))  # type: ignore[arg-type]
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    return seen


@pytest.mark.parametrize("row_group_size", [4, 5, 1000])
def test_store_returns_what_movie_features_returns(tmp_path: Path, row_group_size: int) -> None:
    table = catalog()  # not sorted by movie or shot; movies spread over row groups
    pq.write_table(table, tmp_path / "shots.parquet", row_group_size=row_group_size)
    store = ShotFeatureStore(tmp_path / "shots.parquet")
    expected = movie_features(table)
    assert list(store) == list(expected) == sorted(LENGTHS)
    assert store.dim == DIM and not store.grouped
    for movie, feats in expected.items():
        assert torch.equal(store[movie], feats), movie
        assert store.num_shots(movie) == LENGTHS[movie]
    rows = store.table("c")
    assert rows.column("shot_index").to_pylist() == list(range(12))
    assert rows.column("start_time").to_pylist() == [float(i) for i in range(12)]


def test_written_file_puts_each_movie_whole_in_small_row_groups(tmp_path: Path) -> None:
    table = catalog()
    out = write_shot_features(
        tmp_path / "shots.parquet",
        table.schema,
        (table.filter(pc.equal(table["movie_id"], m)) for m in LENGTHS),
        rows_per_group=8,
    )
    meta = pq.ParquetFile(out).metadata
    # a (7) | b (3) | c (12, alone: longer than 8) | d + e (1 + 5)
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [7, 3, 12, 6]
    store = ShotFeatureStore(out)
    assert store.grouped
    for movie, feats in movie_features(table).items():
        assert torch.equal(store[movie], feats)
    assert pq.read_table(out).column("shot_index").to_pylist()[:7] == list(range(7))


def test_only_the_movies_row_groups_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = catalog()
    path = tmp_path / "shots.parquet"
    movies = (table.filter(pc.equal(table["movie_id"], m)) for m in "abcde")
    write_shot_features(path, table.schema, movies, rows_per_group=1)
    index_reads: list[int] = []
    original = pq.ParquetFile.read_row_group

    def counting(self: pq.ParquetFile, i: int, *args: object, **kwargs: object) -> pa.Table:
        index_reads.append(i)
        return original(self, i, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counting)
    store = ShotFeatureStore(path, cache_size=1)
    assert index_reads == []  # one movie per group: indexed from the footer's statistics
    reads = count_reads(monkeypatch)
    store["c"]
    store["c"]  # cached
    store["e"]
    store["c"]  # dropped from the one-movie cache
    assert reads == [[2], [4], [2]]


def test_a_movie_spread_over_row_groups_reads_just_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = catalog()
    pq.write_table(table, tmp_path / "shots.parquet", row_group_size=4)
    store = ShotFeatureStore(tmp_path / "shots.parquet", cache_size=0)
    movie = table.column("movie_id").to_pylist()
    holding = sorted({i // 4 for i, m in enumerate(movie) if m == "b"})
    reads = count_reads(monkeypatch)
    store["b"]
    assert sorted(g for groups in reads for g in groups or []) == holding


def test_missing_movie_names_the_file_and_the_movie(tmp_path: Path) -> None:
    pq.write_table(catalog(), tmp_path / "shots.parquet")
    store = ShotFeatureStore(tmp_path / "shots.parquet")
    with pytest.raises(UserError, match=r"shots\.parquet: no shot features for movie 'zz'"):
        store["zz"]
    assert "zz" not in store and store.get("zz") is None
    with pytest.raises(UserError, match="zz"):
        store.subset(["a", "zz"])
    with pytest.raises(UserError, match="not found"):
        ShotFeatureStore(tmp_path / "nope.parquet")


def test_shot_indices_must_be_zero_to_n(tmp_path: Path) -> None:
    table = pa.table({"movie_id": ["m", "m"], "shot_index": [0, 2], "feature": embedding_array(
        np.eye(2, dtype=np.float32))})  # fmt: skip
    pq.write_table(table, tmp_path / "gap.parquet")
    with pytest.raises(UserError, match=r"gap\.parquet: shot features of movie 'm'"):
        ShotFeatureStore(tmp_path / "gap.parquet")["m"]


@pytest.mark.parametrize("shuffle", [True, False])
def test_regroup_streams_a_grouped_file_and_reads_any_other(tmp_path: Path, shuffle: bool) -> None:
    table = catalog(shuffle=shuffle)
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=5)
    assert ShotFeatureStore(tmp_path / "in.parquet").grouped is not shuffle
    out = regroup_shot_features(tmp_path / "in.parquet", tmp_path / "out.parquet", rows_per_group=8)
    meta = pq.ParquetFile(out).metadata
    assert sum(meta.row_group(g).num_rows for g in range(meta.num_row_groups)) == len(table)
    store = ShotFeatureStore(out)
    assert store.grouped
    for movie, feats in movie_features(table).items():
        assert torch.equal(store[movie], feats)
        runs = store._index[movie]
        assert len(runs) == 1  # one row group per movie after regrouping
    # a regrouped file needs no second pass; one 28-row group over a 12-row budget does
    assert movie_sized_groups(out, rows_per_group=12)  # the 12-shot movie has its own group
    pq.write_table(table, tmp_path / "one.parquet")
    assert not movie_sized_groups(tmp_path / "one.parquet", rows_per_group=12)


def test_pickled_store_opens_its_own_file_and_feeds_loader_workers(tmp_path: Path) -> None:
    table = catalog()
    pq.write_table(table, tmp_path / "shots.parquet", row_group_size=6)
    store = ShotFeatureStore(tmp_path / "shots.parquet")
    store["a"]
    copy = pickle.loads(pickle.dumps(store))
    assert copy._file is None and not copy._cache
    assert torch.equal(copy["a"], store["a"])
    view = store.subset(["a", "b", "c"])
    assert list(view) == ["a", "b", "c"] and len(view) == 3 and "d" not in view
    data = MoviePairDataset(view, [("a", "b"), ("b", "c")], num_shots=16)
    loader = DataLoader(data, batch_size=2, num_workers=2)
    batch = next(iter(loader))
    feats = movie_features(table)
    assert torch.equal(batch["x1"][0, :7], feats["a"]) and torch.equal(
        batch["x2"][1, :12], feats["c"]
    )
