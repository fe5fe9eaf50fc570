from __future__ import annotations

import numpy as np
import pytest
import torch

from movierep.tables import EVENTS
from movierep.video.decode import open_video
from movierep.video.events import EventClips, event_windows, events_table, iter_event_clips


@pytest.mark.parametrize(
    ("duration", "stride", "expected"),
    [
        (9.2, 2.0, [(0, 2), (2, 4), (4, 6), (6, 8)]),
        (4.0, 1.0, [(0, 2), (1, 3), (2, 4)]),
        (9.2, 3.0, [(0, 2), (3, 5), (6, 8)]),
        (10.0, 2.0, [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]),
        (1.0, 2.0, [(0, 2)]),
        (0.0, 2.0, []),
    ],
)
def test_event_windows_are_consecutive_and_fit(duration, stride, expected):
    assert event_windows(duration, 2.0, stride) == [(float(a), float(b)) for a, b in expected]


def test_events_table_schema(hard_cut_clip):
    table = events_table("clip", hard_cut_clip[0], 5.0)
    assert table.schema == EVENTS
    assert table.column("event_index").to_pylist() == [0, 1]


@pytest.mark.parametrize(
    ("stride_s", "T", "frame_stride"), [(2.0, 16, 4), (1.0, 8, 3), (3.0, 4, 2)]
)
def test_sequential_event_clips_equal_seeked_clips(hard_cut_clip, stride_s, T, frame_stride):
    path = hard_cut_clip[0]
    starts = [s for s, _ in event_windows(5.0, 2.0, stride_s)] + [4.6]
    clips = list(iter_event_clips(path, starts, T, frame_stride, size=(48, 32)))
    with open_video(path, size=(48, 32)) as reader:
        expected = [reader.read_clip(s, T, frame_stride) for s in starts]
    assert len(clips) == len(starts)
    for got, want in zip(clips, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_event_clip_dataset_items(hard_cut_clip):
    table = events_table("clip", hard_cut_clip[0], 5.0, stride=1.0)
    dataset = EventClips(table, num_frames=16, frame_stride=4, size=(32, 24))
    assert len(dataset) == 4
    item = dataset[2]
    assert item["clip"].shape == (16, 24, 32, 3) and item["clip"].dtype == torch.uint8
    assert (item["movie_id"], item["event_index"], item["start_time"]) == ("clip", 2, 2.0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=0)
    batch = next(iter(loader))
    assert batch["clip"].shape == (2, 16, 24, 32, 3)


def test_events_match_the_corpus_event_windows(tiny_corpus, tmp_path):
    import pyarrow.parquet as pq

    from movierep.video.ingest import ingest_events

    _, table = ingest_events([tiny_corpus], tmp_path, show_progress=False)
    truth = pq.read_table(tiny_corpus / "truth" / "events.parquet")
    assert table is not None
    columns = ["movie_id", "event_index", "start_time", "end_time"]
    assert table.select(columns).to_pylist() == truth.select(columns).to_pylist()
