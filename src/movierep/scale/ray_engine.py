"""``movierep embed --engine ray``: the store's per-movie steps as one Ray Data pipeline.

One row per movie still to embed flows through two stages::

    movies ──map: CPU tasks──▶ STORE/work/<movie> ──map_batches: encoder actors──▶ stored

1. **driver**: resolve the catalog, load the encoders once on the CPU to check them and
   record them (:func:`movierep.store.embed.record_run`: ``store.json``, ``catalog.parquet``),
   and skip the movies whose files exist for every level
   (:func:`~movierep.store.embed.skip_done`), exactly as the local engine does;
2. **ingest** (``Dataset.map``: stateless Ray tasks of 1 CPU each): decode, shots,
   keyframes and events into the movie's work folder
   (:func:`~movierep.store.embed.write_ingested`). Each worker process builds the
   TransNetV2 runner once and detects shots on its CPU;
3. **encode** (``Dataset.map_batches`` with the callable class :class:`EncodeMovies`:
   an actor pool of ``workers`` actors, ``compute=ActorPoolStrategy(size=workers)``,
   ``num_gpus=1`` each on a cluster with GPUs): every actor loads each level's encoder
   once, then for each movie reads the work folder back
   (:func:`~movierep.store.embed.read_ingested`), embeds every level, writes the level
   files and keyframes with the store's atomic writer and clears the failure record
   (:func:`~movierep.store.embed.encode_movie`);
4. **driver**: ``STORE/failures.parquet`` from the failure records.

A movie that raises in either stage is recorded by :func:`~movierep.store.embed.fail_movie`
in ``STORE/failures/`` and the run goes on. The rows that travel are a few short strings per
movie; embeddings never cross the object store. The store therefore must be on a file system that
every node sees (one machine, NFS, a mounted bucket).

Followed: Ray Data's batch-inference guide and ``Dataset.map_batches`` docs ("For
functions, Ray Data uses stateless Ray tasks. For classes, Ray Data uses stateful Ray
actors"; ``ActorPoolStrategy(size=n)`` for a fixed pool; ``num_gpus=1`` per actor with an
explicit ``batch_size``). The pool's size is the ``concurrency`` of older Ray releases.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import torch

from movierep.errors import UserError
from movierep.jobs import Job, JobReport
from movierep.scale.session import (
    collect,
    index_dataset,
    job_rows,
    ray_session,
    require_ray,
    result_row,
)
from movierep.store.embed import (
    check_detector,
    detector_runner,
    encode_movie,
    fail_movie,
    read_ingested,
    record_run,
    skip_done,
    write_ingested,
)
from movierep.store.encoders import load_encoders
from movierep.store.layout import LEVELS, parse_levels, work_dir, write_failures
from movierep.video.damage import MAX_LOST_FRACTION
from movierep.video.ingest import resolve_videos
from movierep.video.transnetv2 import TransNetV2Runner

#: Memory each ingestion task reserves: decoding with TransNetV2 peaks at ~0.6 GiB whatever
#: the video's length (README, "Ingestion speed and memory"). Being a request the encoder
#: actors do not make, it also keeps Ray Data from fusing the two stages into the actors
#: (it fuses a task map into the next actor map only when both ask for the same resources).
INGEST_MEMORY = 1 << 30


@functools.lru_cache(maxsize=1)
def _cpu_runner(detector: str) -> TransNetV2Runner | None:
    """The shot detector's model, built once per Ray worker process."""
    return detector_runner(detector, torch.device("cpu"))


def ingest_row(
    row: dict[str, Any],
    *,
    store: str,
    detector: str,
    max_lost_fraction: float = MAX_LOST_FRACTION,
) -> dict[str, Any]:
    """Ray task: ingest one movie into its work folder; a failure is recorded here."""
    job = Job(id=str(row["id"]), path=Path(str(row["path"])))
    work = work_dir(store, job.id)
    try:
        write_ingested(
            job, work, detector, _cpu_runner(detector), max_lost_fraction=max_lost_fraction
        )
    except Exception as err:  # one bad movie never stops the run
        shutil.rmtree(work, ignore_errors=True)
        failed = fail_movie(Path(store), job, err)
        return {**row, **result_row(int(row["index"]), "failed", failed[2:])}
    return {**row, **result_row(int(row["index"]), "ingested")}


