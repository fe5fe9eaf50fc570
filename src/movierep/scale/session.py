"""Ray for one run: start a local Ray, join a cluster, or use the one already connected.

Ray is optional (the ``scale`` extra), so nothing here imports it at module level:
:func:`require_ray` turns its absence into the one-line :class:`~movierep.errors.UserError`
every ``--engine ray`` command shows. :func:`ray_session` follows ``ray.init``'s own
choices: with ``address`` it connects to that cluster (``ray start --head`` prints it);
without, it starts a local Ray for the run (``ray.init(num_cpus=..., include_dashboard=False)``)
and shuts it down afterwards. A process already connected (a notebook, a test fixture)
keeps its connection.

The engines hand Ray Data one row per movie (:func:`job_rows`: index, id, path) and get
one small row back per movie (:data:`RESULT_COLUMNS`); the results themselves are files
the workers write, as in the local engine (so the store or the output folder must be on a
file system every node sees).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from movierep.errors import UserError
from movierep.jobs import Job

#: What each movie's row holds after a Ray stage: its index in the run's job list, the
#: outcome (:func:`movierep.jobs.run_job`'s words), and the error of a failed or partial one.
RESULT_COLUMNS = ("index", "outcome", "error_type", "message")

INSTALL_HINT = "pip install 'movierep[scale]'"


def require_ray() -> Any:
    """The ``ray`` module, or a :class:`UserError` saying how to install it."""
    try:
        import ray
        import ray.data  # the engines' pipelines
    except ImportError:
        message = f"--engine ray needs Ray Data, which is not installed: {INSTALL_HINT}"
        raise UserError(message) from None
    return ray


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to Ray for the ``with`` block; yields the ``ray`` module.

    Args:
        address: a cluster to join (``ray://host:10001``, ``host:6379`` or ``auto``);
            ``None`` starts a local Ray with ``num_cpus`` CPUs (default: all).
        num_cpus: CPUs of a local Ray (ignored when joining a cluster).

    Raises:
        UserError: Ray is not installed, or the cluster cannot be reached.
    """
    ray = require_ray()
    if ray.is_initialized():  # the caller's connection: use it, leave it open
        yield ray
        return
    try:
        if address:
            ray.init(address=address)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False)
    except ConnectionError as err:
        message = " ".join(str(err).split())
        raise UserError(f"--address {address}: cannot connect to Ray ({message})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def job_rows(jobs: Sequence[Job], indices: Sequence[int]) -> list[dict[str, Any]]:
    """One row per job to run: its index in ``jobs``, its id and its path (not its ``extra``)."""
    return [{"index": k, "id": jobs[k].id, "path": str(jobs[k].path)} for k in indices]


def index_dataset(ray: Any, rows: Sequence[dict[str, Any]]) -> Any:
    """A Ray dataset of ``rows``, one block per row, so each movie is its own task."""
    return ray.data.from_items(list(rows), override_num_blocks=max(len(rows), 1))


def collect(dataset: Any, show_progress: bool) -> dict[int, tuple[str, str, str]]:
    """Run ``dataset`` and return ``index -> (outcome, error_type, message)`` of every row."""
    import ray.data

    context = ray.data.DataContext.get_current()
    shown = context.enable_progress_bars
    context.enable_progress_bars = show_progress
    try:
        return {
            int(row["index"]): (str(row["outcome"]), str(row["error_type"]), str(row["message"]))
            for row in dataset.iter_rows()
        }
    finally:
        context.enable_progress_bars = shown


def result_row(index: int, outcome: str, error: tuple[str, str] | None = None) -> dict[str, Any]:
    """A row of :data:`RESULT_COLUMNS` (``error``: type and message of a failed movie)."""
    error_type, message = error or ("", "")
    return {"index": index, "outcome": outcome, "error_type": error_type, "message": message}
