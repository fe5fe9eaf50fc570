"""The per-video ingest stages (``ingest shots``, ``ingest events``) as Ray tasks.

:class:`RayJobs` is a :class:`movierep.jobs.JobRunner`: it has :func:`movierep.jobs.run_jobs`'
signature, so ``ingest_shots(..., run=RayJobs())`` runs the very same per-video work
function and :func:`movierep.jobs.run_and_merge` merges as always. Each video is one row of
a Ray dataset and one Ray task (``Dataset.map``, a ``TaskPoolStrategy`` of ``workers``
tasks at most), and each task calls :func:`movierep.jobs.run_job`: the part file
``OUT/parts/<stage>/<key>.parquet`` or the failure record is written by the worker, so a
rerun skips finished videos whichever engine ran them, and the merge's checks (nothing
missing, nothing doubled) are unchanged.

The work function travels to the workers pickled (``cloudpickle``, as Ray ships every
task), models included: ``movierep ingest shots`` builds its TransNetV2 runner once on the driver
and every worker unpickles that copy (on CPU: tasks reserve no GPU). Ray Data's docs:
"For functions, Ray Data uses stateless Ray tasks" (``Dataset.map_batches``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from movierep.jobs import Job, JobReport, Work, run_job, shard_jobs
from movierep.scale.session import collect, index_dataset, job_rows, ray_session, result_row


def _run_row(row: dict[str, Any], *, work: Work, out_dir: str, stage: str) -> dict[str, Any]:
    """Ray task: run one video's job (:func:`movierep.jobs.run_job`) and report its outcome."""
    job = Job(id=str(row["id"]), path=Path(str(row["path"])))
    outcome, record = run_job(job, work, out_dir, stage)
    return result_row(int(row["index"]), outcome, record[2:] if record else None)


@dataclass(frozen=True)
class RayJobs:
    """Run a stage's jobs as Ray tasks; a drop-in for :func:`movierep.jobs.run_jobs`.

    Attributes:
        address: the Ray cluster to join (``None``: start a local Ray for the run, or use
            the connection this process already has).
        workers: at most this many tasks at once (``None``: as many as the CPUs allow).
        num_cpus: CPUs of a locally started Ray (``None``: all).
    """

    address: str | None = None
    workers: int | None = None
    num_cpus: int | None = None

    def __call__(
        self,
        jobs: Sequence[Job],
        work: Work,
        out_dir: str | Path,
        stage: str,
        shard: tuple[int, int] | None = None,
        *,
        show_progress: bool = True,
    ) -> JobReport:
        """Run ``work`` over the (shard's) jobs as Ray tasks; the report is in job order."""
        mine, (i, n) = shard_jobs(jobs, stage, shard)
        report = JobReport(stage=stage, shard=(i, n))
        if not mine:
            return report
        with ray_session(self.address, self.num_cpus) as ray:
            task = partial(_run_row, work=work, out_dir=str(out_dir), stage=stage)
            compute = ray.data.TaskPoolStrategy(size=self.workers) if self.workers else None
            rows = index_dataset(ray, job_rows(mine, range(len(mine))))
            results = collect(rows.map(task, compute=compute), show_progress)
        for k, job in enumerate(mine):
            outcome, error_type, message = results[k]
            record = (job.id, str(job.path), error_type, message) if error_type else None
            report.add(job.id, outcome, record)
        return report
