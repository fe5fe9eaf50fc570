"""LVU's spans as token batches: LVU's enumeration, collation, sampling, standardisation."""

from __future__ import annotations

import numpy as np
import torch

from movierep.tasks.protocols.lvu_spans import (
    TokenTables,
    VideoTokens,
    collate_spans,
    random_span,
    span_batches,
)

from .test_lvu_ot import _instances


def _video(seconds: np.ndarray, links: np.ndarray, shots: np.ndarray) -> VideoTokens:
    n = len(seconds)
    return VideoTokens(
        inst_second=seconds,
        inst_box=np.tile(np.array([[0.0, 0.0, 0.5, 0.5]], np.float32), (n, 1)),
        inst_shot=shots,
        inst_link=links,
        inst_feat=np.arange(n, dtype=np.float32)[:, None].repeat(3, 1),
        scene_second=np.array([1, 51, 99]),
        scene_feat=np.ones((3, 2), np.float32),
    )


def test_spans_follow_lvu_enumeration():
    v = _video(np.arange(100), np.zeros(100, np.int64), np.zeros(100, np.int64))
    spans = v.spans(1)
    assert len(spans) == 41 and spans[0] == (0, 59) and spans[-1] == (40, 99)
    assert v.spans(10) == [(0, 59), (10, 69), (20, 79), (30, 89), (40, 99)]
    short = _video(np.arange(5, 30), np.zeros(25, np.int64), np.zeros(25, np.int64))
    short.scene_second = np.array([6])
    assert short.spans(1) == [(5, 29)]  # shorter than 60 s: one span, the whole video


def test_collate_renumbers_links_shots_and_seconds():
    v = _video(np.array([10, 10, 11, 12, 70]), np.array([7, 9, 7, 9, 4]), np.array([3, 3, 4, 4, 6]))
    b = collate_spans([v], [(10, 69)], max_instances=3)
    assert b.inst_valid.tolist() == [[True, True, True]]  # second 70 is outside; cap 3
    assert b.inst_second.tolist() == [[0, 0, 1]]
    assert b.inst_link.tolist() == [[0, 1, 0]]  # first appearance order
    assert b.inst_shot.tolist() == [[0, 0, 1]] and b.span_shots.tolist() == [2]
    assert b.scene_second[0][b.scene_valid[0]].tolist() == [41]  # event at 51 s
    assert b.span_seconds.tolist() == [60]


def test_span_batches_draw_from_their_two_streams():
    v = _video(np.arange(100), np.arange(100) % 3, np.arange(100) // 10)
    videos = [v, v]
    a = span_batches(videos, 3, 16, np.random.default_rng(1), torch.Generator().manual_seed(1))
    picks, batch = next(a)
    rng, gen = np.random.default_rng(1), torch.Generator().manual_seed(1)
    want_pick = rng.integers(2, size=3)
    want = collate_spans([v] * 3, [random_span(v, rng) for _ in range(3)], 16, gen)
    assert picks.tolist() == want_pick.tolist()
    for name, value in vars(want).items():
        assert torch.equal(getattr(batch, name), value), name
    assert not torch.equal(next(a)[1].inst_feat, batch.inst_feat)  # a fresh draw


def test_features_are_standardized_per_dimension():
    rng = np.random.default_rng(3)
    inst = _instances(rng.integers(0, 2, 6), rng, seconds=4)
    raw = TokenTables(inst, None, standardize=False).inst_x
    z = TokenTables(inst, None).inst_x
    np.testing.assert_allclose(z, (raw - raw.mean(0)) / (raw.std(0) + 1e-6), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-3)