class EncodeMovies:
    """Ray Data actor: each level's encoder loaded once, then movie after movie stored.

    Args:
        store: the store folder.
        levels: the levels to embed.
        encoders: :func:`movierep.store.encoders.load_encoders`' checkpoint arguments.
        device: where the encoders run (``cuda`` in an actor that holds a GPU).
    """

    def __init__(
        self, store: str, levels: Sequence[str], encoders: dict[str, Any], device: str
    ) -> None:
        self.store = Path(store)
        self.levels = tuple(levels)
        self.device = torch.device(device)
        self.encoders = load_encoders(self.levels, device=self.device, **encoders)

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Embed and store each ingested movie of ``batch``; failed rows pass through."""
        out = []
        for row in batch.to_pylist():
            if row["outcome"] == "ingested":
                row = {**row, **self._store(row)}
            out.append(row)
        return pa.Table.from_pylist(out, schema=batch.schema)

    def _store(self, row: dict[str, Any]) -> dict[str, Any]:
        job = Job(id=str(row["id"]), path=Path(str(row["path"])))
        work = work_dir(self.store, job.id)
        try:
            movie = read_ingested(job, work)
            partial = encode_movie(self.store, movie, self.levels, self.encoders, self.device)
        except Exception as err:  # one bad movie never stops the run
            return result_row(int(row["index"]), "failed", fail_movie(self.store, job, err)[2:])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if partial is not None:  # stored though damaged
            return result_row(int(row["index"]), "partial", partial[2:])
        return result_row(int(row["index"]), "done")


def _gpus_per_actor(ray: Any, device: str) -> int:
    """1 when the encoders run on GPUs (``auto`` on a cluster with GPUs, or ``cuda``), else 0."""
    have = float(ray.cluster_resources().get("GPU", 0))
    if device == "cpu":
        return 0
    if device.startswith("cuda") and not have:
        raise UserError(f"--device {device}: the Ray cluster has no GPU")
    if device not in ("auto", "cuda") and not device.startswith("cuda"):
        raise UserError(f"--device {device!r}: expected auto, cpu or cuda with --engine ray")
    return 1 if have else 0


def _pool_size(ray: Any, workers: int | None, gpus: int) -> int:
    """Encoder actors: ``workers``, else one per GPU, else half the CPUs; checked to fit."""
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if workers is None:
        gpu_count = int(ray.cluster_resources().get("GPU", 0))
        workers = gpu_count if gpus else max(1, cpus // 2)
    if workers < 1:
        raise UserError(f"--workers {workers}: expected at least 1 encoder actor")
    if workers + 1 > cpus:
        raise UserError(
            f"--workers {workers}: the Ray cluster has {cpus} CPUs; {workers} encoder actors "
            f"take {workers} and ingestion needs at least one more (use --workers {cpus - 1} "
            "or fewer, or a bigger cluster)"
        )
    return workers


def embed_catalog_ray(
    videos: Sequence[str | Path],
    store: str | Path,
    levels: Sequence[str] = LEVELS,
    *,
    event_checkpoint: str | Path | None = None,
    contextualizer: str | Path | None = None,
    shot_encoder: str | Path | None = None,
    scene_encoder: str | Path | None = None,
    shots_per_scene: int | None = None,
    detector: str = "transnetv2",
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    address: str | None = None,
    workers: int | None = None,
    num_cpus: int | None = None,
    show_progress: bool = True,
    max_lost_fraction: float = MAX_LOST_FRACTION,
) -> JobReport:
    """Embed every video of a catalog into ``store`` on Ray: the same store as the local engine.

    Args:
        videos: as :func:`movierep.store.embed.embed_catalog`.
        store: the store folder, on a file system every Ray node sees.
        levels: which of ``event``, ``shot``, ``scene`` to embed.
        event_checkpoint: backbone checkpoint for events.
        contextualizer: TxE checkpoint for contextual event embeddings.
        shot_encoder: E_fixed for shots.
        scene_encoder: E_scene for scenes.
        shots_per_scene: shots per scene (``None``: the scene encoder's own).
        detector: shot detector (run on the CPU, in the ingestion tasks).
        device: ``auto`` (encoder actors take a GPU each when the cluster has GPUs),
            ``cpu`` or ``cuda``.
        shard: ``(i, n)`` to embed movies ``[i::n]`` only (default: all).
        address: the Ray cluster to join; ``None`` starts a local Ray (or uses the
            connection this process already has).
        workers: encoder actors (default: one per GPU, else half the cluster's CPUs).
        num_cpus: CPUs of a locally started Ray (default: all).
        show_progress: Ray Data's progress bars.
        max_lost_fraction: as :func:`movierep.store.embed.embed_catalog`.

    Returns:
        The run's report (movies in catalog order): done (and partial), skipped, failed.

    Raises:
        UserError: bad inputs, a missing encoder, a store made with other encoders, Ray
            not installed, or a pool that does not fit the cluster.
    """
    require_ray()  # before anything is loaded or written
    store = Path(store)
    levels = parse_levels(levels)
    check_detector(detector)
    jobs = resolve_videos(videos)
    checkpoints: dict[str, Any] = {
        "event_checkpoint": event_checkpoint,
        "contextualizer": contextualizer,
        "shot_encoder": shot_encoder,
        "scene_encoder": scene_encoder,
        "shots_per_scene": shots_per_scene,
    }
    # loaded here only to check them and record them; the actors load their own copies
    record_run(store, detector, load_encoders(levels, device="cpu", **checkpoints), jobs)
    i, n = shard or (0, 1)
    mine = jobs[i::n]
    outcomes: dict[int, tuple[str, str, str]] = {
        k: ("skipped", "", "") for k, job in enumerate(mine) if skip_done(store, levels, job.id)
    }
    pending = [k for k in range(len(mine)) if k not in outcomes]
    if pending:
        with ray_session(address, num_cpus) as ray:
            gpus = _gpus_per_actor(ray, device)
            size = _pool_size(ray, workers, gpus)
            ingested = index_dataset(ray, job_rows(mine, pending)).map(
                functools.partial(
                    ingest_row,
                    store=str(store),
                    detector=detector,
                    max_lost_fraction=max_lost_fraction,
                ),
                num_cpus=1,
                memory=INGEST_MEMORY,
            )
            stored = ingested.map_batches(
                EncodeMovies,
                fn_constructor_kwargs={
                    "store": str(store),
                    "levels": levels,
                    "encoders": checkpoints,
                    "device": "cuda" if gpus else "cpu",
                },
                batch_size=1,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=size),
                num_gpus=gpus or None,
            )
            outcomes.update(collect(stored, show_progress))
    report = JobReport(stage="embed", shard=(i, n))
    for k, job in enumerate(mine):
        outcome, error_type, message = outcomes[k]
        record = (job.id, str(job.path), error_type, message) if error_type else None
        report.add(job.id, outcome, record)
    write_failures(store)
    return report
