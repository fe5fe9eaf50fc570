"""MovieNet-318 boundary metrics, place mAP and moderation AP against sklearn and hand work."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from movierep.metrics.multilabel import (
    MEAN_KEY,
    mean_average_precision,
    per_class_average_precision,
)
from movierep.metrics.scene_boundaries import (
    movie_miou,
    movie_recall_at_seconds,
    predictions,
    sbd_average_precision,
    sbd_f1,
    sbd_metrics,
    sbd_miou,
    sbd_per_movie_average_precision,
    sbd_recall,
    sbd_recall_at_seconds,
    scenes_from_labels,
)

EPS = 1e-5


def _ten_frame_shots(n: int) -> np.ndarray:
    """Shot k spans frames [10k, 10k + 9]."""
    return np.array([(10 * k, 10 * k + 9) for k in range(n)])


# --- AP --------------------------------------------------------------------------------------


def test_pooled_ap_is_sklearn_on_the_concatenation_and_differs_from_per_movie_ap() -> None:
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 2, 40), rng.integers(0, 2, 25), rng.integers(0, 2, 60)]
    scores = [rng.random(40) + 0.3 * labels[0], rng.random(25), rng.random(60) * 0.5]
    expected = average_precision_score(np.concatenate(labels), np.concatenate(scores))
    assert sbd_average_precision(labels, scores) == pytest.approx(expected)
    per_movie = np.mean(
        [average_precision_score(y, s) for y, s in zip(labels, scores, strict=True)]
    )
    assert sbd_per_movie_average_precision(labels, scores) == pytest.approx(per_movie)
    assert sbd_average_precision(labels, scores) != pytest.approx(per_movie)
    rounded = np.mean(
        [round(average_precision_score(y, s), 2) for y, s in zip(labels, scores, strict=True)]
    )
    assert sbd_per_movie_average_precision(labels, scores, round_digits=2) == pytest.approx(rounded)


def test_uncertain_minus_one_counts_as_a_boundary() -> None:
    raw = [np.array([0, 1, -1, 0, 0]), np.array([-1, 0, 0])]
    scores = [np.array([0.1, 0.9, 0.2, 0.3, 0.8]), np.array([0.7, 0.6, 0.1])]
    as_one = [np.abs(r) for r in raw]
    assert sbd_average_precision(raw, scores) == sbd_average_precision(as_one, scores)
    with pytest.raises(ValueError, match="0, 1 or -1"):
        sbd_average_precision([np.array([0, 2])], [np.array([0.1, 0.2])])
    with pytest.raises(ValueError, match="no positive"):
        sbd_average_precision([np.zeros(3)], [np.ones(3)])


# --- scenes and mIoU -------------------------------------------------------------------------


def test_scenes_close_at_every_one_and_drop_the_trailing_open_group() -> None:
    assert scenes_from_labels(np.array([0, 1, 0, 0, 1, 0, 0])) == [(0, 1), (2, 4)]
    assert scenes_from_labels(np.array([0, 0, 0])) == []
    # evaluated shots 3, 5, 6, 9 (out of order; shot 9 trails):
    # a scene starts at the first evaluated shot after the previous boundary
    assert scenes_from_labels(np.array([0, 1, 0, 1]), np.array([9, 3, 5, 6])) == [(3, 3), (5, 6)]


def test_movie_miou_by_hand() -> None:
    frames = _ten_frame_shots(6)  # (0,9) (10,19) (20,29) (30,39) (40,49) (50,59)
    gt = np.array([0, 1, 0, 0, 1])  # scenes: shots 0-1 -> (0,19); shots 2-4 -> (20,49)
    pred = np.array([1, 0, 0, 1, 0])  # shots 0 -> (0,9); 1-3 -> (10,39); shot 4 dropped
    # G1=(0,19): vs P1 inter 9 / hull 19; vs P2 inter 19-10=9 / hull 39  -> best 9/19
    # G2=(20,49): vs P1 no overlap; vs P2 inter 39-20=19 / hull 49-10=39 -> best 19/39
    # m1 = (9/19 + 19/39) / 2; P1 -> best 9/19, P2 -> best 19/39, so m2 = m1
    expected = (9 / 19 + 19 / 39) / 2  # ≈ 0.48043
    assert movie_miou(gt, pred, frames) == pytest.approx(expected)


def test_movie_miou_drops_trailing_predicted_shots_and_is_asymmetric_per_direction() -> None:
    frames = _ten_frame_shots(7)
    gt = np.array([0, 0, 1, 0, 0, 1])  # scenes (0,29), (30,59); shot 6 dropped
    pred = np.array([0, 0, 1, 0, 0, 0])  # scene (0,29) only: shots 3-5 are after the last 1
    # m1: G1 best 1.0, G2=(30,59) vs (0,29): min(59,29) - max(30,0) < 0 -> 0; m1 = 0.5
    # m2: P1 best 1.0;  movie = (0.5 + 1.0) / 2 = 0.75
    # (were shots 3-5 kept as a scene (30,59), the movie would score 1.0)
    assert movie_miou(gt, pred, frames) == pytest.approx(0.75)


def test_miou_is_zero_without_predicted_boundaries_and_averages_over_movies() -> None:
    frames = _ten_frame_shots(6)
    gt = np.array([0, 1, 0, 0, 1])
    pred = np.array([1, 0, 0, 1, 0])
    none = np.zeros(5, dtype=int)
    assert movie_miou(gt, none, frames) == 0.0
    got = sbd_miou([gt, gt], [pred, none], [frames, frames])
    assert got == pytest.approx((9 / 19 + 19 / 39) / 2 / 2)  # (0.48043 + 0) / 2
    with pytest.raises(ValueError, match="no ground-truth boundary"):
        movie_miou(np.zeros(5, dtype=int), pred, frames)
    # a one-scene movie is left out of the mean over movies
    one_scene = np.zeros(5, dtype=int)
    assert sbd_miou([gt, one_scene], [pred, pred], [frames, frames]) == movie_miou(gt, pred, frames)


def test_miou_on_a_subset_of_evaluated_shots_uses_their_shot_indices() -> None:
    frames = _ten_frame_shots(7)
    ids = np.array([1, 2, 3, 4, 5])  # shot 0 and 6 not evaluated (as LGSS drops edge shots)
    gt = np.array([0, 1, 0, 0, 1])  # scenes shots 1-2 -> (10,29); 3-5 -> (30,59)
    pred = np.array([1, 0, 0, 1, 0])  # shots 1 -> (10,19); 2-4 -> (20,49)
    # the first example shifted by one shot: 9/19 and 19/39 again
    expected = (9 / 19 + 19 / 39) / 2
    assert movie_miou(gt, pred, frames, ids) == pytest.approx(expected)
    perm = np.array([3, 0, 4, 1, 2])
    assert movie_miou(gt[perm], pred[perm], frames, ids[perm]) == pytest.approx(expected)
    assert sbd_miou([gt], [pred], [frames], [ids]) == pytest.approx(expected)


# --- Recall@3s -------------------------------------------------------------------------------


def _two_second_shots(n: int) -> np.ndarray:
    """End frames 47, 95, ...: consecutive shot ends are 48 frames apart (2 s at 24 fps)."""
    return 48 * np.arange(n) + 47


def test_recall_at_3s_by_hand_with_the_frame_rate_as_a_parameter() -> None:
    ends = _two_second_shots(15)
    gt = np.zeros(14, dtype=int)
    gt[[2, 7, 12]] = 1
    pred = np.zeros(14, dtype=int)
    pred[[3, 10]] = 1
    # fps 24: end gaps are 2|j-i| s, so only |j-i| <= 1 is under 3 s.
    #   shot 2 <- pred 3 (2 s): hit; shot 7: nothing in 6..8; shot 12: nothing in 11..13
    assert movie_recall_at_seconds(gt, pred, ends, 24) == pytest.approx(1 / (3 + EPS))
    # fps 48: gaps are |j-i| s, |j-i| <= 2 counts: shot 12 <- pred 10 too
    assert movie_recall_at_seconds(gt, pred, ends, 48) == pytest.approx(2 / (3 + EPS))
    # fps 8: gaps are 6|j-i| s, only the same shot counts: no hit
    assert movie_recall_at_seconds(gt, pred, ends, 8) == 0.0
    # seconds=2.0 at fps 24: the 2 s gap is not strictly under 2 s
    assert movie_recall_at_seconds(gt, pred, ends, 24, seconds=2.0) == 0.0
    # a movie with every boundary found scores just under 1: hits / (#gt + 1e-5)
    assert movie_recall_at_seconds(gt, gt, ends, 24) == pytest.approx(3 / (3 + EPS))
    assert movie_recall_at_seconds(gt, gt, ends, 24) < 1.0


def test_recall_at_3s_searches_five_shots_each_side_by_shot_index() -> None:
    ends = _two_second_shots(15)
    gt = np.zeros(14, dtype=int)
    gt[8] = 1
    far = np.zeros(14, dtype=int)
    far[[2, 13]] = 1  # 6 and 5 shots away; at fps 1000 every gap is under 3 s
    # shot 13 is within ±5 of shot 8: hit
    assert movie_recall_at_seconds(gt, far, ends, 1000) == pytest.approx(1 / (1 + EPS))
    far[13] = 0  # only shot 2, 6 shots away: outside the window however close in time
    assert movie_recall_at_seconds(gt, far, ends, 1000) == 0.0
    # evaluated shots 0, 2, 4, ..., 14: gt at shot 6, pred at shot 12 -> 3 positions but
    # 6 shots apart -> miss; pred at shot 10 (4 shots) -> hit
    ids = np.arange(0, 15, 2)
    g = (ids == 6).astype(int)
    assert movie_recall_at_seconds(g, (ids == 12).astype(int), ends, 1000, shot_ids=ids) == 0.0
    hit = movie_recall_at_seconds(g, (ids == 10).astype(int), ends, 1000, shot_ids=ids)
    assert hit == pytest.approx(1 / (1 + EPS))


def test_recall_at_3s_uses_end_frames_and_averages_over_movies() -> None:
    # shots (0,9), (10,200), (201,210): ends 9 and 200 are 191 frames = 7.96 s apart at 24 fps
    # (the starts 0 and 10 would be 0.4 s apart)
    frames = np.array([(0, 9), (10, 200), (201, 210)])
    gt, pred = np.array([1, 0]), np.array([0, 1])
    assert movie_recall_at_seconds(gt, pred, frames[:, 1], 24) == 0.0
    # movie A: 1 of 3 (first test) -> 1/(3+1e-5); movie B: no gt boundary -> 0/(0+1e-5) = 0
    ends = _two_second_shots(15)
    ga, pa = np.zeros(14, dtype=int), np.zeros(14, dtype=int)
    ga[[2, 7, 12]], pa[[3, 10]] = 1, 1
    gb = np.zeros(14, dtype=int)
    got = sbd_recall_at_seconds([ga, gb], [pa, pa], [ends, ends], 24)
    assert got == pytest.approx((1 / (3 + EPS) + 0.0) / 2)


# --- Recall, F1, all together ----------------------------------------------------------------


def test_recall_and_f1_per_movie_and_pooled() -> None:
    gts = [np.array([1, 0, 1, 0]), np.array([0, 1])]
    preds = [np.array([1, 1, 0, 0]), np.array([0, 1])]
    # movie 1: TP 1, FP 1, FN 1; movie 2: TP 1
    assert sbd_recall(gts, preds) == pytest.approx((0.5 + 1.0) / 2)
    r1 = p1 = 1 / (2 + EPS)
    r2 = p2 = 1 / (1 + EPS)
    scrl = (2 * r1 * p1 / (r1 + p1 + EPS) + 2 * r2 * p2 / (r2 + p2 + EPS)) / 2  # ≈ 0.75
    assert sbd_f1(gts, preds) == pytest.approx(scrl)
    # pooled: TP 2, FP 1, FN 1 -> 2*2 / (4 + 1 + 1)
    assert sbd_f1(gts, preds, pooled=True) == pytest.approx(4 / 6)


def test_sbd_metrics_thresholds_strictly_and_combines_the_parts() -> None:
    frames = _ten_frame_shots(6)
    gt = np.array([0, 1, 0, 0, 1])
    scores = np.array([0.9, 0.5, 0.2, 0.7, 0.4])  # 0.5 is not > 0.5: pred [1, 0, 0, 1, 0]
    assert predictions([scores])[0].tolist() == [1, 0, 0, 1, 0]
    m = sbd_metrics([gt], [scores], [frames], fps=24)
    assert set(m) == {"AP", "AP-movie", "mIoU", "Recall", "Recall@3s", "F1", "F1-pooled"}
    assert m["AP"] == pytest.approx(average_precision_score(gt, scores))
    assert m["mIoU"] == pytest.approx((9 / 19 + 19 / 39) / 2)
    # gt shot 1 <- pred shot 0 (ends 9 and 19: 10 frames); gt shot 4 <- pred shot 3 -> 2/2
    assert m["Recall@3s"] == pytest.approx(2 / (2 + EPS))
    assert m["Recall"] == 0.0
    assert "Recall@5s" in sbd_metrics([gt], [scores], [frames], fps=24, seconds=5)


# --- place tagging mAP and moderation AP -----------------------------------------------------


def test_map_is_the_mean_of_sklearn_per_class_ap_and_skips_classes_without_positives() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((80, 6)) < 0.3).astype(int)
    y[:, 4] = 0  # no positive in class 4
    s = rng.random((80, 6)) + 0.4 * y
    m, per_class = mean_average_precision(y, s)
    kept = [0, 1, 2, 3, 5]
    assert sorted(per_class) == kept
    for c in kept:
        assert per_class[c] == pytest.approx(average_precision_score(y[:, c], s[:, c]))
    assert m == pytest.approx(np.mean([average_precision_score(y[:, c], s[:, c]) for c in kept]))
    # by hand: one class, ranks pos, neg, pos -> precisions 1 and 2/3 at the positives
    mh, _ = mean_average_precision(np.array([[1], [0], [1]]), np.array([[0.9], [0.8], [0.7]]))
    assert mh == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="no class"):
        mean_average_precision(np.zeros((3, 2), dtype=int), np.ones((3, 2)))


def test_moderation_ap_per_class_is_one_vs_rest_and_the_mean_leaves_out_none() -> None:
    rng = np.random.default_rng(2)
    names = ["none", "sex", "violence", "drug-use"]
    y = rng.integers(0, 4, 120)
    s = rng.random((120, 4)) + 0.5 * np.eye(4)[y]
    out = per_class_average_precision(y, s, names)
    for c, name in enumerate(names):
        assert out[name] == pytest.approx(average_precision_score(y == c, s[:, c]))
    assert out[MEAN_KEY] == pytest.approx(np.mean([out["sex"], out["violence"], out["drug-use"]]))
    every = per_class_average_precision(y, s, names, exclude=())
    assert every[MEAN_KEY] == pytest.approx(np.mean([out[n] for n in names]))


def test_moderation_class_without_positives_is_nan_and_not_averaged() -> None:
    y = np.array([0, 1, 1, 0, 1])  # no "violence" (2)
    s = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.3], [0.6, 0.4, 0.1], [0.5, 0.5, 0.2], [0, 1, 0]])
    out = per_class_average_precision(y, s, ["none", "sex", "violence"])
    assert math.isnan(out["violence"])
    # "sex" ranks 1.0 (pos), 0.8 (pos), 0.5 (neg), 0.4 (pos): precisions 1, 1, 3/4
    assert out["sex"] == pytest.approx((1 + 1 + 3 / 4) / 3)
    assert out[MEAN_KEY] == pytest.approx(out["sex"])
    with pytest.raises(ValueError, match="not 'mean'"):
        per_class_average_precision(y, s, ["none", "mean", "violence"])
