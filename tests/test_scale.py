"""The Ray engine on a 2-CPU local Ray: the same store, shots and events as the local engine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.jobs import JobReport, run_jobs
from movierep.models.slow_d import slow_d_tiny
from movierep.models.vit import ViT, ViTConfig
from movierep.store.embed import embed_catalog
from movierep.store.layout import LEVELS, level_files, movie_file, read_level
from movierep.store.verify import verify
from movierep.tables import read_table, to_numpy_embeddings
from movierep.video.ingest import ingest_events, ingest_shots

WINDOW = 3  # shots per scene


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """One local Ray of 2 CPUs for the module (started once, shut down after)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpts")
    torch.manual_seed(0)
    backbone = slow_d_tiny()
    data = {"num_frames": 4, "frame_stride": 2, "crop_size": 32}
    save_checkpoint(
        root / "bb", backbone, "slow_d", backbone.model_kwargs, run_config={"data": data}
    )
    for name, dim, seed in (("shot", 16, 1), ("scene", 24, 2)):
        torch.manual_seed(seed)
        model = ViT(
            ViTConfig(image_size=32, patch_size=16, width=32, layers=1, heads=1, output_dim=dim)
        )
        save_checkpoint(root / name, model.eval(), "vit", model.model_kwargs)
    return {"bb": root / "bb", "shot": root / "shot", "scene": root / "scene"}


