"""The papers' evaluation protocol: N seeded runs of a head, reported as mean ± standard error.

Xiao et al. (§4) train each downstream head N times (10) with different seeds and report
the mean and its standard error; :func:`repeat_runs` is that loop for every task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: One seeded run: seed -> (its metrics, its predictions in the benchmark's format).
RunOnce = Callable[[int], tuple[dict[str, float], list[dict[str, Any]]]]


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (sample s.d. / √n; NaN for one value) of repeated runs."""
    v = np.asarray(values, dtype=float)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), se


def repeat_runs(run_once: RunOnce, runs: int, seed: int, metrics: Sequence[str]) -> dict[str, Any]:
    """Run ``run_once`` with seeds ``seed .. seed + runs − 1``.

    Returns:
        ``{"runs": [metrics per run], "summary": {metric: (mean, se)}, "predictions": the
        first run's predictions}``.
    """
    per_run: list[dict[str, float]] = []
    first: list[dict[str, Any]] | None = None
    for r in range(runs):
        scores, predictions = run_once(seed + r)
        per_run.append({m: float(scores[m]) for m in metrics})
        first = predictions if first is None else first
    summary = {m: mean_and_se([r[m] for r in per_run]) for m in metrics}
    return {"runs": per_run, "summary": summary, "predictions": first}
