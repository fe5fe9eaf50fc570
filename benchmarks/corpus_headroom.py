"""Headroom of the corpus' tasks: majority class and a raw-pixel linear probe per task.

For every task of a corpus (its truth tables and its VidSitu, LVU and MovieNet exports) this
measures what needs no video understanding: the majority class (the train split's most
frequent label, scored on the held-out split) and a linear probe on downsampled raw pixels
(16x9 RGB thumbnails, standardised, ridge classifier / logistic regression / ridge
regression, regularisation picked by movie-grouped 3-fold CV on the train movies), trained
on the train-split movies and scored on the held-out ones. Motion, identity and long-range
labels should stay near the majority rate: what a learned video feature adds is the gap up to
the supervised upper bound (the ``supervised`` slot of each task, filled by another script).

Tasks (``held-out`` = the movies outside the catalog's train split):

* ``event_verb``: verb of each 2 s event of ``truth/events.parquet``; features: 4 thumbnails
  across the event (frames 0, 1/3, 2/3 and the last), concatenated. Acc@1 and macro accuracy
  (per-class recall averaged over the classes of the held-out events).
* ``event_place``: the ``place`` column of the same events, same features. Acc@1.
* ``vidsitu_evrel``: VidSitu event relations (Ev1, Ev2, Ev4, Ev5 vs Ev3) of the export,
  train -> val, features: both events' pixels in reading order (earlier event first).
  VidSitu's ``Top_1`` and ``Macro_Top_1`` with its majority-of-3-annotators rule.
* ``movienet_boundary``: MovieNet-318 scene boundaries (boundary after shot i), split318
  train -> val + test; features: the middle keyframes of shots i and i+1. AP pooled over
  the held-out shots (BaSSL's metric); ``majority`` is a constant score (AP = positive
  rate); ``histogram_ap`` scores the colour-histogram distance of the two keyframes (no
  training).
* ``lvu_<task>``: the 9 LVU tasks, train -> test; features: the mean of 8 thumbnails evenly
  spread over the clip. Top-1 for the 7 classification tasks; for ``like_ratio`` and
  ``view_count`` the MSE on LVU's target scale (lower is better), ``majority`` being the
  train-mean predictor.

Usage::

    python benchmarks/corpus_headroom.py CORPUS [--out benchmarks/results/corpus_headroom.json]

Writes JSON (date, machine block, one entry per task) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import sklearn
from av.video.reformatter import VideoReformatter
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from movierep import files
from movierep.data.benchmarks.lvu import (
    CLASSIFICATION_TASKS,
    LVU_TASKS,
    REGRESSION_TASKS,
    load_lvu_task,
)
from movierep.data.benchmarks.movienet import load_movienet_movie, load_split318
from movierep.data.benchmarks.vidsitu import EVREL_KEYS, load_vidsitu
from movierep.data.corpus import Corpus

RESULTS = Path(__file__).resolve().parent / "results" / "corpus_headroom.json"

THUMB = (16, 9)  # (W, H) of a thumbnail
EVENT_FRAMES = 4  # thumbnails per 2 s event
CLIP_FRAMES = 8  # thumbnails averaged per LVU clip
MEAN_THUMBNAIL = f"the mean of {CLIP_FRAMES} thumbnails"
ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)  # ridge alpha / inverse logistic C, CV grid
DEFAULT_ALPHA = 100.0  # when there are too few train movies to cross-validate
HIST_BINS = 8  # per RGB channel, joint histogram
EVREL_PAIRS = {"Ev1": (0, 2), "Ev2": (1, 2), "Ev4": (2, 3), "Ev5": (2, 4)}  # reading order
EVENT_KEY_INDEX = {"Ev1": 0, "Ev2": 1, "Ev3": 2, "Ev4": 3, "Ev5": 4}
# metric names (JSON keys and table labels)
ACC1 = "Acc@1"
MACRO = "macro Acc"  # per-class recall, averaged over the held-out classes
TOP1 = "Top-1"  # VidSitu EvRel Top_1
MACRO_TOP1 = "Macro Top-1"  # VidSitu EvRel Macro_Top_1
AP = "AP"
MSE = "MSE"


# -- pixels ------------------------------------------------------------------------------------


def thumbnail(image: np.ndarray) -> np.ndarray:
    """An RGB image ``(H, W, 3)`` uint8 -> its ``(9, 16, 3)`` float32 thumbnail in [0, 1]."""
    small = cv2.resize(image, THUMB, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def read_thumbnails(path: Path, select: Callable[[float, int], Sequence[int]]) -> np.ndarray:
    """Thumbnails of chosen frames of a video, from one sequential single-threaded decode.

    Args:
        path: the video.
        select: ``(fps, num_frames) -> frame indices`` (any order, repeats allowed); an
            index past the last decoded frame takes the last frame.

    Returns:
        ``(K, 9, 16, 3)`` float32 in [0, 1], one per selected index, in ``select``'s order.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        fps = float(stream.average_rate or 25)
        count = int(stream.frames or 0)
        if count <= 0 and stream.duration and stream.time_base:
            count = round(float(stream.duration * stream.time_base) * fps)
        wanted = [int(i) for i in select(fps, count)]
        todo, last_index = set(wanted), max(wanted, default=-1)
        rgb = VideoReformatter()  # one scaler context per video (a fresh one per frame is slow)
        thumbs: dict[int, np.ndarray] = {}
        last = None
        for index, frame in enumerate(container.decode(stream)):
            last = frame
            if index in todo:
                thumbs[index] = thumbnail(rgb.reformat(frame, format="rgb24").to_ndarray())
            if index >= last_index:
                break
        if last is None:
            raise ValueError(f"{path}: no video frame")
        if any(i not in thumbs for i in wanted):
            thumbs[-1] = thumbnail(rgb.reformat(last, format="rgb24").to_ndarray())
    return np.stack([thumbs[i] if i in thumbs else thumbs[-1] for i in wanted])


