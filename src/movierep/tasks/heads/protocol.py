"""The papers' evaluation protocol: N seeded runs of a head, reported as mean ± standard error.

Xiao et al. (§4) train each downstream head N times (10) with different seeds and report
the mean and its standard error. :func:`ensemble_runs` is that protocol for heads that
train all N runs as one batched model (:mod:`movierep.tasks.heads.ensemble`): train once with
seeds ``seed .. seed + N − 1``, then score each run's output. :func:`repeat_runs` is the
one-run-at-a-time loop for heads that cannot be batched. Both return the same dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: One run's metrics and its predictions in the benchmark's format.
RunResult = tuple[dict[str, float], list[dict[str, Any]]]
#: One seeded run: seed -> its result.
RunOnce = Callable[[int], RunResult]


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample s.d. / √n; NaN for one value) of repeated runs."""
    v = np.asarray(values, dtype=float)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), se


def collect_runs(results: Iterable[RunResult], metrics: Sequence[str]) -> dict[str, Any]:
    """Summarise the runs' results, given in run order.

    Returns:
        ``{"runs": [metrics per run], "summary": {metric: (mean, se)}, "predictions": the
        first run's predictions}``.
    """
    per_run: list[dict[str, float]] = []
    first: list[dict[str, Any]] | None = None
    for scores, predictions in results:
        per_run.append({m: float(scores[m]) for m in metrics})
        first = predictions if first is None else first
    summary = {m: mean_and_se([r[m] for r in per_run]) for m in metrics}
    return {"runs": per_run, "summary": summary, "predictions": first}


def repeat_runs(run_once: RunOnce, runs: int, seed: int, metrics: Sequence[str]) -> dict[str, Any]:
    """Run ``run_once`` with seeds ``seed .. seed + runs − 1``, one after the other.

    Returns:
        :func:`collect_runs`'s dict.
    """
    return collect_runs((run_once(seed + r) for r in range(runs)), metrics)


def ensemble_runs(
    train_all: Callable[[list[int]], Sequence[T]],
    score_run: Callable[[T], RunResult],
    runs: int,
    seed: int,
    metrics: Sequence[str],
) -> dict[str, Any]:
    """Train every run at once with seeds ``seed .. seed + runs − 1``, then score each run.

    Args:
        train_all: seeds -> one output per seed, in order (e.g. each member's test scores).
        score_run: one run's output -> its metrics and predictions.
        runs: N.
        seed: the first run's seed.
        metrics: the metrics kept per run and summarised.

    Returns:
        :func:`collect_runs`'s dict, as :func:`repeat_runs` gives for the same seeds.
    """
    outputs = train_all([seed + r for r in range(runs)])
    if len(outputs) != runs:
        raise ValueError(f"{runs} seeds gave {len(outputs)} outputs")
    return collect_runs((score_run(o) for o in outputs), metrics)
