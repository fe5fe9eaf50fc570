"""MovieNet-318 scene-boundary-detection metrics: AP, mIoU, Recall, Recall@3s and F1.

Follows ../shared/benchmarks/lvu_movienet.md §B.1–B.2 (compiled from LGSS = AnyiRao/SceneSeg
``lgss/utilis/{dataset_utilis,iou,recall_time}.py``, BaSSL = kakaobrain/bassl
``finetune/utils/metric.py`` and SCRL = TencentYoutuResearch/SceneSegmentation-SCRL
``SceneSeg/main.py``) and the "Decisions" of ../shared/benchmarks.md (Recall@3s takes the
frame rate as a parameter: 24 for real MovieNet, the video's own rate otherwise).

**Inputs.** Everything is per movie. ``labels[m][i]`` is the boundary label of the ``i``-th
*evaluated* shot of movie ``m``: 1 when that shot and the next one belong to different
scenes (``label318``), 0 otherwise. MovieNet's uncertain ``-1`` counts as a boundary, as in
every public code base (LGSS maps −1→1, BaSSL takes ``abs``). ``scores[m][i]`` is the
probability of the boundary class and predictions are ``scores > threshold`` (0.5: the
argmax of a 2-way softmax). ``shot_ids[m][i]`` is the shot index of that evaluated shot
(default ``0, 1, ...``): the evaluated set matters for mIoU and Recall@3s (BaSSL scores every
row of its test index; LGSS drops shots whose window leaves the movie), so record it with
every result. ``shot_frames[m]`` is the movie's whole ``shot_movie318`` table, columns 0 and 1
(start, end frame, inclusive, native frame rate), indexed by shot index.

All values are on a 0–1 scale (papers print ×100).

- **AP** (BaSSL's ``SklearnAPMetric``; M2S's "AP"): ``sklearn.metrics.average_precision_score``
  pooled over all evaluated shots of all movies (NaNs set to 0 first, as BaSSL does).
- **AP-movie**: the same per movie, then the mean over movies (SCRL's "AP"; LGSS's printed
  ``mAP`` also rounds each movie's AP to 2 decimals first: ``round_digits=2``). Not on
  BaSSL's scale.
- **Recall** (LGSS ``cal_Recall``, BaSSL ``_compute_exact_recall``): per movie
  ``sklearn.recall_score(gt, pred)`` = TP / (TP + FN) (0 without positives), mean over movies.
- **Recall@3s** (LGSS ``cal_Recall_time``, BaSSL ``_compute_recall_at_second``): a
  ground-truth boundary at shot ``i`` is hit when some evaluated shot ``j`` with
  ``|j − i| ≤ 5`` (and ``0 ≤ j <`` number of shots) has pred 1 and
  ``|end_frame[j] − end_frame[i]| / fps < 3``; per movie ``hits / (#gt + 1e-5)`` (so a movie
  without boundaries scores 0 and a perfect one slightly below 1); mean over movies.
- **mIoU** (LGSS ``cal_MIOU`` / ``get_pair_list``, BaSSL ``_compute_mIoU``): a 0/1 sequence,
  in shot order, becomes scenes by closing a group at every shot labelled 1; **shots after
  the last 1 are dropped**. A scene spans ``(start_frame[first shot], end_frame[last
  shot])``. ``IoU(a, b) = max(0, min(a₁, b₁) − max(a₀, b₀)) / (max(a₁, b₁) − min(a₀, b₀))``
  (no +1). ``m1`` = mean over ground-truth scenes of the best IoU with a predicted scene,
  ``m2`` the same from predicted to ground truth; the movie scores ``(m1 + m2) / 2``, or 0
  when it has no predicted boundary; mean over movies. (A movie with predicted but no
  ground-truth boundaries makes LGSS/BaSSL return ``None`` for the whole metric: here a
  ``ValueError``.)
- **F1** (SCRL ``inference``): per movie ``r = TP/(TP+FN+1e-5)``, ``p = TP/(TP+FP+1e-5)``,
  ``F1 = 2rp/(r+p+1e-5)``, mean over movies. **F1-pooled** (BaSSL's torchmetrics F1):
  ``2TP / (2TP + FP + FN)`` over all evaluated shots (0 when that is 0/0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score

#: Shots searched on each side of a ground-truth boundary by Recall@3s (LGSS/BaSSL: 5).
RECALL_NEIGHBOUR_SHOTS = 5
#: The frame rate that LGSS and BaSSL hard-code for MovieNet's Recall@3s.
MOVIENET_FPS = 24.0

_EPS = 1e-5


def _labels(x: np.ndarray, what: str = "labels") -> NDArray[np.bool_]:
    """A 1-D 0/1/−1 label vector as booleans (−1, MovieNet's "uncertain", counts as 1)."""
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{what} must be 1-D per movie, got shape {a.shape}")
    a = np.abs(a)
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(f"{what} must hold 0, 1 or -1")
    flags: NDArray[np.bool_] = a.astype(bool)
    return flags


def _check_movies(*seqs: Sequence[object]) -> int:
    n = len(seqs[0])
    if n == 0:
        raise ValueError("no movies to score")
    if any(len(s) != n for s in seqs):
        raise ValueError("per-movie sequences differ in length")
    return n


def _shot_ids(shot_ids: np.ndarray | None, n: int, num_shots: int) -> NDArray[np.int64]:
    """The evaluated shots' indices (default ``arange(n)``), checked against the shot table."""
    ids = np.arange(n, dtype=np.int64) if shot_ids is None else np.asarray(shot_ids, np.int64)
    if ids.shape != (n,):
        raise ValueError(f"shot_ids has shape {ids.shape}, expected ({n},)")
    if n and (ids.min() < 0 or ids.max() >= num_shots):
        raise ValueError(f"shot ids must lie in [0, {num_shots}) (the shot table's rows)")
    if len(np.unique(ids)) != n:
        raise ValueError("shot_ids contain duplicates")
    return ids


def predictions(scores: Sequence[np.ndarray], threshold: float = 0.5) -> list[NDArray[np.int64]]:
    """Per-movie 0/1 predictions ``nan_to_num(scores) > threshold`` (strict, as SCRL and LGSS)."""
    return [(np.nan_to_num(np.asarray(s, np.float64)) > threshold).astype(np.int64) for s in scores]


def sbd_average_precision(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> float:
    """AP pooled over all evaluated shots of all movies (BaSSL's ``SklearnAPMetric``).

    Args:
        labels: per movie, (n_m,) boundary labels in {0, 1, −1} (−1 counts as 1).
        scores: per movie, (n_m,) boundary-class probabilities.

    Returns:
        ``average_precision_score`` on the concatenated arrays (NaN scores set to 0).
    """
    _check_movies(labels, scores)
    y = np.concatenate([_labels(lab) for lab in labels]).astype(np.int64)
    s = np.nan_to_num(np.concatenate([np.asarray(sc, np.float64) for sc in scores]))
    if y.shape != s.shape:
        raise ValueError("labels and scores differ in length")
    if not y.any():
        raise ValueError("no positive boundary: AP is undefined")
    return float(average_precision_score(y, s))


def sbd_per_movie_average_precision(
    labels: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    *,
    round_digits: int | None = None,
) -> float:
    """AP per movie, then the mean over movies (SCRL's "AP"; LGSS's ``mAP`` with rounding).

    Args:
        labels: per movie, (n_m,) boundary labels in {0, 1, −1}.
        scores: per movie, (n_m,) boundary-class probabilities.
        round_digits: round each movie's AP (on the 0–1 scale) first; LGSS uses 2.

    Returns:
        The mean of the per-movie APs (a movie without a positive gets sklearn's value, 0).
    """
    _check_movies(labels, scores)
    aps = []
    for lab, sc in zip(labels, scores, strict=True):
        y, s = _labels(lab).astype(np.int64), np.nan_to_num(np.asarray(sc, np.float64))
        if y.shape != s.shape:
            raise ValueError("labels and scores differ in length")
        ap = float(average_precision_score(y, s))
        aps.append(round(ap, round_digits) if round_digits is not None else ap)
    return float(np.mean(aps))


def scenes_from_labels(
    labels: np.ndarray, shot_ids: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """(first shot, last shot) of every closed scene of a 0/1 boundary sequence.

    LGSS/BaSSL's ``get_pair_list``: in shot order, a scene closes at every shot labelled 1;
    shots after the last 1 are dropped. With a subset of evaluated shots, a scene runs from
    the first evaluated shot after the previous boundary.

    Args:
        labels: (n,) boundary labels of the evaluated shots.
        shot_ids: (n,) their shot indices (default ``0..n-1``).
    """
    flags = _labels(labels)
    ids = _shot_ids(shot_ids, len(flags), np.iinfo(np.int64).max)
    order = np.argsort(ids, kind="stable")
    ids, flags = ids[order], flags[order]
    ends = np.flatnonzero(flags)
    starts = np.concatenate([[0], ends + 1])[: len(ends)]
    return [(int(ids[a]), int(ids[b])) for a, b in zip(starts, ends, strict=True)]


def _best_iou_mean(a: NDArray[np.int64], b: NDArray[np.int64]) -> float:
    """Mean over the intervals of ``a`` (k, 2) of the best IoU with an interval of ``b``."""
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(hi - lo, 0)
    hull = np.maximum(a[:, None, 1], b[None, :, 1]) - np.minimum(a[:, None, 0], b[None, :, 0])
    iou = np.where(inter > 0, inter / np.maximum(hull, 1), 0.0)
    return float(iou.max(axis=1).mean())


def movie_miou(
    gt_labels: np.ndarray,
    pred_labels: np.ndarray,
    shot_frames: np.ndarray,
    shot_ids: np.ndarray | None = None,
) -> float:
    """One movie's scene mIoU, ``(m1 + m2) / 2`` (LGSS's ``cal_MIOU`` for one movie).

    Args:
        gt_labels: (n,) ground-truth boundary labels of the evaluated shots (−1 counts as 1).
        pred_labels: (n,) predicted 0/1 boundaries of the same shots.
        shot_frames: (num_shots, 2) the movie's shot (start, end) frames, by shot index
            (``shot_movie318`` columns 0 and 1).
        shot_ids: (n,) shot indices of the evaluated shots (default ``0..n-1``).

    Returns:
        The movie's mIoU; 0 when nothing is predicted.

    Raises:
        ValueError: boundaries are predicted but the ground truth has none in the evaluated
            shots (LGSS/BaSSL then give up on the whole metric).
    """
    gt, pred = _labels(gt_labels, "gt_labels"), _labels(pred_labels, "pred_labels")
    if gt.shape != pred.shape:
        raise ValueError("gt_labels and pred_labels differ in length")
    frames = np.asarray(shot_frames, np.int64)
    if frames.ndim != 2 or frames.shape[1] < 2:
        raise ValueError(f"shot_frames must be (num_shots, 2), got {frames.shape}")
    ids = _shot_ids(shot_ids, len(gt), len(frames))
    pred_scenes = scenes_from_labels(pred, ids)
    if not pred_scenes:
        return 0.0
    gt_scenes = scenes_from_labels(gt, ids)
    if not gt_scenes:
        raise ValueError("a movie has no ground-truth boundary among its evaluated shots")

    def spans(scenes: list[tuple[int, int]]) -> NDArray[np.int64]:
        return np.array([(frames[a, 0], frames[b, 1]) for a, b in scenes], dtype=np.int64)

    g, p = spans(gt_scenes), spans(pred_scenes)
    return (_best_iou_mean(g, p) + _best_iou_mean(p, g)) / 2


def sbd_miou(
    gt_labels: Sequence[np.ndarray],
    pred_labels: Sequence[np.ndarray],
    shot_frames: Sequence[np.ndarray],
    shot_ids: Sequence[np.ndarray] | None = None,
) -> float:
    """Scene mIoU: ``movie_miou`` per movie, then the mean over movies (LGSS / BaSSL).

    Args:
        gt_labels: per movie, (n_m,) ground-truth boundary labels of the evaluated shots.
        pred_labels: per movie, (n_m,) predicted 0/1 boundaries.
        shot_frames: per movie, (num_shots_m, 2) shot (start, end) frames by shot index.
        shot_ids: per movie, (n_m,) shot indices of the evaluated shots (default ``0..n_m-1``).

    Movies with no ground-truth boundary among their evaluated shots (one scene; never the
    case in MovieNet-318, possible in a small synthetic split) are left out of the mean,
    where LGSS's code would stop; NaN when every movie is.
    """
    n = _check_movies(gt_labels, pred_labels, shot_frames)
    ids: Sequence[np.ndarray | None] = [None] * n if shot_ids is None else shot_ids
    _check_movies(gt_labels, ids)
    scores = [
        movie_miou(g, p, f, i)
        for g, p, f, i in zip(gt_labels, pred_labels, shot_frames, ids, strict=True)
        if (np.asarray(g) != 0).any()  # a one-scene movie has no boundary to match
    ]
    return float(np.mean(scores)) if scores else float("nan")


def movie_recall_at_seconds(
    gt_labels: np.ndarray,
    pred_labels: np.ndarray,
    shot_end_frames: np.ndarray,
    fps: float,
    seconds: float = 3.0,
    shot_ids: np.ndarray | None = None,
    *,
    neighbour_shots: int = RECALL_NEIGHBOUR_SHOTS,
) -> float:
    """One movie's Recall@``seconds``: ``hits / (#gt + 1e-5)`` (LGSS's ``cal_Recall_time``).

    Args:
        gt_labels: (n,) ground-truth boundary labels of the evaluated shots (−1 counts as 1).
        pred_labels: (n,) predicted 0/1 boundaries of the same shots.
        shot_end_frames: (num_shots,) every shot's end frame, by shot index
            (``shot_movie318`` column 1).
        fps: frames per second of those frame numbers (24 for real MovieNet).
        seconds: the time tolerance (strict ``<``).
        shot_ids: (n,) shot indices of the evaluated shots (default ``0..n-1``).
        neighbour_shots: shots searched on each side of a boundary (5).
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    gt, pred = _labels(gt_labels, "gt_labels"), _labels(pred_labels, "pred_labels")
    if gt.shape != pred.shape:
        raise ValueError("gt_labels and pred_labels differ in length")
    ends = np.asarray(shot_end_frames, np.float64)
    if ends.ndim != 1:
        raise ValueError(f"shot_end_frames must be 1-D, got shape {ends.shape}")
    ids = _shot_ids(shot_ids, len(gt), len(ends))
    predicted = np.zeros(len(ends), dtype=bool)  # by shot index; unevaluated shots never hit
    predicted[ids] = pred
    hits = 0
    for s in ids[gt]:
        lo, hi = max(0, s - neighbour_shots), min(len(ends), s + neighbour_shots + 1)
        close = np.abs(ends[lo:hi] - ends[s]) / fps < seconds
        hits += bool((predicted[lo:hi] & close).any())
    return hits / (int(gt.sum()) + _EPS)


def sbd_recall_at_seconds(
    gt_labels: Sequence[np.ndarray],
    pred_labels: Sequence[np.ndarray],
    shot_end_frames: Sequence[np.ndarray],
    fps: float,
    seconds: float = 3.0,
    shot_ids: Sequence[np.ndarray] | None = None,
) -> float:
    """Recall@``seconds``: ``movie_recall_at_seconds`` per movie, mean over movies.

    Args:
        gt_labels: per movie, (n_m,) ground-truth boundary labels of the evaluated shots.
        pred_labels: per movie, (n_m,) predicted 0/1 boundaries.
        shot_end_frames: per movie, (num_shots_m,) shot end frames by shot index.
        fps: frame rate of the frame numbers (24 for real MovieNet; the video's own otherwise).
        seconds: the time tolerance (3).
        shot_ids: per movie, (n_m,) shot indices of the evaluated shots (default ``0..n_m-1``).
    """
    n = _check_movies(gt_labels, pred_labels, shot_end_frames)
    ids: Sequence[np.ndarray | None] = [None] * n if shot_ids is None else shot_ids
    _check_movies(gt_labels, ids)
    return float(
        np.mean(
            [
                movie_recall_at_seconds(g, p, e, fps, seconds, i)
                for g, p, e, i in zip(gt_labels, pred_labels, shot_end_frames, ids, strict=True)
            ]
        )
    )


def _confusion(gt: np.ndarray, pred: np.ndarray) -> tuple[int, int, int]:
    g, p = _labels(gt, "gt_labels"), _labels(pred, "pred_labels")
    if g.shape != p.shape:
        raise ValueError("gt_labels and pred_labels differ in length")
    return int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum())


def sbd_recall(gt_labels: Sequence[np.ndarray], pred_labels: Sequence[np.ndarray]) -> float:
    """Exact recall per movie (``recall_score``; 0 without positives), mean over movies.

    Args:
        gt_labels: per movie, (n_m,) ground-truth boundary labels.
        pred_labels: per movie, (n_m,) predicted 0/1 boundaries.
    """
    _check_movies(gt_labels, pred_labels)
    recalls = []
    for g, p in zip(gt_labels, pred_labels, strict=True):
        tp, _, fn = _confusion(g, p)
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
    return float(np.mean(recalls))


def sbd_f1(
    gt_labels: Sequence[np.ndarray], pred_labels: Sequence[np.ndarray], *, pooled: bool = False
) -> float:
    """Boundary F1: SCRL's per-movie F1 (with its 1e-5 terms) averaged, or BaSSL's pooled F1.

    Args:
        gt_labels: per movie, (n_m,) ground-truth boundary labels.
        pred_labels: per movie, (n_m,) predicted 0/1 boundaries.
        pooled: count TP / FP / FN over all movies together (BaSSL) instead.
    """
    _check_movies(gt_labels, pred_labels)
    counts = np.array([_confusion(g, p) for g, p in zip(gt_labels, pred_labels, strict=True)])
    if pooled:
        tp, fp, fn = (int(c) for c in counts.sum(axis=0))
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    f1s = []
    for tp, fp, fn in counts:
        r, p = tp / (tp + fn + _EPS), tp / (tp + fp + _EPS)
        f1s.append(2 * r * p / (r + p + _EPS))
    return float(np.mean(f1s))


def sbd_metrics(
    labels: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    shot_frames: Sequence[np.ndarray],
    fps: float,
    *,
    threshold: float = 0.5,
    seconds: float = 3.0,
    shot_ids: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """All MovieNet-318 boundary metrics of per-movie scores (see the module docstring).

    Args:
        labels: per movie, (n_m,) ground-truth boundary labels of the evaluated shots.
        scores: per movie, (n_m,) boundary-class probabilities.
        shot_frames: per movie, (num_shots_m, 2) shot (start, end) frames by shot index.
        fps: frame rate of the frame numbers (24 for real MovieNet).
        threshold: predictions are ``scores > threshold``.
        seconds: the Recall@ tolerance.
        shot_ids: per movie, (n_m,) shot indices of the evaluated shots (default ``0..n_m-1``).

    Returns:
        ``AP`` (pooled, BaSSL), ``AP-movie`` (per-movie mean, SCRL), ``mIoU``, ``Recall``,
        ``Recall@{seconds}s`` (e.g. ``Recall@3s``), ``F1`` (per-movie mean, SCRL) and
        ``F1-pooled`` (BaSSL), all on a 0–1 scale.
    """
    preds = predictions(scores, threshold)
    end_frames = [np.asarray(f)[:, 1] for f in shot_frames]
    return {
        "AP": sbd_average_precision(labels, scores),
        "AP-movie": sbd_per_movie_average_precision(labels, scores),
        "mIoU": sbd_miou(labels, preds, shot_frames, shot_ids),
        "Recall": sbd_recall(labels, preds),
        f"Recall@{seconds:g}s": sbd_recall_at_seconds(
            labels, preds, end_frames, fps, seconds, shot_ids
        ),
        "F1": sbd_f1(labels, preds),
        "F1-pooled": sbd_f1(labels, preds, pooled=True),
    }
