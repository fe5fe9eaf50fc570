from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from movierep.data.sequences import EventSequenceDataset, SequenceConfig, vidsitu_clips
from movierep.errors import UserError
from movierep.tables import embedding_array, write_table


def events_table(spec: list[tuple[str, int]], hop: float = 2.0, shuffle: bool = True) -> pa.Table:
    """Rows (movie, event_index) with feature[0] = a unique row code movie*100 + index."""
    rows = [(m, i) for m, n in spec for i in range(n)]
    if shuffle:
        rows = [rows[j] for j in np.random.default_rng(0).permutation(len(rows))]
    codes = np.array([[ord(m[-1]) * 100 + i, 0.5] for m, i in rows], dtype=np.float32)
    return pa.table(
        {
            "movie_id": [m for m, _ in rows],
            "event_index": pa.array([i for _, i in rows], pa.int32()),
            "start_time": [i * hop for _, i in rows],
            "end_time": [i * hop + 2.0 for _, i in rows],
            "feature": embedding_array(codes),
        }
    )


def codes(ds: EventSequenceDataset) -> list[list[int]]:
    return [ds[i]["features"][:, 0].int().tolist() for i in range(len(ds))]


def test_windows_stay_inside_one_video() -> None:
    table = events_table([("a", 7), ("b", 3), ("c", 5)])
    ds = EventSequenceDataset(table, num_tokens=5)
    a, c = ord("a") * 100, ord("c") * 100
    assert sorted(codes(ds)) == [
        [a, a + 1, a + 2, a + 3, a + 4],
        [a + 1, a + 2, a + 3, a + 4, a + 5],
        [a + 2, a + 3, a + 4, a + 5, a + 6],
        [c, c + 1, c + 2, c + 3, c + 4],
    ]
    assert ds[0]["features"].shape == (5, 2)
    ds = EventSequenceDataset(table, num_tokens=3, cfg=SequenceConfig(windows="non_overlapping"))
    b = ord("b") * 100
    expected = [[a, a + 1, a + 2], [a + 3, a + 4, a + 5], [b, b + 1, b + 2], [c, c + 1, c + 2]]
    assert sorted(codes(ds)) == expected


def test_gaps_in_event_index_break_sequences() -> None:
    table = events_table([("a", 8)])
    table = table.filter(pa.compute.not_equal(table["event_index"], 3))  # event 3 failed
    a = ord("a") * 100
    assert codes(EventSequenceDataset(table, num_tokens=4)) == [[a + 4, a + 5, a + 6, a + 7]]


def test_token_stride_in_seconds_on_a_one_second_hop_table() -> None:
    table = events_table([("a", 9)], hop=1.0)  # 2 s events every 1 s
    a = ord("a") * 100
    assert len(EventSequenceDataset(table, num_tokens=3, cfg=SequenceConfig(token_stride=1.0))) == 7
    two = EventSequenceDataset(table, num_tokens=3, cfg=SequenceConfig(token_stride=2.0))
    assert sorted(codes(two)) == [[a + r, a + r + 2, a + r + 4] for r in range(5)]
    three = EventSequenceDataset(table, num_tokens=3, cfg=SequenceConfig(token_stride=3.0))
    assert sorted(codes(three)) == [[a + r, a + r + 3, a + r + 6] for r in range(3)]
    # on a 2 s hop table, a 2 s stride is consecutive events and 3 s is impossible
    assert (
        len(EventSequenceDataset(events_table([("a", 9)]), 3, cfg=SequenceConfig(token_stride=2.0)))
        == 7
    )
    with pytest.raises(UserError, match="not a multiple"):
        EventSequenceDataset(events_table([("a", 9)]), 3, cfg=SequenceConfig(token_stride=3.0))


def test_bad_tables(tmp_path: Path) -> None:
    dup = pa.concat_tables([events_table([("a", 3)]), events_table([("a", 1)])])
    with pytest.raises(UserError, match="twice"):
        EventSequenceDataset(dup, 3, source="dup.parquet")
    with pytest.raises(UserError, match="missing column"):
        EventSequenceDataset(events_table([("a", 3)]).drop(["feature"]), 3)
    path = write_table(tmp_path / "f.parquet", events_table([("a", 6)]))
    ds = EventSequenceDataset.from_parquet(path, num_tokens=5)
    assert len(ds) == 2
    assert ds.feature_dim == 2
    with pytest.raises(UserError, match="not found"):
        EventSequenceDataset.from_parquet(tmp_path / "missing.parquet", 5)


def test_vidsitu_clips_group_five_events() -> None:
    ids, feats = vidsitu_clips(events_table([("v_1", 5), ("v_0", 5)]))
    assert ids == ["v_0", "v_1"]
    assert feats.shape == (2, 5, 2)
    assert feats[1, :, 0].tolist() == [ord("1") * 100 + i for i in range(5)]
    with pytest.raises(UserError, match="5 consecutive events"):
        vidsitu_clips(events_table([("v_1", 5), ("v_2", 4)]))


def test_one_random_window_per_video() -> None:
    table = events_table([("a", 7), ("b", 3), ("c", 5)])
    ds = EventSequenceDataset(table, num_tokens=5, cfg=SequenceConfig(windows="one_per_video"))
    assert len(ds) == 2  # b is too short
    a, c = ord("a") * 100, ord("c") * 100
    torch.manual_seed(0)
    first = Counter(ds[0]["features"][0, 0].item() for _ in range(300))
    assert set(first) == {a, a + 1, a + 2}  # the three windows of a, all drawn
    assert min(first.values()) > 60
    assert ds[1]["features"][:, 0].tolist() == [c, c + 1, c + 2, c + 3, c + 4]
