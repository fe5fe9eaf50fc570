"""What every demo stage does around the library call it makes.

A training stage passes the run's step count and seed to a recipe as ``--set`` overrides
(:func:`train_sets`) and prints the fit's summary (:func:`print_fit`); a per-video stage
checks that its job report has no failure (:func:`check`).
"""

from __future__ import annotations

from movierep.errors import UserError
from movierep.jobs import JobReport
from movierep.train.loop import FitResult


def check(report: JobReport, stage: str) -> None:
    """A per-video stage must finish every video: the demo's corpus has no bad file."""
    if report.failed:
        job_id, _path, kind, message = report.failed[0]
        raise UserError(f"{len(report.failed)} videos failed ({job_id}: {kind}: {message})")


def print_fit(result: FitResult) -> None:
    """Print a finished training run's one-line summary."""
    print(result.summary())


def train_sets(steps: int, seed: int, *more: str) -> list[str]:
    """A recipe's ``--set`` overrides: ``train.steps``, ``train.seed``, then ``more``."""
    return [f"train.steps={steps}", f"train.seed={seed}", *more]
