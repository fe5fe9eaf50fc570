"""LVU's nine tasks from frozen features (Movies2Scenes Table 3; Hier-SSL Table 5).

A head is trained per task on a feature table whose ``movie_id`` is the LVU video id (the
stem of the corpus' ``lvu/videos/<id>.mp4``): Movies2Scenes puts "a simple MLP with two
hidden layers" on its frozen scene features; :class:`LVUConfig` is that head. Its
supplement (§1.2 b, Table 1) gives each task's head, chosen on LVU's val set for the
co-watch representation: SGD learning rate, batch size, epochs and dropout per task
(:data:`PAPER_HEADS`, the ``paper`` profile of :data:`PROFILES`). It does not give the
hidden widths or the optimiser: we take 512 for both hidden layers (the width the same
supplement gives its MovieNet heads) and SGD with PyTorch's defaults (no momentum, no weight
decay; learning rates of 0.1-0.5 are SGD's scale, not Adam's). The ``cpu`` profile (the
default) is one small AdamW head of our choosing for every task, sized for the synthetic
corpus. The seven
classification tasks report test top-1 (0–1 scale; papers print ×100), the two regression
tasks the test MSE on LVU's transformed targets (``ln(views) − 11.76…`` and
``10·like/(like+dislike) − 9.14…``, see :mod:`movierep.data.benchmarks.lvu`).

**Unit of evaluation: the video** (../shared/benchmarks/lvu_movienet.md §A.4). LVU's code
predicts every 60 s span of a video and aggregates the span outputs per video: classification
sums the spans' *softmax probabilities* and takes the argmax (neither a logit mean nor a
majority vote); regression averages the spans' scalars; the metric is then taken over videos.
The default, ``aggregate="predictions"``, follows that with our rows as the spans: every row of
a video (an event, shot or scene) is a training example carrying its video's label, and a
test video's prediction is the softmax sum (or the mean) of its rows' outputs. The other
choice, ``aggregate="features"``, averages a video's rows first (:func:`video_features`) and
trains on one vector per video — common for frozen-feature heads, and how Movies2Scenes'
scene-level vectors read, though the paper does not state its aggregation.

Splits: train on ``train.csv``, score on ``test.csv``; a task folder without ``test.csv`` is
scored on ``val.csv`` instead, and the result says so (``"eval_split"``). Labelled videos
without any feature row are an error (a :class:`UserError` naming the table and the video),
not silently dropped: LVU coverage must be reported, so filter the label files first.
:func:`run_lvu` repeats each task's head with N seeds (default 5, as Hier-SSL and LVU) and
reports mean ± standard error (:mod:`movierep.tasks.heads.protocol`); the N heads of a task train
together as one ensemble (:func:`lvu_task_runs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from movierep.data.benchmarks.lvu import (
    LVU_TASKS,
    REGRESSION_TASKS,
    SPLITS,
    LVUItem,
    load_lvu_task,
    task_dir,
)
from movierep.errors import UserError
from movierep.tables import read_table, require_columns, row_groups, to_numpy_embeddings
from movierep.tasks.heads.feature_classifier import (
    ClassifierConfig,
    class_scores,
    fit_classifier_ensemble,
)
from movierep.tasks.heads.feature_regressor import fit_regressor_ensemble, predict
from movierep.tasks.heads.protocol import ensemble_runs

AGGREGATES = ("predictions", "features")


@dataclass(frozen=True)
class LVUConfig:
    """The per-task head and how a video's rows are aggregated.

    Attributes:
        head: an MLP with 2 hidden layers (Movies2Scenes §5), for every task not in
            ``heads``; widths, dropout and steps are a small CPU profile of our choosing.
        heads: per-task heads that replace ``head`` (the ``paper`` profile: supplement
            Table 1).
        aggregate: ``"predictions"`` (LVU: per-row outputs, softmax sum / mean per video) or
            ``"features"`` (mean of a video's rows, then one example per video).
        eval_splits: the splits scored together (None: LVU's protocol, ``test``, or
            ``val`` without a ``test.csv``). A run that selects nothing on val may score
            ``("val", "test")`` for twice the held-out videos (the demo does).
    """

    head: ClassifierConfig = field(
        default_factory=lambda: ClassifierConfig(
            hidden=(512, 512), dropout=0.25, steps=500, batch_size=64, lr=1e-3, weight_decay=1e-4
        )
    )
    heads: Mapping[str, ClassifierConfig] = field(default_factory=dict)
    aggregate: str = "predictions"
    eval_splits: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise UserError(f"LVU aggregate must be one of {', '.join(AGGREGATES)}")
        unknown = sorted(set(self.heads) - set(LVU_TASKS))
        if unknown:
            raise UserError(
                f"LVU heads: unknown task {unknown[0]!r} (known: {', '.join(LVU_TASKS)})"
            )

    def head_for(self, task: str) -> ClassifierConfig:
        """The head of ``task``: its own in ``heads``, else the shared ``head``."""
        return self.heads.get(task, self.head)


def _supplement_head(lr: float, batch_size: int, epochs: int, dropout: float) -> ClassifierConfig:
    """A Table 1 head: 2 hidden layers of 512, plain SGD, its row's lr, batch, epochs, dropout."""
    return ClassifierConfig(
        hidden=(512, 512), dropout=dropout, batch_size=batch_size, lr=lr, weight_decay=0.0,
        optimizer="sgd", momentum=0.0, epochs=epochs,
    )  # fmt: skip


#: Movies2Scenes supplement Table 1 ("Hyper-parameters used in the MLPs for LVU tasks"),
#: columns place, director, relationship, speaking, writer, year, genre, view, like.
PAPER_HEADS: dict[str, ClassifierConfig] = {
    "scene": _supplement_head(0.1, 64, 400, 0.25),
    "director": _supplement_head(0.1, 16, 400, 0.875),
    "relationship": _supplement_head(0.5, 16, 400, 0.25),
    "way_speaking": _supplement_head(0.01, 32, 400, 0.75),
    "writer": _supplement_head(0.1, 16, 400, 0.75),
    "year": _supplement_head(0.1, 64, 400, 0.75),
    "genre": _supplement_head(0.01, 128, 400, 0.25),
    "view_count": _supplement_head(0.01, 16, 500, 0.75),
    "like_ratio": _supplement_head(0.1, 16, 500, 0.5),
}

#: ``--profile`` of ``movierep eval lvu``: our CPU head for every task, or Table 1's.
PROFILES: dict[str, LVUConfig] = {"cpu": LVUConfig(), "paper": LVUConfig(heads=PAPER_HEADS)}


def _open(features: str | Path | pa.Table) -> tuple[pa.Table, str]:
    if isinstance(features, pa.Table):
        return features, "feature table"
    return read_table(features), str(features)


def video_rows(
    table: pa.Table, video_ids: Sequence[str], source: str = "feature table"
) -> tuple[np.ndarray, np.ndarray]:
    """Every feature row of the listed videos, and the index of its video in ``video_ids``.

    Returns:
        ``(x (R, D), owner (R,))``: rows grouped by video, in ``video_ids`` order.

    Raises:
        UserError: the table lacks ``movie_id``/``feature``, or a video has no row (names
            ``source`` and the first such video id).
    """
    require_columns(table, ["movie_id", "feature"], source)
    by_id = row_groups(table)
    missing = [v for v in video_ids if v not in by_id]
    if missing:
        raise UserError(
            f"{source}: no feature row for LVU video {missing[0]!r} "
            f"({len(missing)} of {len(video_ids)} labelled videos missing)"
        )
    rows = np.concatenate([by_id[v] for v in video_ids] or [np.zeros(0, np.int64)])
    owner = np.repeat(np.arange(len(video_ids)), [len(by_id[v]) for v in video_ids])
    x = to_numpy_embeddings(table.column("feature"))
    return x[rows], owner


def video_features(
    table: pa.Table, video_ids: Sequence[str], source: str = "feature table"
) -> np.ndarray:
    """(V, D) mean of each video's feature rows, in ``video_ids`` order.

    LVU itself aggregates *predictions* of 60 s spans per video (softmax sum for
    classification, mean for regression; lvu_movienet.md §A.4); averaging the features first
    is the ``aggregate="features"`` choice for frozen-feature heads (see the module docstring).

    Raises:
        UserError: a labelled video has no row (names ``source`` and the video).
    """
    x, owner = video_rows(table, video_ids, source)
    sums = np.zeros((len(video_ids), x.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, x)
    counts = np.bincount(owner, minlength=len(video_ids))[:, None]
    return (sums / counts).astype(np.float32)


def eval_split(root: Path, task: str) -> str:
    """``test``, or ``val`` when the task folder has no ``test.csv``."""
    return "test" if (task_dir(Path(root)) / task / "test.csv").is_file() else "val"


def num_classes(root: Path, task: str) -> int:
    """1 + the largest class id in any split's file (keeps absent ids, as LVU's head does)."""
    labels = [
        i.label
        for split in SPLITS
        if (task_dir(Path(root)) / task / f"{split}.csv").is_file()
        for i in load_lvu_task(root, task, split)
        if i.label is not None
    ]
    return max(labels) + 1


def run_lvu_task(
    root: str | Path,
    task: str,
    features: str | Path | pa.Table,
    cfg: LVUConfig | None = None,
    seed: int = 0,
    *,
    source: str | None = None,
) -> dict[str, Any]:
    """Train one task's head on ``train`` and score it on ``test`` (or ``val``, see module).

    Args:
        root: folder holding ``lvu_1.0/`` (or ``lvu_1.0`` itself).
        task: one of :data:`LVU_TASKS`.
        features: a feature table (path or Arrow table) keyed by video id in ``movie_id``.
        cfg: head and aggregation (default :class:`LVUConfig`).
        seed: the head's seed.
        source: the table's name in error messages (default: its path).

    Returns:
        ``{"metric": "top1" | "mse", "value": float, "eval_split": "test" | "val",
        "predictions": [{"video_id", "prediction", "target"}]}``; for classification the
        prediction is a class id, for regression a float on LVU's transformed scale.
    """
    return lvu_task_runs(root, task, features, cfg, [seed], source=source)[0]


def lvu_task_runs(
    root: str | Path,
    task: str,
    features: str | Path | pa.Table,
    cfg: LVUConfig | None = None,
    seeds: Sequence[int] = (0,),
    *,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_lvu_task` for every seed, the heads trained together as one ensemble.

    Returns:
        One :func:`run_lvu_task` dict per seed, in ``seeds`` order.
    """
    root, cfg = Path(root), cfg or LVUConfig()
    table, name = _open(features)
    source = source or name
    splits = cfg.eval_splits or (eval_split(root, task),)
    split = "+".join(splits)
    train = load_lvu_task(root, task, "train")
    test = [item for s in splits for item in load_lvu_task(root, task, s)]
    if not train or not test:
        raise UserError(f"{task_dir(root) / task}: empty train or {split} split")
    regression = task in REGRESSION_TASKS
    y_train = np.array([i.target for i in train])
    x_tr, own_tr = _examples(table, train, source, cfg.aggregate)
    x_te, own_te = _examples(table, test, source, cfg.aggregate)
    values: list[float] = []
    outs: list[list[Any]] = []
    if regression:
        reg = fit_regressor_ensemble(x_tr, y_train[own_tr], cfg.head_for(task), seeds)
        targets = np.array([i.target for i in test])
        for row in predict(reg, x_te):  # (R, rows) -> one member's rows
            pred: np.ndarray = _per_video_mean(row, own_te, len(test))
            values.append(float(np.mean((pred - targets) ** 2)))
            outs.append([float(p) for p in pred])
    else:
        classes = num_classes(root, task)
        y = y_train[own_tr].astype(np.int64)
        clf = fit_classifier_ensemble(x_tr, y, classes, cfg.head_for(task), seeds)
        truth = np.array([i.label for i in test])
        for probs in class_scores(clf, x_te):  # (R, rows, C) -> one member's rows
            scores = np.zeros((len(test), classes))
            np.add.at(scores, own_te, probs)  # LVU: softmax sum per video
            labels = scores.argmax(1)
            values.append(float(np.mean(labels == truth)))
            outs.append([int(c) for c in labels])
    return [
        task_result(test, out, value, regression, split)
        for value, out in zip(values, outs, strict=True)
    ]


def task_result(
    test: Sequence[LVUItem], predictions: Sequence[Any], value: float, regression: bool, split: str
) -> dict[str, Any]:
    """One run's LVU task dict: its metric (``mse`` or ``top1``), value and per-video rows.

    Args:
        test: the evaluation items, in ``predictions``' order.
        predictions: one class index (classification) or value (regression) per item.
        value: the run's metric value.
        regression: whether the task is scored by mean squared error.
        split: the evaluation split(s), ``+``-joined.
    """
    return {
        "metric": "mse" if regression else "top1",
        "value": value,
        "eval_split": split,
        "predictions": [
            {
                "video_id": i.video_id,
                "prediction": p,
                "target": i.label if i.label is not None else i.target,
            }
            for i, p in zip(test, predictions, strict=True)
        ],
    }


def run_lvu(
    root: str | Path,
    features: str | Path | pa.Table,
    tasks: Sequence[str] = LVU_TASKS,
    runs: int = 5,
    seed: int = 0,
    cfg: LVUConfig | None = None,
) -> dict[str, Any]:
    """Every task ``runs`` times (seeds ``seed`` .. ``seed + runs − 1``), mean ± s.e.

    Returns:
        ``{task: {"metric", "eval_split", "runs", "summary": {metric: (mean, se)},
        "predictions": the first run's}}``.
    """
    table, source = _open(features)
    out: dict[str, Any] = {}
    for task in tasks:
        if task not in LVU_TASKS:
            raise UserError(f"unknown LVU task {task!r} (known: {', '.join(LVU_TASKS)})")

        def train_all(seeds: list[int], task: str = task) -> list[dict[str, Any]]:
            return lvu_task_runs(root, task, table, cfg, seeds, source=source)

        metric = "mse" if task in REGRESSION_TASKS else "top1"
        result = ensemble_runs(train_all, _scored, runs, seed, [metric])
        split = "+".join((cfg or LVUConfig()).eval_splits or (eval_split(Path(root), task),))
        out[task] = {"metric": metric, "eval_split": split, **result}
    return out


def _scored(res: dict[str, Any]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """One run's ``{metric: value}`` and predictions from its :func:`run_lvu_task` dict."""
    return {res["metric"]: res["value"]}, res["predictions"]


def task_summary(result: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """``{task: (mean, se)}`` of a :func:`run_lvu` or ``run_lvu_ot`` result, as printed.

    Top-1 accuracy in %, MSE as is (LVU's tables).
    """
    out = {}
    for task, res in result.items():
        scale = 1.0 if res["metric"] == "mse" else 100.0
        mean, se = res["summary"][res["metric"]]
        out[task] = (scale * mean, scale * se)
    return out


def _examples(
    table: pa.Table, items: Sequence[LVUItem], source: str, aggregate: str
) -> tuple[np.ndarray, np.ndarray]:
    ids = [i.video_id for i in items]
    if aggregate == "features":
        return video_features(table, ids, source), np.arange(len(ids))
    return video_rows(table, ids, source)


def _per_video_mean(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    sums = np.bincount(owner, weights=values, minlength=n)
    out: np.ndarray = sums / np.bincount(owner, minlength=n)
    return out
