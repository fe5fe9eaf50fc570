"""Embedding videos into the store: ingest a movie, run each level's encoder, write its files.

Per movie, one job:

1. **ingest** into ``STORE/work/<movie>/``: shots and three keyframes per shot
   (:func:`movierep.video.shots.detect_shots`, :func:`movierep.video.ingest.save_keyframes`:
   the work folder is a ``movierep ingest shots`` folder) and the 2 s events
   (:func:`movierep.video.ingest.events_work`);
2. **encode** each requested level (:mod:`movierep.store.encoders`: the backbone, and
   optionally the TxE, over events; E_fixed over shots; E_scene over windows of
   ``shots_per_scene`` shots; the very functions ``movierep extract`` uses);
3. **store**: the shots' middle keyframes move to ``STORE/keyframes/<movie>/`` (one atomic
   folder swap), each level's rows are written to their own file atomically
   (:mod:`movierep.store.layout`), and the work folder is removed.

A movie whose files exist for every requested level is skipped, so a rerun after a crash
or ``kill -9`` redoes only the movies that were in flight, overwriting their files: nothing
is lost and no row is doubled. ``shard=(i, n)`` (``--shard i/n``) or torchrun's rank and
world size take movies ``[i::n]``; a movie that fails is recorded in ``STORE/failures/``
and the run goes on. A damaged movie (undecodable packets skipped while detecting its
shots, at most ``max_lost_fraction`` of it lost) is stored from what decoded and recorded
there with ``outcome = partial``, its message naming the lost spans.

The steps are functions of one movie, shared by both engines: :func:`skip_done`,
:func:`write_ingested` / :func:`read_ingested` (the work folder alone is the ingested
movie), :func:`encode_movie` (embed, store, clear the failure record) and
:func:`fail_movie`. :func:`embed_catalog` runs them in one loop; the Ray engine
(:mod:`movierep.scale.ray_engine`) runs ingestion in CPU tasks and encoding in actor pools,
so both write the same files.

This is the *inference* stage of clip-retrieval's inference → index → back end design
(R. Beaumont, ``clip-retrieval``): embeddings are computed once, in parallel workers, into
plain partitioned Parquet; the index (:mod:`movierep.store.index`) is built from those
files afterwards and search reads only the index.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import torch

from movierep import dist, files, tables
from movierep.data.shot_images import ShotImages
from movierep.errors import UserError
from movierep.features.image_encoder import shot_times
from movierep.jobs import Job, JobReport, current_shard, merge_parts, part_key
from movierep.runlog import progress
from movierep.store.encoders import (
    Encoder,
    Ingested,
    embed_level,
    item_at,
    item_starts,
    load_encoders,
)
from movierep.store.layout import (
    LEVELS,
    check_level,
    clear_failure,
    keyframes_dir,
    movie_done,
    movie_file,
    parse_levels,
    read_info,
    record_failure,
    update_catalog,
    work_dir,
    write_failures,
    write_info,
    write_movie,
)
from movierep.tables import KEYFRAMES
from movierep.video.damage import MAX_LOST_FRACTION, DecodeDamage
from movierep.video.decode import probe
from movierep.video.errors import DamagedVideoError
from movierep.video.ingest import events_work, resolve_videos, save_keyframes
from movierep.video.keyframes import SHOT_IMAGE_K, keyframe_name
from movierep.video.shots import DETECTORS, Detector, decode_damage, detect_shots
from movierep.video.transnetv2 import TransNetV2Runner

DAMAGE_FILE = "damage.json"  # in a work folder: what decoding the movie lost


def ingest_movie(
    job: Job,
    folder: Path,
    detector: str | None,
    runner: TransNetV2Runner | None = None,
    known_shots: pa.Table | None = None,
    max_lost_fraction: float = MAX_LOST_FRACTION,
) -> Ingested:
    """Events, and (``detector`` not ``None``) shots and keyframes of one video in ``folder``.

    ``folder`` becomes a ``movierep ingest shots`` folder of one movie (``shots.parquet``,
    ``keyframes.parquet``, ``keyframes/<movie>/``) plus its ``events.parquet``; it is
    emptied first. :func:`write_ingested`, then :func:`read_ingested`.
    """
    write_ingested(job, folder, detector, runner, known_shots, max_lost_fraction)
    return read_ingested(job, folder)


def write_ingested(
    job: Job,
    folder: Path,
    detector: str | None,
    runner: TransNetV2Runner | None = None,
    known_shots: pa.Table | None = None,
    max_lost_fraction: float = MAX_LOST_FRACTION,
) -> None:
    """Ingest one video into ``folder``: its events, and (``detector``) shots and keyframes.

    The folder alone is the ingested movie (:func:`read_ingested`), so ingestion and
    encoding may run in different processes, as the Ray engine does. ``known_shots``
    (this movie's rows of a ``movierep ingest shots`` table made with ``detector``) are used
    instead of detecting the shots again. A video that decodes with damage keeps what
    decodes (up to ``max_lost_fraction`` lost: :func:`movierep.video.shots.detect_shots`)
    and leaves what it lost in ``damage.json``.
    """
    shutil.rmtree(folder, ignore_errors=True)
    tables.write_table(folder / "events.parquet", events_work()(job))
    if detector is None:
        return
    shots = known_shots if known_shots is not None and known_shots.num_rows else None
    reused = shots is not None
    if shots is None:
        shots = detect_shots(
            job.path,
            check_detector(detector),
            movie_id=job.id,
            runner=runner,
            max_lost_fraction=max_lost_fraction,
        )
    damage = decode_damage(shots)
    shots = shots.replace_schema_metadata(None)
    save_keyframes(job, shots, folder, warn_damage=reused)  # detect_shots warned already
    tables.write_table(folder / "shots.parquet", shots)
    merge_parts(folder, "keyframes", [job.id], schema=KEYFRAMES, failures_file=None)
    if damage is not None:
        files.write_text(folder / DAMAGE_FILE, damage.to_json())


def read_ingested(job: Job, folder: Path) -> Ingested:
    """The movie :func:`write_ingested` left in ``folder`` (shots only when it detected them)."""
    events = tables.read_table(folder / "events.parquet")
    if not (folder / "shots.parquet").is_file():
        return Ingested(job.id, job.path, events)
    shots = tables.read_table(folder / "shots.parquet")
    images = ShotImages(folder, movie_ids=[job.id])
    damage_file = folder / DAMAGE_FILE
    damage = DecodeDamage.from_json(damage_file.read_text()) if damage_file.is_file() else None
    return Ingested(job.id, job.path, events, shots, images, shot_times(folder), damage)


def known_shots(shots: str | Path, detector: str) -> dict[str, pa.Table]:
    """Per movie, the rows of an ``ingest shots`` folder's table, checked to be ``detector``'s.

    Raises:
        UserError: no shots table there, or shots of another detector.
    """
    path = Path(shots) / "shots.parquet"
    table = tables.read_table(path)
    tables.require_columns(table, ["movie_id", "detector"], path)
    made_by = set(table.column("detector").to_pylist())
    if made_by - {detector}:
        raise UserError(
            f"{path}: shots of {', '.join(sorted(map(str, made_by)))}, not of {detector!r}"
        )
    return {m: table.take(rows) for m, rows in tables.row_groups(table).items()}


def detector_runner(detector: str | None, device: torch.device) -> TransNetV2Runner | None:
    """One TransNetV2 runner shared by every movie of a run (its weights load once)."""
    return TransNetV2Runner(device) if detector == "transnetv2" else None


def check_detector(name: str) -> Detector:
    """``name`` if it is a shot detector, else a :class:`UserError` listing them."""
    if name not in DETECTORS:
        raise UserError(f"--detector {name!r}: unknown (choose from {', '.join(DETECTORS)})")
    return name  # type: ignore[return-value]


def _remove_leftovers(folder: Path, name: str) -> None:
    """Remove what a killed atomic write of ``folder/name`` left (``.name.*.tmp``, ``.old``)."""
    pattern = re.compile(rf"\.{re.escape(name)}(\.\d+-[0-9a-f]{{8}}\.tmp|\.old)")
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if pattern.fullmatch(path.name):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def store_movie(store: Path, movie: Ingested, rows: dict[str, pa.Table], work: Path) -> None:
    """Move a movie's shot keyframes into the store, then write its level files.

    The keyframes come first, so a level file never names a keyframe that is not there.
    """
    dest = keyframes_dir(store, movie.movie_id)
    _remove_leftovers(dest.parent, dest.name)
    if movie.images is not None:
        source = work / "keyframes" / part_key(movie.movie_id)
        with files.atomic_dir(dest) as tmp:
            for shot in range(movie.images.num_shots[movie.movie_id]):
                name = keyframe_name(shot, SHOT_IMAGE_K)
                (source / name).rename(tmp / name)  # inside atomic_dir: moved, not copied
    for level, table in rows.items():
        path = movie_file(store, level, movie.movie_id)
        _remove_leftovers(path.parent, path.name)
        write_movie(store, level, table)


def record_run(
    store: Path, detector: str, encoders: Mapping[str, Encoder], jobs: Sequence[Job]
) -> None:
    """Record a run's encoders in ``store.json`` and its movies in ``catalog.parquet``.

    Raises:
        UserError: the store holds a level from other weights, or shots of another detector.
    """
    write_info(store, detector, {level: enc.info for level, enc in encoders.items()})
    update_catalog(store, jobs)


def skip_done(store: Path, levels: Sequence[str], movie_id: str) -> bool:
    """True when the movie has its file for every level (its work folder is then removed)."""
    if not movie_done(store, levels, movie_id):
        return False
    shutil.rmtree(work_dir(store, movie_id), ignore_errors=True)  # a run killed after the files
    return True


def encode_movie(
    store: Path,
    movie: Ingested,
    levels: Sequence[str],
    encoders: Mapping[str, Encoder],
    device: torch.device | str,
) -> tuple[str, str, str, str] | None:
    """Embed every level of an ingested movie, store its files and clear its failure record.

    Returns:
        ``None``; for a damaged movie, the :class:`JobReport` row of the ``partial`` record
        that replaces its failure record (what undecodable packets took from it).
    """
    rows = {lv: embed_level(lv, encoders[lv], movie, device=device) for lv in levels}
    store_movie(store, movie, rows, work_dir(store, movie.movie_id))
    clear_failure(store, movie.movie_id)
    if movie.damage is None:
        return None
    damage = movie.damage
    err = DamagedVideoError(damage.describe(), path=damage.path, time=damage.spans[0].start)
    record = record_failure(store, Job(movie.movie_id, movie.video), "embed", err, "partial")
    return movie.movie_id, str(movie.video), record["error_type"], record["message"]


def fail_movie(store: Path, job: Job, err: Exception) -> tuple[str, str, str, str]:
    """Record a movie's failure in ``STORE/failures/``; returns its :class:`JobReport` row."""
    record = record_failure(store, job, "embed", err)
    return job.id, str(job.path), record["error_type"], record["message"]


def embed_catalog(
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
    show_progress: bool = True,
    frame_cache: str = "decode",
    shots: str | Path | None = None,
    max_lost_fraction: float = MAX_LOST_FRACTION,
) -> JobReport:
    """Embed every video of a catalog into the store ``store`` (``movierep embed``).

    Args:
        videos: what :func:`movierep.video.ingest.resolve_videos` accepts: video files,
            folders, ``.txt`` lists, corpus folders, ``catalog.parquet`` files.
        store: the store folder (created; an existing store gains movies and levels).
        levels: which of ``event``, ``shot``, ``scene`` to embed.
        event_checkpoint: backbone checkpoint (``movierep train backbone``) for events.
        contextualizer: TxE checkpoint: store contextual event embeddings instead.
        shot_encoder: E_fixed (ViT checkpoint folder or CLIP file) for shots.
        scene_encoder: E_scene (``movierep train scenes``) for scenes.
        shots_per_scene: shots per scene; ``None``: the scene encoder's own
            (:func:`movierep.features.scene_features.shots_per_scene_of`).
        detector: shot detector (``transnetv2``, ``scenedetect``, ``scenedetect-adaptive``).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
        shard: ``(i, n)`` to embed movies ``[i::n]`` only; default the torchrun rank.
        show_progress: progress bar.
        frame_cache: where event clips are read (``decode``, ``auto`` or a folder; see
            :func:`movierep.store.encoders.load_encoders`).
        shots: a ``movierep ingest shots`` folder made with the same ``detector``: its movies'
            shots are reused instead of detected again (movies it lacks are detected).
        max_lost_fraction: a movie whose shot detection lost more than this fraction of it
            to undecodable packets fails; below, it is stored and listed as ``partial``.

    Returns:
        This worker's report: movies done (and which of them partial), skipped (already in
        the store), failed.

    Raises:
        UserError: bad inputs, a missing encoder, or a store made with other encoders.
    """
    store = Path(store)
    levels = parse_levels(levels)
    check_detector(detector)
    jobs = resolve_videos(videos)
    where = dist.device(device)
    encoders = load_encoders(
        levels,
        event_checkpoint=event_checkpoint,
        contextualizer=contextualizer,
        shot_encoder=shot_encoder,
        scene_encoder=scene_encoder,
        shots_per_scene=shots_per_scene,
        device=where,
        frame_cache=frame_cache,
    )
    record_run(store, detector, encoders, jobs)
    runner = detector_runner(detector, where)
    known = known_shots(shots, detector) if shots is not None else {}
    i, n = current_shard(shard)
    report = JobReport(stage="embed", shard=(i, n))
    mine = jobs[i::n]
    items = progress(mine, desc="embed", total=len(mine), unit="movie") if show_progress else mine
    for job in items:
        if skip_done(store, levels, job.id):
            report.skipped.append(job.id)
            continue
        work = work_dir(store, job.id)
        try:
            movie = ingest_movie(job, work, detector, runner, known.get(job.id), max_lost_fraction)
            partial = encode_movie(store, movie, levels, encoders, where)
        except Exception as err:  # one bad movie never stops the run
            report.failed.append(fail_movie(store, job, err))
            continue
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report.add(job.id, "partial" if partial else "done", partial)
    if shard is None:
        dist.barrier()
    if shard is not None or dist.is_main():
        write_failures(store)
    return report


def embed_video(
    video: str | Path,
    level: str = "scene",
    encoder: str | Path | None = None,
    *,
    contextualizer: str | Path | None = None,
    shots_per_scene: int | None = None,
    detector: str = "transnetv2",
    device: str = "auto",
) -> pa.Table:
    """A table of one video's embeddings at one level, from a checkpoint.

    Example:
        >>> from movierep import embed_video  # doctest: +SKIP
        >>> table = embed_video("movie.mp4", level="scene", encoder="runs/scenes/last")
        >>> table.select(["item_index", "start_time", "end_time", "embedding"])

    Args:
        video: the video file (its stem is the movie id).
        level: ``event`` (``encoder`` is a backbone checkpoint), ``shot`` (E_fixed) or
            ``scene`` (E_scene; windows of ``shots_per_scene`` shots).
        encoder: the level's checkpoint folder (or CLIP file for shots / scenes).
        contextualizer: with ``level="event"``: a TxE checkpoint for contextual embeddings.
        shots_per_scene: shots per scene; ``None``: the scene encoder's own
            (:func:`movierep.features.scene_features.shots_per_scene_of`).
        detector: shot detector for shots and scenes.
        device: ``auto``, ``cpu``, ``cuda``...

    Returns:
        One row per item (:func:`movierep.store.layout.store_schema`; ``keyframe`` null),
        ``embedding`` (M, D).
    """
    level = check_level(level)
    path = Path(video)
    if not path.is_file():
        raise UserError(f"{path}: video file not found")
    where = dist.device(device)
    enc = load_encoders(
        [level],
        event_checkpoint=encoder if level == "event" else None,
        contextualizer=contextualizer if level == "event" else None,
        shot_encoder=encoder if level == "shot" else None,
        scene_encoder=encoder if level == "scene" else None,
        shots_per_scene=shots_per_scene,
        device=where,
    )[level]
    job = Job(id=path.stem, path=path)
    detector_or_none = None if level == "event" else detector
    with tempfile.TemporaryDirectory(prefix="movierep-embed-") as tmp:
        movie = ingest_movie(
            job, Path(tmp), detector_or_none, detector_runner(detector_or_none, where)
        )
        table = embed_level(level, enc, movie, device=where)
    return _without_keyframes(table)


def _without_keyframes(table: pa.Table) -> pa.Table:
    """``table`` with a null ``keyframe`` column (its keyframes were in a temporary folder)."""
    column = table.schema.get_field_index("keyframe")
    return table.set_column(column, "keyframe", pa.nulls(table.num_rows, pa.string()))


def embed_at(
    store: str | Path, level: str, video: str | Path, seconds: float, *, device: str = "auto"
) -> pa.Table:
    """The store's embedding of the item of ``video`` at ``seconds`` (``search --video --at``).

    The encoder is the one ``store.json`` records for ``level`` (its checkpoint must still
    have the recorded weights). Events without a contextualizer encode that one event;
    shots and scenes need the whole video's shots.

    Returns:
        One row (:func:`movierep.store.layout.store_schema`, ``keyframe`` null).

    Raises:
        UserError: no such level, changed weights, or ``seconds`` outside the video.
    """
    info = read_info(store)
    recorded = info.level(level)
    path = Path(video)
    if not path.is_file():
        raise UserError(f"{path}: video file not found")
    duration = probe(path).duration
    if not 0 <= seconds < duration:
        raise UserError(f"{path}: --at {seconds:g} s is outside the video (0 .. {duration:.1f} s)")
    where = dist.device(device)
    enc = load_encoders(
        [level],
        event_checkpoint=recorded.checkpoint if level == "event" else None,
        contextualizer=recorded.contextualizer,
        shot_encoder=recorded.checkpoint if level == "shot" else None,
        scene_encoder=recorded.checkpoint if level == "scene" else None,
        shots_per_scene=recorded.shots_per_scene or 1,
        device=where,
    )[level]
    if not enc.info.same_embeddings(recorded):
        raise UserError(
            f"{recorded.checkpoint}: weights {enc.info.checkpoint_id} differ from the "
            f"{recorded.checkpoint_id} that embedded the store's {level} level"
        )
    detector = None if level == "event" else info.detector
    with tempfile.TemporaryDirectory(prefix="movierep-embed-") as tmp:
        job = Job(id=path.stem, path=path)
        movie = ingest_movie(job, Path(tmp), detector, detector_runner(detector, where))
        starts = item_starts(level, movie, enc.info.shots_per_scene or 1)
        table = embed_level(level, enc, movie, [item_at(starts, seconds)], device=where)
    return _without_keyframes(table)
