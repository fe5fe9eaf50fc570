"""Resumable, shardable "for each file" runner shared by every per-file stage.

A stage (shots, events, feature extraction, ...) is a function ``work(job) -> pa.Table``
applied to many inputs. :func:`run_jobs` runs it with these guarantees:

- **Resumable.** Each finished job writes its own part file atomically,
  ``<out>/parts/<stage>/<key>.parquet``; a rerun skips jobs whose part exists, so no finished
  work is ever redone or lost.
- **Failures recorded, never fatal.** A job that raises leaves
  ``<out>/parts/<stage>/<key>.failed.json`` (path, stage, error type, message) and the run
  goes on; a later success deletes it. ``KeyboardInterrupt`` still stops the run.
- **Partial results kept and recorded.** A job may return :class:`Partial` (e.g. a video
  decoded up to a corrupt spot): its table is kept as the job's part *and* its error is
  recorded in ``<key>.partial.json``, so the merged failures table lists it too.
- **Shardable.** ``shard=(i, n)`` (``--shard i/n``) or, under ``torchrun``, the process rank
  and world size pick ``jobs[i::n]``; each worker writes only its own jobs' parts. One
  job's whole step is :func:`run_job`; another :class:`JobRunner` (the Ray engine's
  ``movierep.scale.ray_jobs.RayJobs``) calls it in its own workers, same files.
- **Merged with checks.** :func:`merge_parts` concatenates the parts of the expected jobs
  into ``<out>/<stage>.parquet`` and every failure or partial result into
  ``<out>/failures.parquet`` (column ``outcome``: ``failed`` or ``partial``), and
  refuses when a job has neither a part nor a failure (missing) or when one job's key
  appears twice. :func:`stream_parts` does the same through an output's own writer, one
  part in memory at a time (shot features: whole movies per row group).

Example:
    >>> jobs = [Job(id="m1", path=Path("m1.mp4"))]  # doctest: +SKIP
    >>> report = run_jobs(jobs, lambda job: detect_shots(job.path), "runs/shots", "shots")
    >>> table = merge_parts("runs/shots", "shots", [job.id for job in jobs])
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from movierep import dist, files
from movierep.errors import UserError
from movierep.runlog import progress
from movierep.tables import FAILURES, read_table, write_table


@dataclass(frozen=True)
class Job:
    """One unit of work: an id unique within the stage, and its input file.

    Attributes:
        id: Unique identifier (e.g. the movie id).
        path: Input file.
        extra: Anything else the work function needs (e.g. catalog metadata).
    """

    id: str
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Partial:
    """A work function's result that is usable but incomplete.

    Attributes:
        table: The job's output, kept as its part.
        error: Why it is incomplete; recorded with ``outcome="partial"``.
    """

    table: pa.Table
    error: Exception


@dataclass
class JobReport:
    """What one :func:`run_jobs` call did (on this worker).

    Attributes:
        stage: Stage name.
        done: Ids finished in this call.
        skipped: Ids already finished by an earlier run.
        failed: ``(id, path, error_type, message)`` of the jobs that failed in this call.
        partial: The same for jobs finished in this call with a :class:`Partial` result
            (also listed in ``done``).
        shard: ``(i, n)`` this worker ran.
    """

    stage: str
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str, str]] = field(default_factory=list)
    partial: list[tuple[str, str, str, str]] = field(default_factory=list)
    shard: tuple[int, int] = (0, 1)

    def summary(self) -> str:
        """One line: counts per outcome."""
        i, n = self.shard
        where = f" (shard {i}/{n})" if n > 1 else ""
        partial = f" ({len(self.partial)} partial)" if self.partial else ""
        return (
            f"{self.stage}{where}: {len(self.done)} done{partial}, "
            f"{len(self.skipped)} already done, {len(self.failed)} failed"
        )

    def lines(self) -> list[str]:
        """The summary, then one line per failed and per partial job (for stderr)."""
        out = [self.summary()]
        out += [f"  failed {i}: {kind}: {msg}" for i, _path, kind, msg in self.failed]
        out += [f"  partial {i}: {kind}: {msg}" for i, _path, kind, msg in self.partial]
        return out

    def add(self, job_id: str, outcome: str, row: tuple[str, str, str, str] | None) -> None:
        """Count one job by its :func:`run_job` outcome (``row``: its failure record)."""
        if outcome == "skipped":
            self.skipped.append(job_id)
        elif outcome == "failed" and row is not None:
            self.failed.append(row)
        else:
            if outcome == "partial" and row is not None:
                self.partial.append(row)
            self.done.append(job_id)

    def exit_status(self) -> int:
        """The exit status of a per-file command that ran this report.

        0 when nothing failed; 1 when some inputs failed (recorded in ``failures.parquet``,
        the others finished); 2 when every input of this call failed, as for any other
        bad input (usage errors are 2 as well).
        """
        if not self.failed:
            return 0
        return 2 if not self.done and not self.skipped else 1


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"i/n"`` (0 ≤ i < n) into ``(i, n)``; a bad value is a :class:`UserError`."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise UserError(f"--shard {text!r}: expected i/n with 0 <= i < n, e.g. 0/4")
    return int(match[1]), int(match[2])


def current_shard(shard: tuple[int, int] | None = None) -> tuple[int, int]:
    """The shard to run: the given one, else the torchrun rank/world size, else ``(0, 1)``."""
    if shard is not None:
        return shard
    return dist.rank(), dist.world_size()


def part_key(job_id: str) -> str:
    """A file-name-safe key for a job id (unsafe characters replaced, plus a short hash)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", job_id)
    if safe == job_id and not job_id.startswith("."):
        return job_id
    return f"{safe.lstrip('.')}-{hashlib.sha1(job_id.encode()).hexdigest()[:8]}"