@pytest.fixture(scope="module")
def videos(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny corpus' 4 movies and one file that is not a video."""
    folder = tmp_path_factory.mktemp("videos")
    for movie in sorted((tiny_corpus / "movies").glob("*.mp4")):
        shutil.copy(movie, folder / movie.name)
    (folder / "bad.mp4").write_bytes(b"not a video")
    return folder


def embed_kwargs(ckpts: dict[str, Path]) -> dict[str, object]:
    return {"event_checkpoint": ckpts["bb"], "shot_encoder": ckpts["shot"],
            "scene_encoder": ckpts["scene"], "shots_per_scene": WINDOW,
            "detector": "scenedetect", "device": "cpu", "show_progress": False}  # fmt: skip


@pytest.fixture(scope="module")
def stores(
    videos: Path, ckpts: dict[str, Path], ray_address: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, JobReport, JobReport]:
    from movierep.scale.ray_engine import embed_catalog_ray

    root = tmp_path_factory.mktemp("stores")
    local = embed_catalog([videos], root / "local", LEVELS, **embed_kwargs(ckpts))  # type: ignore[arg-type]
    on_ray = embed_catalog_ray([videos], root / "ray", LEVELS, workers=1, **embed_kwargs(ckpts))  # type: ignore[arg-type]
    return root / "local", root / "ray", local, on_ray


def files_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_same_level(a: Path, b: Path, level: str, movies: list[str] | None = None) -> None:
    """Same rows, file by file; embeddings within 1e-6."""
    for movie in movies or ["m0000", "m0001", "m0002", "m0003"]:
        want, got = read_table(movie_file(a, level, movie)), read_table(movie_file(b, level, movie))
        assert want.schema == got.schema
        assert want.drop_columns(["embedding"]).equals(got.drop_columns(["embedding"])), movie
        np.testing.assert_allclose(
            to_numpy_embeddings(got["embedding"]), to_numpy_embeddings(want["embedding"]),
            rtol=0, atol=1e-6,
        )  # fmt: skip


def test_ray_writes_the_store_the_local_engine_writes(
    stores: tuple[Path, Path, JobReport, JobReport],
) -> None:
    local, on_ray, local_report, ray_report = stores
    assert ray_report.done == local_report.done == ["m0000", "m0001", "m0002", "m0003"]
    assert ray_report.failed == local_report.failed
    assert [f[0] for f in ray_report.failed] == ["bad"]
    assert ray_report.exit_status() == 1
    # the same files: store.json, catalog, 4 x 3 level files, keyframes, failure records
    assert files_of(on_ray) == files_of(local)
    assert not list((on_ray / "work").iterdir())
    for name in ("store.json", "failures/bad.json"):
        assert (on_ray / name).read_text() == (local / name).read_text()
    for name in ("catalog.parquet", "failures.parquet"):
        assert read_table(on_ray / name).equals(read_table(local / name))
    for frame in (local / "keyframes").rglob("*.jpg"):
        assert (on_ray / frame.relative_to(local)).read_bytes() == frame.read_bytes()
    for level in LEVELS:
        assert len(level_files(on_ray, level)) == 4
        assert_same_level(local, on_ray, level)
        assert read_level(on_ray, level).num_rows == read_level(local, level).num_rows
    check = verify(on_ray)
    assert check.ok and check.failed == ["bad"], check.lines()


def test_the_command_joins_the_cluster_and_resumes(
    stores: tuple[Path, Path, JobReport, JobReport],
    videos: Path,
    ckpts: dict[str, Path],
    ray_address: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local, on_ray, _, _ = stores
    out = tmp_path / "store"
    shutil.copytree(on_ray, out)
    movie_file(out, "scene", "m0002").unlink()  # as if killed before m0002's scene file
    argv = ["embed", str(videos), "--out", str(out), "--backbone", str(ckpts["bb"]),
            "--shot-encoder", str(ckpts["shot"]), "--scene-encoder", str(ckpts["scene"]),
            "--shots-per-scene", str(WINDOW), "--detector", "scenedetect", "--device", "cpu",
            "--quiet", "--engine", "ray", "--address", ray_address]  # fmt: skip
    # another driver process joins the module's Ray with --address
    proc = subprocess.run(
        [sys.executable, "-m", "movierep", *argv, "--workers", "1"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]  # bad.mp4 fails again
    assert "1 movies embedded, 3 already there, 1 failed" in proc.stdout
    for level in LEVELS:
        assert_same_level(local, out, level)
    assert files_of(out) == files_of(local) and verify(out).ok

    assert main([*argv, "--workers", "2"]) == 2  # 2 actors + ingestion do not fit 2 CPUs
    assert "--workers 2: the Ray cluster has 2 CPUs" in capsys.readouterr().err


def test_shots_and_events_on_ray_equal_local(
    videos: Path, ray_address: str, tmp_path: Path
) -> None:
    from movierep.scale.ray_jobs import RayJobs

    outs = {}
    for engine, run in (("local", run_jobs), ("ray", RayJobs(workers=2))):
        shots_report, shots = ingest_shots(
            [videos], tmp_path / engine / "shots", detector="scenedetect", show_progress=False,
            run=run,
        )  # fmt: skip
        events_report, events = ingest_events(
            [videos], tmp_path / engine / "events", show_progress=False, run=run
        )
        assert shots is not None and events is not None
        outs[engine] = (shots_report, events_report)
    for stage in ("shots", "events"):
        local, ray = tmp_path / "local" / stage, tmp_path / "ray" / stage
        assert files_of(ray) == files_of(local)
        for table in (f"{stage}.parquet", "failures.parquet"):
            assert read_table(ray / table).equals(read_table(local / table)), table
        assert read_table(local / "failures.parquet")["path"].to_pylist() == [
            str((videos / "bad.mp4").resolve())
        ]
    assert read_table(tmp_path / "ray/shots/keyframes.parquet").equals(
        read_table(tmp_path / "local/shots/keyframes.parquet")
    )
    for frame in (tmp_path / "local/shots/keyframes").rglob("*.jpg"):
        twin = tmp_path / "ray/shots" / frame.relative_to(tmp_path / "local/shots")
        assert twin.read_bytes() == frame.read_bytes()
    for local_report, ray_report in zip(outs["local"], outs["ray"], strict=True):
        assert (ray_report.done, ray_report.failed) == (local_report.done, local_report.failed)
    # a rerun on Ray skips every finished video and merges the same table
    again, shots = ingest_shots(
        [videos], tmp_path / "ray" / "shots", detector="scenedetect", show_progress=False,
        run=RayJobs(),
    )  # fmt: skip
    assert again.skipped == ["m0000", "m0001", "m0002", "m0003"] and again.done == []
    assert shots is not None and shots.equals(read_table(tmp_path / "local/shots/shots.parquet"))


def test_engine_ray_without_ray_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    video = str(tmp_path / "m.mp4")
    for argv in (
        ["embed", video, "--out", str(tmp_path / "s"), "--engine", "ray"],
        ["ingest", "events", video, "--out", str(tmp_path / "e"), "--engine", "ray"],
    ):
        assert main(argv) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "pip install 'movierep[scale]'" in lines[0], lines
    assert main(["ingest", "shots", video, "--out", str(tmp_path / "e"), "--workers", "2"]) == 2
    assert "--engine ray" in capsys.readouterr().err
