"""Video ingestion over many files: which videos to read, and the per-video shot/event work.

Inputs name videos in any mix of: video files; folders (searched recursively for video
files); ``.txt`` lists (one path per line, relative to the list's folder, ``#`` comments);
a corpus folder holding ``catalog.parquet``; or a ``catalog.parquet`` with ``movie_id`` and
``path`` columns (paths relative to the catalog's folder). A movie's id is its catalog
``movie_id``, else the file name without extension.

Output folder of ``movierep ingest shots``::

    OUT/shots.parquet        one row per shot (movierep.tables.SHOTS)
    OUT/keyframes.parquet    3 rows per shot (movierep.tables.KEYFRAMES), paths relative to OUT
    OUT/keyframes/<movie_id>/shot_<SSSS>_img_<k>.jpg
    OUT/failures.parquet     path, stage, error_type, message, outcome of every video that
                             failed (outcome "failed"), or kept its shots though damaged
                             (outcome "partial": undecodable packets skipped, error_type
                             DamagedVideoError, the message names the lost spans; or, with
                             --partial, a truncated video decoded up to where it ends)
    OUT/parts/...            per-video results (what makes a rerun resume)

``movierep ingest events`` writes ``OUT/events.parquet`` (movierep.tables.EVENTS) and
``OUT/failures.parquet`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc

from movierep.errors import UserError
from movierep.jobs import (
    Job,
    JobReport,
    JobRunner,
    Partial,
    merge_parts,
    part_key,
    parts_dir,
    pending_ids,
    run_and_merge,
    run_jobs,
)
from movierep.tables import EVENTS, KEYFRAMES, SHOTS, read_table, require_columns, write_table
from movierep.video.damage import MAX_LOST_FRACTION
from movierep.video.decode import OnError, probe
from movierep.video.errors import DamagedVideoError, DecodeError
from movierep.video.events import events_table
from movierep.video.keyframes import write_keyframes
from movierep.video.shots import Detector, decode_damage, decode_error, detect_shots
from movierep.video.transnetv2 import TransNetV2Runner

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
)


def _catalog_jobs(catalog: Path) -> list[Job]:
    table = read_table(catalog)
    require_columns(table, ["movie_id", "path"], catalog)
    root = catalog.parent
    return [
        Job(id=str(movie_id), path=(root / str(path)).resolve())
        for movie_id, path in zip(
            table.column("movie_id").to_pylist(), table.column("path").to_pylist(), strict=True
        )
    ]


def _list_jobs(listing: Path) -> list[Job]:
    jobs = []
    for line in listing.read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            path = Path(entry) if Path(entry).is_absolute() else listing.parent / entry
            jobs.append(Job(id=path.stem, path=path.resolve()))
    return jobs


def resolve_videos(inputs: Sequence[str | Path]) -> list[Job]:
    """Turn command-line inputs into one job per video.

    Args:
        inputs: Files, folders, ``.txt`` lists, corpus folders or ``catalog.parquet`` files.

    Returns:
        Jobs in input order (folders sorted by path).

    Raises:
        UserError: An input does not exist, names no video, or two videos share an id.
    """
    jobs: list[Job] = []
    for raw in inputs:
        item = Path(raw)
        if item.is_dir() and (item / "catalog.parquet").is_file():
            jobs.extend(_catalog_jobs(item / "catalog.parquet"))
        elif item.is_dir():
            found = sorted(
                p for p in item.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
            )
            if not found:
                raise UserError(f"{item}: no video files in this folder")
            jobs.extend(Job(id=p.stem, path=p.resolve()) for p in found)
        elif item.suffix == ".parquet" and item.is_file():
            jobs.extend(_catalog_jobs(item))
        elif item.suffix == ".txt" and item.is_file():
            jobs.extend(_list_jobs(item))
        elif item.exists():
            jobs.append(Job(id=item.stem, path=item.resolve()))
        else:
            raise UserError(f"{item}: no such file or folder")
    if not jobs:
        raise UserError("no videos given")
    owners: dict[str, Path] = {}
    for job in jobs:
        if job.id in owners and owners[job.id] != job.path:
            raise UserError(f"{job.path}: movie id {job.id!r} is also {owners[job.id]}")
        owners[job.id] = job.path
    unique = {job.id: job for job in jobs}
    return list(unique.values())


def shots_work(
    out_dir: str | Path,
    detector: Detector = "transnetv2",
    *,
    threshold: float | None = None,
    keyframes: bool = True,
    keyframe_height: int | None = 240,
    device: str = "cpu",
    batch_windows: int = 1,
    exact: bool = False,
    bf16: bool = False,
    threads: int = 0,
    on_error: OnError = "raise",
    max_lost_fraction: float = MAX_LOST_FRACTION,
) -> Callable[[Job], pa.Table | Partial]:
    """The per-video function of ``movierep ingest shots``: detect shots, then save keyframes.

    The keyframes table of a video is written to ``parts/keyframes/`` before its shots are
    returned, so a video counts as done only with both. A damaged video (undecodable packets
    skipped, at most ``max_lost_fraction`` of it lost) and, with ``on_error="stop"``, a
    truncated one decoded up to where its data ends, return a
    :class:`~movierep.jobs.Partial`: the shots are kept and what was lost is listed in
    ``failures.parquet`` (outcome ``partial``).
    """
    out_dir = Path(out_dir)
    runner = None
    if detector == "transnetv2":
        runner = TransNetV2Runner(device, batch_windows, exact=exact, bf16=bf16)

    def work(job: Job) -> pa.Table:
        shots = detect_shots(
            job.path,
            detector,
            movie_id=job.id,
            threshold=threshold,
            threads=threads,
            on_error=on_error,
            max_lost_fraction=max_lost_fraction,
            runner=runner,
        )
        if keyframes:
            save_keyframes(job, shots, out_dir, height=keyframe_height, threads=threads,
                           warn_damage=False)  # fmt: skip
        problem = damage_error(shots)
        if problem is not None:
            return Partial(shots.replace_schema_metadata(None), problem)
        return shots

    return work


def damage_error(shots: pa.Table) -> DecodeError | None:
    """What a shots table's video lost, as the error its partial record carries, if anything.

    ``DamagedVideoError`` names the spans undecodable packets took (and, for a truncated
    video kept with ``on_error="stop"``, where its data ends); ``DecodeError`` alone for a
    truncated video without other damage.
    """
    truncated, damage = decode_error(shots), decode_damage(shots)
    if damage is None:
        return None if truncated is None else DecodeError(truncated)
    message = damage.describe() + (f"; {truncated}" if truncated is not None else "")
    return DamagedVideoError(message, path=damage.path, time=damage.spans[0].start)


def save_keyframes(
    job: Job,
    shots: pa.Table,
    out_dir: Path,
    *,
    height: int | None = 240,
    threads: int = 0,
    warn_damage: bool = True,
) -> None:
    """Save a video's 3 keyframes per shot and its ``parts/keyframes/`` table.

    The table's paths are relative to ``out_dir``. ``warn_damage=False`` when the shots
    were just detected on the video (:func:`detect_shots` warned of what it lost).
    """
    folder = out_dir / "keyframes" / part_key(job.id)
    table = write_keyframes(
        job.path, shots, folder, height=height, threads=threads, warn_damage=warn_damage
    )
    relative = [f"keyframes/{folder.name}/{name}" for name in table.column("path").to_pylist()]
    table = table.set_column(
        table.schema.get_field_index("path"), "path", pa.array(relative, pa.string())
    )
    write_table(parts_dir(out_dir, "keyframes") / f"{part_key(job.id)}.parquet", table)


def events_work(length: float = 2.0, stride: float = 2.0) -> Callable[[Job], pa.Table]:
    """The per-video function of ``movierep ingest events``: consecutive windows over the video."""

    def work(job: Job) -> pa.Table:
        info = probe(job.path)
        return events_table(job.id, job.path, info.duration, length, stride)

    return work


def ingest_shots(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    shard: tuple[int, int] | None = None,
    *,
    keyframes: bool = True,
    show_progress: bool = True,
    run: JobRunner = run_jobs,
    **options: object,
) -> tuple[JobReport, pa.Table | None]:
    """Run shot detection (and keyframes) over every input video; see the module docstring.

    Args:
        inputs: Videos, folders, lists or catalogs.
        out_dir: Output folder.
        shard: ``(i, n)``; ``None`` takes the torchrun rank and world size.
        keyframes: Also save 3 keyframes per shot.
        show_progress: Show a progress bar.
        run: What runs the per-video jobs (:func:`movierep.jobs.run_jobs`, or the Ray
            engine's :class:`movierep.scale.ray_jobs.RayJobs`); the merge is the same.
        **options: Passed to :func:`shots_work` (detector, threshold, device, ...).

    Returns:
        This worker's report and the merged shots table (``None`` until every shard is done).
    """
    jobs = resolve_videos(inputs)
    work = shots_work(out_dir, keyframes=keyframes, **options)  # type: ignore[arg-type]
    report, shots = run_and_merge(
        jobs, work, out_dir, "shots", shard, schema=SHOTS, show_progress=show_progress, run=run
    )
    if shots is not None and keyframes:
        done = sorted(set(shots.column("movie_id").to_pylist()))
        # Videos whose shots an earlier run (with --no-keyframes) already finished.
        by_id = {job.id: job for job in jobs}
        for movie_id in pending_ids(out_dir, "keyframes", done):
            rows = shots.filter(pc.equal(shots.column("movie_id"), movie_id))
            save_keyframes(
                by_id[movie_id],
                rows,
                Path(out_dir),
                height=cast(int | None, options.get("keyframe_height", 240)),
                threads=cast(int, options.get("threads", 0)),
            )
        merge_parts(out_dir, "keyframes", done, schema=KEYFRAMES, failures_file=None)
    return report, shots


def ingest_events(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    shard: tuple[int, int] | None = None,
    *,
    length: float = 2.0,
    stride: float = 2.0,
    show_progress: bool = True,
    run: JobRunner = run_jobs,
) -> tuple[JobReport, pa.Table | None]:
    """Write the events table (consecutive windows) of every input video (``run``: as shots)."""
    jobs = resolve_videos(inputs)
    return run_and_merge(
        jobs,
        events_work(length, stride),
        out_dir,
        "events",
        shard,
        schema=EVENTS,
        show_progress=show_progress,
        run=run,
    )