def parts_dir(out_dir: str | Path, stage: str) -> Path:
    """Folder of a stage's per-job part files."""
    return Path(out_dir) / "parts" / stage


def _write_json(path: Path, payload: dict[str, str]) -> None:
    files.write_json(path, payload, indent=None)


def _check_unique(ids: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    keys: dict[str, str] = {}
    for job_id in ids:
        if job_id in seen:
            raise UserError(f"{what}: job id {job_id!r} appears twice")
        key = part_key(job_id)
        if key in keys:
            raise UserError(f"{what}: job ids {keys[key]!r} and {job_id!r} share a part file")
        seen.add(job_id)
        keys[key] = job_id


Work = Callable[[Job], "pa.Table | Partial"]


class JobRunner(Protocol):
    """What runs a stage's jobs: :func:`run_jobs`, or an engine with its signature (Ray)."""

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
        """Run ``work`` over this worker's share of ``jobs``, as :func:`run_jobs` does."""


def shard_jobs(
    jobs: Sequence[Job], stage: str, shard: tuple[int, int] | None = None
) -> tuple[list[Job], tuple[int, int]]:
    """This worker's jobs ``jobs[i::n]`` and its ``(i, n)``, after checking ids are unique."""
    _check_unique([job.id for job in jobs], stage)
    i, n = current_shard(shard)
    return list(jobs)[i::n], (i, n)


def run_jobs(
    jobs: Sequence[Job],
    work: Work,
    out_dir: str | Path,
    stage: str,
    shard: tuple[int, int] | None = None,
    *,
    show_progress: bool = True,
) -> JobReport:
    """Run ``work`` over this worker's share of ``jobs``, skipping finished ones.

    Args:
        jobs: Every job of the stage (all workers pass the same list).
        work: Returns the job's output table (or a :class:`Partial`); raising records a
            failure.
        out_dir: Output folder of the stage.
        stage: Stage name (``"shots"``, ``"events"``, ...).
        shard: ``(i, n)``; ``None`` takes the torchrun rank and world size.
        show_progress: Show a progress bar (main process only).

    Returns:
        This worker's :class:`JobReport`.
    """
    mine, (i, n) = shard_jobs(jobs, stage, shard)
    report = JobReport(stage=stage, shard=(i, n))
    items = progress(mine, desc=stage, total=len(mine), unit="video") if show_progress else mine
    for job in items:
        report.add(job.id, *run_job(job, work, out_dir, stage))
    return report


def run_job(
    job: Job, work: Work, out_dir: str | Path, stage: str
) -> tuple[str, tuple[str, str, str, str] | None]:
    """Run one job unless its part exists; write its part, or its failure record.

    Returns:
        The outcome (``skipped``, ``done``, ``partial`` or ``failed``) and, for the last
        two, the ``(id, path, error_type, message)`` of its record.
    """
    folder = parts_dir(out_dir, stage)
    folder.mkdir(parents=True, exist_ok=True)
    key = part_key(job.id)
    part = folder / f"{key}.parquet"
    failed, partial = folder / f"{key}.failed.json", folder / f"{key}.partial.json"
    if part.exists():
        return "skipped", None
    try:
        result = work(job)
    except Exception as err:  # one bad file never stops the run
        record = error_record(job, stage, err, "failed")
        _write_json(failed, record)
        return "failed", _as_row(record)
    failed.unlink(missing_ok=True)
    row = None
    if isinstance(result, Partial):
        record = error_record(job, stage, result.error, "partial")
        _write_json(partial, record)  # before the part: a finished job is never unrecorded
        row = _as_row(record)
        result = result.table
    else:
        partial.unlink(missing_ok=True)
    write_table(part, result)
    return ("partial" if row else "done"), row


def error_record(
    job: Job, stage: str, err: BaseException, outcome: str = "failed"
) -> dict[str, str]:
    """A failure record: id, path, stage, error type, one-line message naming the file."""
    message = " ".join(str(err).split()) or repr(err)
    if str(job.path) not in message:
        message = f"{job.path}: {message}"
    return {
        "id": job.id,
        "path": str(job.path),
        "stage": stage,
        "error_type": type(err).__name__,
        "message": message,
        "outcome": outcome,
    }


def _as_row(record: dict[str, str]) -> tuple[str, str, str, str]:
    return record["id"], record["path"], record["error_type"], record["message"]


def pending_ids(out_dir: str | Path, stage: str, expected_ids: Sequence[str]) -> list[str]:
    """Ids that have neither a part nor a failure record yet."""
    folder = parts_dir(out_dir, stage)
    return [
        job_id
        for job_id in expected_ids
        if not (folder / f"{part_key(job_id)}.parquet").exists()
        and not (folder / f"{part_key(job_id)}.failed.json").exists()
    ]


def merge_parts(
    out_dir: str | Path,
    stage: str,
    expected_ids: Sequence[str],
    *,
    id_column: str | None = "movie_id",
    schema: pa.Schema | None = None,
    failures_file: str | None = "failures.parquet",
) -> pa.Table:
    """Concatenate the parts of ``expected_ids`` into ``<out>/<stage>.parquet``.

    Also writes ``<out>/failures.parquet`` (:data:`movierep.tables.FAILURES`) with every
    failed job of the stage and every job whose part is a :class:`Partial` result (an empty
    table when there are none).

    Args:
        out_dir: Output folder of the stage.
        stage: Stage name.
        expected_ids: Every job id of the stage.
        id_column: When the part tables have this column, each part must hold only its own
            job's id there, so no job's rows appear twice or under another job.
        schema: Schema of an empty result when every job failed.
        failures_file: Name of the failures table in ``out_dir``; ``None`` writes none.

    Returns:
        The merged table.

    Raises:
        UserError: A job has neither a part nor a failure record, or its rows carry a
            different id.
    """
    failures: dict[str, list[str]] = {name: [] for name in FAILURES.names}
    tables = list(_checked_parts(out_dir, stage, expected_ids, id_column, failures))
    if tables:
        merged = pa.concat_tables(tables, promote_options="default")
    else:
        merged = (schema or pa.schema([])).empty_table()
    out = Path(out_dir)
    write_table(out / f"{stage}.parquet", merged)
    _write_failures(out, failures_file, failures)
    return merged


#: Writes a stage's output from its parts: ``write(path, schema, parts)``, the parts one
#: table per finished job in job order, read one at a time as the writer asks for them.
PartsWriter = Callable[[Path, pa.Schema, Iterator[pa.Table]], object]


def stream_parts(
    out_dir: str | Path,
    stage: str,
    expected_ids: Sequence[str],
    write: PartsWriter,
    schema: pa.Schema,
    *,
    id_column: str | None = "movie_id",
    failures_file: str | None = "failures.parquet",
) -> Path:
    """:func:`merge_parts` through ``write``, never holding more than the writer keeps.

    For outputs too large to concatenate in memory, or with a layout of their own (shot
    features: whole movies per row group). The same checks and failures table as
    :func:`merge_parts`.

    Returns:
        ``<out>/<stage>.parquet``.
    """
    failures: dict[str, list[str]] = {name: [] for name in FAILURES.names}
    path = Path(out_dir) / f"{stage}.parquet"
    write(path, schema, _checked_parts(out_dir, stage, expected_ids, id_column, failures))
    _write_failures(Path(out_dir), failures_file, failures)
    return path


def _checked_parts(
    out_dir: str | Path,
    stage: str,
    expected_ids: Sequence[str],
    id_column: str | None,
    failures: dict[str, list[str]],
) -> Iterator[pa.Table]:
    """The part of every finished job in job order, checked; failures go into ``failures``.

    Refuses (before yielding anything) when a job has neither a part nor a failure record.
    """
    _check_unique(list(expected_ids), stage)
    folder = parts_dir(out_dir, stage)
    missing = pending_ids(out_dir, stage, expected_ids)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise UserError(
            f"{folder}: {len(missing)} of {len(expected_ids)} jobs have no result yet "
            f"({shown}); run the remaining shards first"
        )
    for job_id in expected_ids:
        key = part_key(job_id)
        part = folder / f"{key}.parquet"
        if part.exists():
            table = read_table(part)
            if id_column and id_column in table.column_names:
                ids = set(table.column(id_column).to_pylist())
                if ids - {job_id}:
                    raise UserError(f"{part}: rows of {sorted(ids - {job_id})} in job {job_id!r}")
            partial = folder / f"{key}.partial.json"
            if partial.exists():
                _add_failure(failures, json.loads(partial.read_text()), "partial")
            yield table
        else:
            record = json.loads((folder / f"{key}.failed.json").read_text())
            _add_failure(failures, record, "failed")


def _write_failures(out: Path, name: str | None, failures: dict[str, list[str]]) -> None:
    if name is not None:
        write_table(out / name, pa.Table.from_pydict(failures, schema=FAILURES))


def _add_failure(columns: dict[str, list[str]], record: dict[str, str], outcome: str) -> None:
    record = {"outcome": outcome, **record}  # records written before "outcome" existed
    for name in FAILURES.names:
        columns[name].append(str(record[name]))


def run_and_merge(
    jobs: Sequence[Job],
    work: Work,
    out_dir: str | Path,
    stage: str,
    shard: tuple[int, int] | None = None,
    *,
    id_column: str | None = "movie_id",
    schema: pa.Schema | None = None,
    failures_file: str | None = "failures.parquet",
    show_progress: bool = True,
    run: JobRunner = run_jobs,
    write: PartsWriter | None = None,
) -> tuple[JobReport, pa.Table | None]:
    """:func:`run_jobs`, then (once every worker is done) :func:`merge_parts` on rank 0.

    Under torchrun the ranks meet at a barrier before the merge. With ``--shard i/n`` the
    workers are independent: the worker that finds every job accounted for merges, the
    others return ``None`` (a final run without ``--shard`` merges and finishes leftovers).
    ``run`` runs the jobs (default :func:`run_jobs`; the Ray engine has the same signature).
    With ``write`` (and ``schema``) the merge is :func:`stream_parts`: the output goes to
    disk through the writer and no table is returned.
    """
    report = run(jobs, work, out_dir, stage, shard, show_progress=show_progress)
    if shard is None:
        dist.barrier()
        if not dist.is_main():
            return report, None
    ids = [job.id for job in jobs]
    if pending_ids(out_dir, stage, ids):
        return report, None
    if write is not None:
        if schema is None:
            raise ValueError("streaming the parts through a writer needs the output schema")
        stream_parts(out_dir, stage, ids, write, schema, id_column=id_column,
                     failures_file=failures_file)  # fmt: skip
        return report, None
    merged = merge_parts(
        out_dir, stage, ids, id_column=id_column, schema=schema, failures_file=failures_file
    )
    return report, merged


def run_into_table(
    jobs: Sequence[Job],
    work: Work,
    out: str | Path,
    shard: tuple[int, int] | None = None,
    *,
    schema: pa.Schema | None = None,
    show_progress: bool = True,
    write: PartsWriter | None = None,
) -> JobReport:
    """:func:`run_and_merge` into one feature table ``out`` (``<dir>/<stem>.parquet``).

    Parts go to ``<dir>/parts/<stem>/``, failures to ``<dir>/<stem>.failures.parquet``:
    the layout every ``movierep extract`` output shares. ``write``: the table's own writer
    (:func:`stream_parts`), else the parts are concatenated.
    """
    out = Path(out)
    report, _ = run_and_merge(
        jobs, work, out.parent, out.stem, shard, schema=schema,
        failures_file=f"{out.stem}.failures.parquet", show_progress=show_progress, write=write,
    )  # fmt: skip
    return report
