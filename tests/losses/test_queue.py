"""FeatureQueue: FIFO order, wrap-around, batches larger than K, saved with the module."""

from __future__ import annotations

import torch

from movierep.losses.queue import FeatureQueue


def test_fifo_overwrites_the_oldest_rows_first() -> None:
    q = FeatureQueue(size=5, dim=1)
    assert q.negatives().shape == (0, 1)
    q.enqueue(torch.tensor([[1.0], [2.0], [3.0]]))
    assert q.negatives().flatten().tolist() == [1.0, 2.0, 3.0]
    q.enqueue(torch.tensor([[4.0], [5.0], [6.0]]))  # 6 overwrites 1, the oldest
    assert sorted(q.negatives().flatten().tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert q.features.flatten().tolist() == [6.0, 2.0, 3.0, 4.0, 5.0]
    assert int(q.ptr) == 1
    q.enqueue(torch.tensor([[7.0]]))  # then 2
    assert q.features.flatten().tolist() == [6.0, 7.0, 3.0, 4.0, 5.0]


def test_a_batch_larger_than_the_queue_keeps_its_newest_rows() -> None:
    q = FeatureQueue(size=3, dim=1)
    q.enqueue(torch.arange(7.0).unsqueeze(1))
    assert sorted(q.negatives().flatten().tolist()) == [4.0, 5.0, 6.0]
    assert int(q.filled) == 3


def test_queue_state_round_trips_through_state_dict() -> None:
    q = FeatureQueue(size=4, dim=2)
    q.enqueue(torch.randn(3, 2))
    r = FeatureQueue(size=4, dim=2)
    r.load_state_dict(q.state_dict())
    assert torch.equal(r.negatives(), q.negatives()) and int(r.ptr) == 3
