"""Movies2Scenes from the command line, on the tiny corpus: every stage, resumable, bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file

from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.models.vit import save_clip_visual, vit_tiny
from movierep.tables import read_table, to_numpy_embeddings

FAST = ["--profile", "cpu", "--set", "train.device=cpu", "--set", "train.num_workers=0"]


@pytest.fixture(scope="module")
def shots(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("m2s") / "shots"
    assert (
        main(["ingest", "shots", str(tiny_corpus), "--out", str(out), "--detector", "scenedetect"])
        == 0
    )
    return out


def run(argv: list[str]) -> None:
    assert main([str(a) for a in argv]) == 0


@pytest.mark.slow
def test_movies2scenes_end_to_end(tiny_corpus: Path, shots: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    vit = tmp_path / "vit"
    run(["train", "image-encoder", "--shots", shots, "--out", vit, *FAST, "--steps", "2",
         "--set", "train.batch_size=8"])  # fmt: skip
    feats = tmp_path / "shot_features.parquet"
    run(["extract", "shots", "--encoder", vit / "last", "--shots", shots, "--out", feats])
    table = read_table(feats)
    n_shots = read_table(shots / "shots.parquet").num_rows
    assert (
        table.num_rows == n_shots and to_numpy_embeddings(table.column("feature")).shape[1] == 256
    )

    sim = tmp_path / "moviesim"
    run(["train", "moviesim", "--corpus", tiny_corpus, "--shot-features", feats, "--out", sim,
         *FAST, "--steps", "3", "--set", "train.batch_size=2",
         "--set", "pairs.sources=genre+cowatch", "--set", "pairs.k=1",
         # the tiny corpus has 4 movies; 2 are LVU/MovieNet val/test movies (§4.3 excludes them)
         "--set", "pairs.exclude_benchmarks=false"])  # fmt: skip
    pairs = read_table(sim / "pairs.parquet")
    assert pairs.num_rows > 0 and set(pairs.column("source").to_pylist()) <= {
        "cowatch", "genre", "cowatch+genre"
    }  # fmt: skip
    p_scene = tmp_path / "p_scene.parquet"
    run(["select-pairs", "--moviesim", sim, "--shot-features", feats, "--out", p_scene])
    selected = read_table(p_scene)
    assert selected.num_rows > 0
    scores = np.asarray(selected.column("score").to_pylist())
    assert np.isfinite(scores).all()

    scenes = tmp_path / "scenes"
    run(["train", "scenes", "--pairs", p_scene, "--shots", shots, "--init", vit / "last",
         "--out", scenes, *FAST, "--steps", "2", "--set", "train.batch_size=2",
         "--set", "moco.queue_size=8"])  # fmt: skip
    emb = tmp_path / "scene_features.parquet"
    run(["extract", "scenes", "--encoder", scenes / "last", "--shots", shots,
         "--shots-per-scene", "4", "--out", emb])  # fmt: skip
    out = read_table(emb)
    per_movie = (
        read_table(shots / "shots.parquet")
        .group_by("movie_id")
        .aggregate([("shot_index", "count")])
    )
    expected = sum(-(-n // 4) for n in per_movie.column("shot_index_count").to_pylist())
    assert out.num_rows == expected
    assert np.isfinite(to_numpy_embeddings(out.column("feature"))).all()

    # rerun: everything finished is skipped, nothing is duplicated
    run(["extract", "scenes", "--encoder", scenes / "last", "--shots", shots,
         "--shots-per-scene", "4", "--out", emb])  # fmt: skip
    assert read_table(emb).num_rows == expected

    # two encoders: embeddings concatenated (Table 3's genre+synopsis row)
    both = tmp_path / "both.parquet"
    run(["extract", "scenes", "--encoder", scenes / "last", vit / "last", "--shots", shots,
         "--shots-per-scene", "4", "--out", both])  # fmt: skip
    assert to_numpy_embeddings(read_table(both).column("feature")).shape == (expected, 512)


def test_clip_file_in_openai_layout_is_an_encoder(shots: Path, tmp_path: Path) -> None:
    """A CLIP release file (OpenAI layout) works wherever an image encoder is asked for."""
    torch.manual_seed(0)
    model = vit_tiny(image_size=(64, 64))
    save_clip_visual(model, tmp_path / "clip.pt")
    out = tmp_path / "f.parquet"
    run(["extract", "shots", "--encoder", tmp_path / "clip.pt", "--shots", shots, "--out", out])
    assert to_numpy_embeddings(read_table(out).column("feature")).shape[1] == 256


@pytest.mark.parametrize("case", ["clip", "watch_log", "synopsis"])
def test_bad_input_is_one_line_and_exit_2(
    case: str, tiny_corpus: Path, shots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if case == "clip":
        bad = tmp_path / "bad.pt"
        torch.save({"layer1.0.conv1.weight": torch.zeros(2, 2)}, bad)
        argv = [
            "extract",
            "shots",
            "--encoder",
            bad,
            "--shots",
            shots,
            "--out",
            tmp_path / "f.parquet",
        ]
        needle = str(bad)
    else:
        corpus = tmp_path / "corpus"
        shutil.copytree(
            tiny_corpus,
            corpus,
            ignore=shutil.ignore_patterns("movies", "kinetics", "vidsitu", "lvu", "movienet"),
        )
        if case == "watch_log":
            log = pq.read_table(corpus / "watch_log.parquet")
            ids = log.column("movie_id").to_pylist()
            ids[3] = "m9999"
            pq.write_table(
                log.set_column(1, "movie_id", pa.array(ids)), corpus / "watch_log.parquet"
            )
            source, needle = "cowatch", "m9999"
        else:
            cat = pq.read_table(corpus / "catalog.parquet")
            i = cat.column_names.index("synopsis")
            pq.write_table(
                cat.set_column(i, "synopsis", pa.array([""] * cat.num_rows)),
                corpus / "catalog.parquet",
            )
            source, needle = "synopsis", "synopsis"
        argv = ["similar-movies", corpus, "--source", source, "--out", tmp_path / "p.parquet"]
    assert main([str(a) for a in argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("movierep: error:") and needle in lines[0]


@pytest.mark.ddp
@pytest.mark.slow
def test_train_scenes_under_torchrun_shares_one_queue(shots: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    vit = vit_tiny()
    save_checkpoint(tmp_path / "vit", vit, "vit", vit.model_kwargs)
    counts = (
        read_table(shots / "shots.parquet")
        .group_by("movie_id")
        .aggregate([("shot_index", "count")])
    )
    movies = dict(
        zip(
            counts.column("movie_id").to_pylist(),
            counts.column("shot_index_count").to_pylist(),
            strict=True,
        )
    )
    a, b = sorted(movies)[:2]
    rows = [
        {"movie_a": a, "a_start": i % movies[a], "a_end": min(i % movies[a] + 2, movies[a]),
         "movie_b": b, "b_start": 0, "b_end": min(2, movies[b]), "score": 1.0, "space": "learned"}
        for i in range(8)
    ]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p_scene.parquet")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    args = ["-m", "movierep", "train", "scenes", "--pairs", str(tmp_path / "p_scene.parquet"),
            "--shots", str(shots), "--init", str(tmp_path / "vit"), "--out", str(tmp_path / "run"),
            *FAST, "--steps", "3", "--set", "train.batch_size=2",
            "--set", "moco.queue_size=64"]  # fmt: skip
    proc = subprocess.run([*launch, *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = load_file(str(tmp_path / "run" / "last" / "objective.safetensors"))
    assert int(state["queue.filled"]) == 3 * 2 * 2  # 3 steps x 2 ranks x 2 keys, gathered
    assert (tmp_path / "run" / "last" / "model.safetensors").is_file()


@pytest.mark.ddp
@pytest.mark.slow
def test_train_moviesim_under_torchrun(tiny_corpus: Path, shots: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    feats = tmp_path / "shot_features.parquet"
    vit = vit_tiny()
    save_checkpoint(tmp_path / "vit", vit, "vit", vit.model_kwargs)
    run(["extract", "shots", "--encoder", tmp_path / "vit", "--shots", shots, "--out", feats])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    args = ["-m", "movierep", "train", "moviesim", "--corpus", str(tiny_corpus),
            "--shot-features", str(feats), "--out", str(tmp_path / "run"), *FAST, "--steps", "2",
            "--set", "train.batch_size=2", "--set", "pairs.sources=genre+cowatch",
            "--set", "pairs.k=1", "--set", "pairs.exclude_benchmarks=false"]  # fmt: skip
    proc = subprocess.run([*launch, *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_table(tmp_path / "run" / "pairs.parquet").num_rows > 0
    assert (tmp_path / "run" / "last" / "model.safetensors").is_file()