def event_frames(start_s: float, end_s: float, fps: float) -> list[int]:
    """Indices of :data:`EVENT_FRAMES` frames spread over ``[start_s, end_s)`` (ends included)."""
    first = round(start_s * fps)
    n = max(1, round((end_s - start_s) * fps))
    return [first + (k * (n - 1)) // (EVENT_FRAMES - 1) for k in range(EVENT_FRAMES)]


def spread_frames(num_frames: int, count: int = CLIP_FRAMES) -> list[int]:
    """``count`` frame indices at the centres of ``count`` equal parts of a video."""
    return [int((k + 0.5) * max(num_frames, 1) / count) for k in range(count)]


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """Joint RGB histogram, :data:`HIST_BINS` per channel, normalised to sum 1: ``(512,)``."""
    hist = cv2.calcHist([image], [0, 1, 2], None, [HIST_BINS] * 3, [0, 256] * 3).ravel()
    out: np.ndarray = hist / max(float(hist.sum()), 1.0)
    return out


def read_rgb(path: Path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: cannot read image")
    rgb: np.ndarray = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return rgb


# -- probes and metrics ------------------------------------------------------------------------


def _estimator(kind: str, alpha: float) -> BaseEstimator:
    if kind == "ridge_classifier":
        model: BaseEstimator = RidgeClassifier(alpha=alpha)
    elif kind == "logistic":
        model = LogisticRegression(C=1.0 / alpha, max_iter=2000)
    elif kind == "ridge":
        model = Ridge(alpha=alpha)
    else:
        raise ValueError(f"unknown probe kind {kind!r}")
    pipeline: BaseEstimator = make_pipeline(StandardScaler(), model)
    return pipeline


PROBE_NAMES = {
    "ridge_classifier": "standardised ridge classifier (alpha={alpha:g})",
    "logistic": "standardised logistic regression (C={inverse:g})",
    "ridge": "standardised ridge regression (alpha={alpha:g})",
}


@dataclass(frozen=True)
class Probe:
    """A fitted pixel probe.

    Attributes:
        model: the pipeline refitted on every train item; None for a classifier whose train
            split has fewer than 2 classes.
        alpha: the chosen regularisation (ridge alpha, or 1/C).
        cv: mean movie-grouped CV score per alpha tried (empty when there were fewer than 2
            train movies, or no model).
        description: what was fitted, on what features.
    """

    model: BaseEstimator | None
    alpha: float
    cv: dict[str, float]
    description: str

    def info(self) -> dict[str, Any]:
        """The JSON fields describing the probe."""
        return {"probe": self.description, "probe_cv": self.cv}


def fit_probe(
    kind: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray, scoring: str, features: str
) -> Probe:
    """Standardise + linear model; alpha from :data:`ALPHAS` by movie-grouped 3-fold CV.

    Args:
        kind: ``ridge_classifier``, ``logistic`` (alpha = 1/C) or ``ridge``.
        x: (N, D) train features.
        y: (N,) labels or targets.
        groups: (N,) movie of each item (CV folds never split a movie).
        scoring: scikit-learn scorer name (``accuracy``, ``average_precision``,
            ``neg_mean_squared_error``).
        features: what ``x`` is, for the description.

    Returns:
        The probe; with fewer than 2 train movies alpha is :data:`DEFAULT_ALPHA`.
    """
    if kind != "ridge" and len(np.unique(y)) < 2:
        return Probe(None, float("nan"), {}, "none: fewer than 2 classes in the train split")
    folds = min(3, len(np.unique(groups)))
    alpha = DEFAULT_ALPHA
    cv: dict[str, float] = {}
    if folds >= 2:
        best = -np.inf
        for candidate in ALPHAS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # folds missing a class score NaN
                scores = cross_val_score(
                    _estimator(kind, candidate),
                    x,
                    y,
                    groups=groups,
                    cv=GroupKFold(n_splits=folds),
                    scoring=scoring,
                    error_score=np.nan,
                )
            if np.isfinite(scores).any():
                cv[f"{candidate:g}"] = float(np.nanmean(scores))
                if cv[f"{candidate:g}"] > best:
                    best, alpha = cv[f"{candidate:g}"], candidate
    model = _estimator(kind, alpha)
    model.fit(x, y)
    name = PROBE_NAMES[kind].format(alpha=alpha, inverse=1.0 / alpha)
    return Probe(model, alpha, cv, f"{name} on {features}")


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of ``y_pred`` equal to ``y_true`` ((N,) each; NaN when N = 0)."""
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Pooled scikit-learn AP of ``scores`` for 0/1 ``y_true`` ((N,) each; NaN: no positive)."""
    if not np.any(y_true == 1):
        return float("nan")
    return float(average_precision_score(y_true, scores))


def macro_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Per-class recall averaged over the classes present in ``y_true`` ((N,) each)."""
    if not len(y_true):
        return float("nan")
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def majority_class(y: Sequence[Any]) -> Any:
    """The most frequent label of a non-empty sequence (ties: the smallest)."""
    counts = Counter(y)
    top = max(counts.values())
    return min(label for label, n in counts.items() if n == top)


def evrel_scores(predictions: Sequence[str], gts: Sequence[Sequence[str]]) -> dict[str, float]:
    """VidSitu's ``Top_1`` and ``Macro_Top_1`` (``simple_acc_evrel``).

    Args:
        predictions: (P,) one label per pair (the same for every annotator's slot).
        gts: (P, 3) the first three annotators' labels of each pair, in file order.

    Returns:
        ``{"Top-1", "Macro Top-1"}``: a pair counts once per annotator agreeing with a
        majority of >= 2; pairs without a majority count nowhere.
    """
    records: list[tuple[bool, str]] = []
    for pred, gt in zip(predictions, gts, strict=True):
        maj, n = Counter(gt[:3]).most_common(1)[0]
        if n >= 2:
            records.extend((pred == maj, maj) for g in gt[:3] if g == maj)
    if not records:
        return {TOP1: float("nan"), MACRO_TOP1: float("nan")}
    classes = sorted({c for _, c in records})
    per_class = [np.mean([ok for ok, c in records if c == k]) for k in classes]
    return {TOP1: float(np.mean([ok for ok, _ in records])), MACRO_TOP1: float(np.mean(per_class))}


def _task(
    metrics: list[str],
    majority: dict[str, float],
    pixel_probe: dict[str, float] | None,
    num_train: int,
    num_test: int,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "metrics": metrics,
        "majority": majority,
        "pixel_probe": pixel_probe,
        "supervised": None,
        "num_train": num_train,
        "num_test": num_test,
        **extra,
    }


# -- tasks -------------------------------------------------------------------------------------


def event_tasks(corpus: Corpus) -> dict[str, dict[str, Any]]:
    """``event_verb`` and ``event_place`` from ``truth/events.parquet`` and the movies."""
    events = corpus.truth("events").select(
        ["movie_id", "event_index", "start_time", "end_time", "verb", "place"]
    )
    rows = events.to_pylist()
    split = dict(zip(corpus.movie_ids, corpus.catalog.column("split").to_pylist(), strict=True))
    by_movie: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_movie.setdefault(row["movie_id"], []).append(row)
    features, labels = [], []
    for movie_id, movie_rows in by_movie.items():

        def select(fps: float, _: int, movie_rows: list[dict[str, Any]] = movie_rows) -> list[int]:
            return [
                i for r in movie_rows for i in event_frames(r["start_time"], r["end_time"], fps)
            ]

        thumbs = read_thumbnails(corpus.movie_path(movie_id), select)  # (E*4, 9, 16, 3)
        features.append(thumbs.reshape(len(movie_rows), -1))
        labels.extend(movie_rows)
    x = np.concatenate(features)  # (E, 4*9*16*3)
    movies = np.array([r["movie_id"] for r in labels])
    train = np.array([split[m] == "train" for m in movies])
    out: dict[str, dict[str, Any]] = {}
    for column in ("verb", "place"):
        y = np.array([r[column] for r in labels])
        probe = fit_probe(
            "ridge_classifier",
            x[train],
            y[train],
            movies[train],
            "accuracy",
            f"{EVENT_FRAMES} thumbnails per event",
        )
        const = np.full((~train).sum(), majority_class(list(y[train])))
        metrics = [ACC1, MACRO] if column == "verb" else [ACC1]
        scores = {ACC1: accuracy, MACRO: macro_accuracy}
        pixel = None
        if probe.model is not None:
            pred = probe.model.predict(x[~train])
            pixel = {m: scores[m](y[~train], pred) for m in metrics}
        out[f"event_{column}"] = _task(
            metrics,
            {m: scores[m](y[~train], const) for m in metrics},
            pixel,
            int(train.sum()),
            int((~train).sum()),
            source="truth/events.parquet",
            held_out="catalog split != train",
            num_classes=len(set(y.tolist())),
            **probe.info(),
        )
    return out


def _clip_event_pixels(video: Path) -> np.ndarray:
    """``(5, 4*9*16*3)`` pixels of the five 2 s events of a 10 s VidSitu clip."""

    def select(fps: float, _: int) -> list[int]:
        return [i for k in range(5) for i in event_frames(2.0 * k, 2.0 * k + 2.0, fps)]

    return read_thumbnails(video, select).reshape(5, -1)


def vidsitu_evrel(root: Path) -> dict[str, Any]:
    """Event relations of the VidSitu export: train (annotator 0) -> val (3 annotators)."""
    data: dict[str, dict[str, Any]] = {}
    for split in ("train", "val"):
        x, gts, groups = [], [], []
        for clip in load_vidsitu(root, split):
            if clip.video is None or not clip.annotations:
                continue
            pixels = _clip_event_pixels(clip.video)
            for key in EVREL_KEYS:
                a, b = EVREL_PAIRS[key]
                x.append(np.concatenate([pixels[a], pixels[b]]))
                gts.append([str(ann[EVENT_KEY_INDEX[key]].evrel) for ann in clip.annotations])
                groups.append(clip.vid_seg_int.rsplit("_seg_", 1)[0])
        data[split] = {"x": np.array(x), "gts": gts, "groups": np.array(groups)}
    train, val = data["train"], data["val"]
    y_train = np.array([g[0] for g in train["gts"]])
    majority = majority_class(list(y_train))
    probe = fit_probe(
        "ridge_classifier", train["x"], y_train, train["groups"], "accuracy", "both events' pixels"
    )
    pixel = None
    if probe.model is not None:
        pixel = evrel_scores([str(p) for p in probe.model.predict(val["x"])], val["gts"])
    val_majority = [Counter(g[:3]).most_common(1)[0] for g in val["gts"]]
    return _task(
        [TOP1, MACRO_TOP1],
        evrel_scores([majority] * len(val["gts"]), val["gts"]),
        pixel,
        len(y_train),
        len(val["gts"]),
        source="vidsitu/ (export)",
        held_out="VidSitu val split",
        class_distribution={
            "train": dict(sorted(Counter(y_train.tolist()).items())),
            "val_majority": dict(sorted(Counter(m for m, n in val_majority if n >= 2).items())),
        },
        **probe.info(),
    )


def movienet_boundary(root: Path) -> dict[str, Any]:
    """Scene boundaries of the MovieNet export: split318 train -> val + test, pooled AP."""
    splits = load_split318(root)
    data: dict[bool, dict[str, list[Any]]] = {
        flag: {"x": [], "y": [], "hist": [], "groups": []} for flag in (True, False)
    }
    for split in ("train", "val", "test"):
        for imdb in splits.get(split, []):
            movie = load_movienet_movie(root, imdb)
            images = [read_rgb(movie.keyframe_path(s.index, 1)) for s in movie.shots]
            thumbs = [thumbnail(im).ravel() for im in images]
            hists = [colour_histogram(im) for im in images]
            part = data[split == "train"]
            for i, label in enumerate(movie.boundaries):
                part["x"].append(np.concatenate([thumbs[i], thumbs[i + 1]]))
                part["y"].append(label)
                part["hist"].append(0.5 * float(np.abs(hists[i] - hists[i + 1]).sum()))
                part["groups"].append(imdb)
    train, test = data[True], data[False]
    y_train, y_test = np.array(train["y"]), np.array(test["y"])
    probe = fit_probe(
        "logistic",
        np.array(train["x"]),
        y_train,
        np.array(train["groups"]),
        "average_precision",
        "the two shots' middle keyframes",
    )
    rate = float(y_test.mean())
    pixel = None
    if probe.model is not None:
        pixel = {
            AP: average_precision(y_test, probe.model.predict_proba(np.array(test["x"]))[:, 1])
        }
    return _task(
        [AP],
        {AP: rate},  # a constant score: AP = positive rate
        pixel,
        len(y_train),
        len(y_test),
        source="movienet/scene318 (export)",
        held_out="split318 val + test",
        positive_rate={"train": float(y_train.mean()), "test": rate},
        histogram_ap=average_precision(y_test, np.array(test["hist"])),
        **probe.info(),
    )


def lvu_tasks(root: Path) -> dict[str, dict[str, Any]]:
    """The nine LVU tasks: train -> test, features the mean thumbnail of each clip."""
    items = {t: {s: load_lvu_task(root, t, s) for s in ("train", "test")} for t in LVU_TASKS}
    videos = sorted({i.video_id for t in items.values() for s in t.values() for i in s})
    pixels = {
        v: read_thumbnails(root / "videos" / f"{v}.mp4", lambda _, n: spread_frames(n))
        .mean(axis=0)
        .ravel()
        for v in videos
    }  # id -> (9*16*3,)
    out: dict[str, dict[str, Any]] = {}
    for task in LVU_TASKS:
        train, test = items[task]["train"], items[task]["test"]
        x_train = np.array([pixels[i.video_id] for i in train])
        x_test = np.array([pixels[i.video_id] for i in test])
        groups = np.array([i.imdb_id for i in train])
        common = {
            "source": f"lvu/lvu_1.0/{task}",
            "held_out": "LVU test split",
        }
        if task in REGRESSION_TASKS:
            y_train = np.array([i.target for i in train])
            y_test = np.array([i.target for i in test])
            probe = fit_probe(
                "ridge", x_train, y_train, groups, "neg_mean_squared_error", MEAN_THUMBNAIL
            )
            assert probe.model is not None
            pred = probe.model.predict(x_test)
            out[f"lvu_{task}"] = _task(
                [MSE],
                {MSE: float(np.mean((y_test - y_train.mean()) ** 2))},
                {MSE: float(np.mean((y_test - pred) ** 2))},
                len(train),
                len(test),
                **common,
                lower_is_better=True,
                **probe.info(),
            )
            continue
        assert task in CLASSIFICATION_TASKS
        yc_train = np.array([int(i.label or 0) for i in train])
        yc_test = np.array([int(i.label or 0) for i in test])
        const = majority_class(yc_train.tolist())
        probe = fit_probe("ridge_classifier", x_train, yc_train, groups, "accuracy", MEAN_THUMBNAIL)
        pixel = None
        if probe.model is not None:
            pixel = {ACC1: accuracy(yc_test, probe.model.predict(x_test))}
        out[f"lvu_{task}"] = _task(
            [ACC1],
            {ACC1: accuracy(yc_test, np.full(len(yc_test), const))},
            pixel,
            len(train),
            len(test),
            **common,
            num_classes=len(set(yc_train.tolist()) | set(yc_test.tolist())),
            **probe.info(),
        )
    return out


# -- report ------------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` with every NaN float replaced by None (strict JSON), recursively."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def machine() -> dict[str, Any]:
    """The machine block: platform, versions, cores and load."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "av": av.__version__,
        "opencv": cv2.__version__,
    }


def headroom(corpus_root: str | Path) -> dict[str, Any]:
    """Measure every task of a corpus; returns the JSON report (see the module docstring)."""
    root = Path(corpus_root)
    corpus = Corpus(root)
    load_at_start = os.getloadavg()[0]
    start = time.perf_counter()
    timings: dict[str, float] = {}
    tasks: dict[str, dict[str, Any]] = {}
    steps: list[tuple[str, Callable[[], dict[str, dict[str, Any]]]]] = [
        ("events", lambda: event_tasks(corpus)),
        ("vidsitu", lambda: {"vidsitu_evrel": vidsitu_evrel(root / "vidsitu")}),
        ("movienet", lambda: {"movienet_boundary": movienet_boundary(root / "movienet")}),
        ("lvu", lambda: lvu_tasks(root / "lvu")),
    ]
    for name, step in steps:
        tic = time.perf_counter()
        tasks.update(step())
        timings[name] = round(time.perf_counter() - tic, 2)
    info = corpus.info
    return {
        "benchmark": "corpus_headroom",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "load_average_1m_at_start": load_at_start,
        "corpus": {
            "path": str(root),
            "preset": info.get("preset"),
            "seed": info.get("seed"),
            "options": info.get("options"),
            "generator_version": info.get("generator_version"),
            "movies": len(corpus.movie_ids),
        },
        "notes": "majority: the train split's most frequent label scored on the held-out "
        "split (for AP a constant score, AP = positive rate; for MSE the train mean). "
        "pixel_probe: 16x9 RGB thumbnails, standardised, linear model with alpha from "
        "movie-grouped 3-fold CV on the train movies. supervised: filled by another script.",
        "seconds": round(time.perf_counter() - start, 2),
        "seconds_per_step": timings,
        "tasks": json_safe(tasks),
    }


TASK_NAMES = {
    "event_verb": "event verb (truth)",
    "event_place": "event place (truth)",
    "vidsitu_evrel": "VidSitu event relation",
    "movienet_boundary": "MovieNet scene boundary",
}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


def markdown_table(report: dict[str, Any]) -> str:
    """``task | metric | majority | raw-pixel probe | train / test`` rows, one per metric."""
    lines = [
        "| task | metric | majority | raw-pixel probe | train / test |",
        "|---|---|---|---|---|",
    ]
    for key, task in report["tasks"].items():
        name = TASK_NAMES.get(key, key.replace("lvu_", "LVU "))
        for metric in task["metrics"]:
            label = f"{metric} (lower is better)" if task.get("lower_is_better") else metric
            probe = (task["pixel_probe"] or {}).get(metric)
            count = f"{task['num_train']} / {task['num_test']}"
            lines.append(
                f"| {name} | {label} | {_fmt(task['majority'][metric])} | {_fmt(probe)} | {count} |"
            )
        if "histogram_ap" in task:
            lines.append(
                f"| {name}, colour-histogram distance (no training) | AP | "
                f"{_fmt(task['majority'][AP])} | {_fmt(task['histogram_ap'])} | - / "
                f"{task['num_test']} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: measure ``CORPUS``, write the JSON, print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a folder written by `movierep corpus make`")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON report (%(default)s)")
    args = parser.parse_args(argv)
    report = headroom(args.corpus)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=2)
    print(markdown_table(report))
    print(f"\n{report['seconds']:.1f} s; wrote {args.out}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
