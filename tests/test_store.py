"""The embeddings store on the tiny corpus: rows per level, embeddings, resume, kill -9, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.data.augment import eval_transform
from movierep.data.clips import centered_start
from movierep.data.shot_images import to_model_input
from movierep.errors import UserError
from movierep.models import load_pretrained
from movierep.models.factory import create_model
from movierep.models.slow_d import slow_d_tiny
from movierep.models.vit import CLIP_MEAN, CLIP_STD, ViT, ViTConfig
from movierep.store import embed
from movierep.store.embed import embed_at, embed_catalog, embed_video
from movierep.store.layout import (
    FORMAT,
    LEVELS,
    VERSION,
    iter_movies,
    level_files,
    movie_file,
    read_failures,
    read_info,
    read_level,
)
from movierep.store.verify import verify
from movierep.tables import read_table, to_numpy_embeddings
from movierep.video.decode import open_video
from movierep.video.ingest import ingest_events, ingest_shots

WINDOW = 3  # shots per scene


def vit(dim: int, seed: int) -> ViT:
    torch.manual_seed(seed)
    return ViT(
        ViTConfig(image_size=32, patch_size=16, width=32, layers=1, heads=1, output_dim=dim)
    ).eval()


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
        model = vit(dim, seed)
        save_checkpoint(root / name, model, "vit", model.model_kwargs)
    kwargs = {"input_dim": 256, "hidden_dim": 16, "num_layers": 1, "num_heads": 2}
    torch.manual_seed(3)
    save_checkpoint(root / "txe", create_model("txe", **kwargs), "txe", kwargs)
    bad = {**kwargs, "input_dim": 12}
    save_checkpoint(root / "txe12", create_model("txe", **bad), "txe", bad)
    return {"bb": root / "bb", "shot": root / "shot", "scene": root / "scene",
            "txe": root / "txe", "txe12": root / "txe12"}  # fmt: skip


def embed_args(ckpts: dict[str, Path]) -> list[str]:
    return ["--backbone", str(ckpts["bb"]), "--shot-encoder", str(ckpts["shot"]),
            "--scene-encoder", str(ckpts["scene"]), "--shots-per-scene", str(WINDOW),
            "--detector", "scenedetect", "--device", "cpu", "--quiet"]  # fmt: skip


def embed_kwargs(ckpts: dict[str, Path]) -> dict[str, object]:
    return {
        "event_checkpoint": ckpts["bb"],
        "shot_encoder": ckpts["shot"],
        "scene_encoder": ckpts["scene"],
        "shots_per_scene": WINDOW,
        "detector": "scenedetect",
        "device": "cpu",
        "show_progress": False,
    }


@pytest.fixture(scope="module")
def store(tiny_corpus: Path, ckpts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("store") / "store"
    report = embed_catalog([tiny_corpus], out, LEVELS, **embed_kwargs(ckpts))  # type: ignore[arg-type]
    assert (len(report.done), report.failed, report.exit_status()) == (4, [], 0)
    return out


def counts(table: pa.Table) -> dict[str, int]:
    ids = table["movie_id"].to_pylist()
    return {m: ids.count(m) for m in sorted(set(ids))}


def test_rows_per_level_are_the_shots_and_events_of_ingestion(
    store: Path, tiny_corpus: Path, tmp_path: Path
) -> None:
    shots_report, shots = ingest_shots(
        [tiny_corpus], tmp_path / "shots", keyframes=False, detector="scenedetect",
        show_progress=False,
    )  # fmt: skip
    _, events = ingest_events([tiny_corpus], tmp_path / "events", show_progress=False)
    assert shots is not None and events is not None and not shots_report.failed
    n_shots, n_events = counts(shots), counts(events)
    assert len(n_shots) == 4 and min(n_shots.values()) >= 2  # several shots per movie
    levels = {level: read_level(store, level) for level in LEVELS}
    by_movie = dict(iter_movies(store, "shot"))
    assert sorted(by_movie) == sorted(n_shots)
    assert sum(t.num_rows for t in by_movie.values()) == levels["shot"].num_rows
    assert counts(levels["event"]) == n_events
    assert counts(levels["shot"]) == n_shots
    assert counts(levels["scene"]) == {m: -(-n // WINDOW) for m, n in n_shots.items()}
    # times and shot ranges are those of ingestion, items numbered 0..n-1 in every movie
    key = ["movie_id", "shot_index"]
    want = shots.sort_by([(k, "ascending") for k in key])
    got = levels["shot"].sort_by([("movie_id", "ascending"), ("item_index", "ascending")])
    assert got["item_index"].to_pylist() == want["shot_index"].to_pylist()
    assert got["start_time"].to_pylist() == want["start_time"].to_pylist()
    assert got["end_shot"].to_pylist() == [s + 1 for s in want["shot_index"].to_pylist()]
    scenes = levels["scene"].to_pylist()
    assert all(r["end_shot"] - r["start_shot"] <= WINDOW for r in scenes)
    assert all(r["start_shot"] == r["item_index"] * WINDOW for r in scenes)
    ev = levels["event"].to_pylist()
    assert all(r["start_shot"] is None and r["end_time"] - r["start_time"] == 2.0 for r in ev)
    info = read_info(store)
    dims = {level: to_numpy_embeddings(levels[level]["embedding"]).shape[1] for level in LEVELS}
    assert dims == {"event": 256, "shot": 16, "scene": 24}
    assert {level: info.levels[level].dim for level in LEVELS} == dims
    assert set(levels["scene"]["checkpoint_id"].to_pylist()) == {info.levels["scene"].checkpoint_id}


def test_embeddings_equal_the_encoders_called_directly(
    store: Path, ckpts: dict[str, Path], tiny_corpus: Path
) -> None:
    events = read_level(store, "event", movie_ids=["m0001"]).to_pylist()
    row = events[3]
    backbone = load_pretrained(ckpts["bb"])
    with open_video(tiny_corpus / "movies" / "m0001.mp4") as reader:
        start = centered_start(row["start_time"], row["end_time"], 4 * 2 / reader.info.fps)
        clip = torch.from_numpy(np.asarray(reader.read_clip(start, 4, 2)))
    with torch.no_grad():
        want = backbone(eval_transform(clip, 32)[None]).numpy()[0]
    np.testing.assert_allclose(row["embedding"], want, rtol=1e-4, atol=1e-5)

    def images(shots: list[int], movie: str) -> torch.Tensor:
        frames = []
        for s in shots:
            path = store / "keyframes" / movie / f"shot_{s:04d}_img_1.jpg"
            frames.append(np.asarray(Image.open(path).convert("RGB")))
        return to_model_input(np.stack(frames), (32, 32), mean=CLIP_MEAN, std=CLIP_STD)

    shot = read_level(store, "shot", movie_ids=["m0002"]).to_pylist()[1]
    assert shot["keyframe"] == "keyframes/m0002/shot_0001_img_1.jpg"
    assert (store / shot["keyframe"]).is_file()
    with torch.no_grad():
        want = load_pretrained(ckpts["shot"])(images([1], "m0002")).numpy()[0]
    np.testing.assert_allclose(shot["embedding"], want, rtol=1e-4, atol=1e-5)

    scene = read_level(store, "scene", movie_ids=["m0002"]).to_pylist()[0]
    shots = list(range(scene["start_shot"], scene["end_shot"]))
    assert len(shots) == WINDOW
    with torch.no_grad():
        want = load_pretrained(ckpts["scene"])(images(shots, "m0002")[None]).numpy()[0]
    np.testing.assert_allclose(scene["embedding"], want, rtol=1e-4, atol=1e-5)


def test_embed_video_and_the_contextualizer(
    store: Path, ckpts: dict[str, Path], tiny_corpus: Path
) -> None:
    video = tiny_corpus / "movies" / "m0003.mp4"
    scenes = embed_video(
        video, level="scene", encoder=ckpts["scene"], shots_per_scene=WINDOW,
        detector="scenedetect", device="cpu",
    )  # fmt: skip
    stored = read_level(store, "scene", movie_ids=["m0003"])
    assert scenes.drop_columns(["keyframe"]).equals(stored.drop_columns(["keyframe"]))
    assert scenes["keyframe"].null_count == scenes.num_rows

    plain = embed_video(video, level="event", encoder=ckpts["bb"], device="cpu")
    context = embed_video(
        video, level="event", encoder=ckpts["bb"], contextualizer=ckpts["txe"], device="cpu"
    )
    assert context["encoder"][0].as_py() == "slow_d+txe"
    assert "+" in context["checkpoint_id"][0].as_py()
    v = torch.from_numpy(to_numpy_embeddings(plain["embedding"]).copy())  # (N, 256)
    c = to_numpy_embeddings(context["embedding"])
    txe = load_pretrained(ckpts["txe"])
    n = len(v)
    for i in (0, 1, 7, n - 1):  # TxE output at the event's place in its centred 5-event window
        start = min(max(i - 2, 0), n - 5)
        with torch.no_grad():
            want = txe(v[start : start + 5][None])[0, i - start].numpy()
        np.testing.assert_allclose(c[i], want, rtol=1e-4, atol=1e-5)


def test_verify_resume_and_a_failing_movie(
    store: Path,
    ckpts: dict[str, Path],
    tiny_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    check = verify(store)
    assert check.ok and check.expected == ["m0000", "m0001", "m0002", "m0003"], check.lines()
    assert check.rows["scene"] == read_level(store, "scene").num_rows

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("recomputed a finished movie")

    monkeypatch.setattr(embed, "embed_level", boom)
    again = embed_catalog([tiny_corpus], store, LEVELS, **embed_kwargs(ckpts))  # type: ignore[arg-type]
    assert (again.done, len(again.skipped)) == ([], 4)
    monkeypatch.undo()

    folder = tmp_path / "movies"
    folder.mkdir()
    shutil.copy(tiny_corpus / "movies" / "m0000.mp4", folder / "good.mp4")
    (folder / "bad.mp4").write_bytes(b"not a video")
    out = tmp_path / "store"
    report = embed_catalog([folder], out, ["shot"], **embed_kwargs(ckpts))  # type: ignore[arg-type]
    assert (report.done, [f[0] for f in report.failed], report.exit_status()) == (
        ["good"], ["bad"], 1,
    )  # fmt: skip
    failures = read_table(out / "failures.parquet")
    assert failures["path"].to_pylist() == [str((folder / "bad.mp4").resolve())]
    assert read_failures(out).equals(failures)
    check = verify(out)
    assert check.ok and check.failed == ["bad"] and check.rows == {"shot": counts(
        read_level(out, "shot"))["good"]}  # fmt: skip
    assert not list((out / "work").iterdir())

    # a duplicated row and a misplaced file are what verify exists to catch
    good = movie_file(out, "shot", "good")
    table = read_table(good)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), good)
    stray = out / "shot" / "bucket=zz" / "good.parquet"
    stray.parent.mkdir()
    shutil.copy(good, stray)
    check = verify(out)
    assert not check.ok
    assert ("good", "shot", 0) in check.duplicate_rows
    assert any("misplaced" in line for line in check.bad_files)
    # ... and what `movierep verify` prints, with exit status 1
    assert main(["verify", str(store)]) == 0
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    assert f"{store}: ok: 4 movies (0 failed)" in printed
    assert f"{out}: PROBLEMS" in printed and "duplicate row 'good' shot 0" in printed


def test_shards_split_the_movies_and_together_make_the_store(
    store: Path, ckpts: dict[str, Path], tiny_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sharded"
    done = [
        embed_catalog([tiny_corpus], out, ["shot"], shard=(i, 2), **embed_kwargs(ckpts)).done  # type: ignore[arg-type]
        for i in range(2)
    ]
    assert done == [["m0000", "m0002"], ["m0001", "m0003"]]
    assert verify(out).ok
    assert read_level(out, "shot").equals(read_level(store, "shot"))


def test_kill_minus_9_loses_nothing_and_doubles_nothing(
    store: Path, ckpts: dict[str, Path], tiny_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    argv = ["embed", str(tiny_corpus), "--levels", "event,shot,scene", "--out", str(out),
            *embed_args(ckpts)]  # fmt: skip
    # same thread count as this process, so both compute bit-identical embeddings
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "movierep", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("*/bucket=*/*.parquet")):
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert time.monotonic() < deadline, "no level file appeared"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    written = len(list(out.glob("*/bucket=*/*.parquet")))
    assert 1 <= written < 12  # killed mid-run: some movie files, not all 4 x 3
    assert main(argv) == 0  # the rerun finishes

    check = verify(out)
    assert check.ok, check.lines()
    for level in LEVELS:
        assert read_level(out, level).equals(read_level(store, level)), level
        assert len(level_files(out, level)) == 4
    assert not list(out.rglob("*.tmp")) and not list((out / "work").iterdir())
    assert sorted(p.name for p in (out / "keyframes").iterdir()) == sorted(
        p.name for p in (store / "keyframes").iterdir()
    )


def test_search_from_the_command_line(
    store: Path, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(store), "--level", "scene"]) == 0
    assert "flat" in capsys.readouterr().out
    assert main(["search", str(store), "--level", "scene", "--scene", "m0001:1", "-k", "3",
                 "--json"]) == 0  # fmt: skip
    found = json.loads(capsys.readouterr().out)
    assert found["query"]["movie_id"] == "m0001" and len(found["results"]) == 3
    assert all(r["movie_id"] != "m0001" for r in found["results"])
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)

    # a moment of a video, embedded with the encoder store.json records: the stored row
    row = read_level(store, "scene", movie_ids=["m0001"]).to_pylist()[1]
    at = (row["start_time"] + row["end_time"]) / 2
    query = embed_at(store, "scene", tiny_corpus / "movies" / "m0001.mp4", at, device="cpu")
    np.testing.assert_array_equal(query["embedding"][0].as_py(), row["embedding"])
    video = tiny_corpus / "movies" / "m0001.mp4"
    assert main(["search", str(store), "--video", str(video), "--at", str(at), "-k", "3",
                 "--json", "--device", "cpu"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["results"] == found["results"]
    assert main(["search", str(store), "--scene", "m0001:1", "-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["rank", "score", "movie_id"] and len(lines) == 4


@pytest.mark.parametrize("command", ["embed", "index", "search"])
def test_help_ends_with_a_runnable_example(command: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and f"\n  movierep {command} " in out


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("movierep: error:"), lines
    return lines[0]


@pytest.mark.parametrize(
    "case", ["no_store_json", "unknown_level", "txe_dimension", "missing_encoder", "engine",
             "other_encoder", "no_index", "bad_item"],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    case: str,
    store: Path,
    ckpts: dict[str, Path],
    tiny_corpus: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = str(tiny_corpus / "movies" / "m0000.mp4")
    argv, needle = {
        "no_store_json": (["index", str(tmp_path)], "store.json"),
        "unknown_level": (["index", str(store), "--level", "act"], "'act'"),
        "txe_dimension": (
            [
                "embed",
                video,
                "--levels",
                "event",
                "--out",
                str(tmp_path / "s"),
                "--backbone",
                str(ckpts["bb"]),
                "--contextualizer",
                str(ckpts["txe12"]),
            ],
            "D=12",
        ),
        "missing_encoder": (
            ["embed", video, "--levels", "scene", "--out", str(tmp_path / "s")],
            "--scene-encoder",
        ),
        "engine": (["embed", video, "--out", str(tmp_path / "s"), "--engine", "spark"], "'spark'"),
        "other_encoder": (
            [
                "embed",
                video,
                "--levels",
                "shot",
                "--out",
                str(store),
                "--shot-encoder",
                str(ckpts["scene"]),
                "--detector",
                "scenedetect",
            ],
            "use a new store",
        ),
        "no_index": (["search", str(store), "--level", "event", "--scene", "m0000:0"], "index"),
        "bad_item": (["search", str(store), "--scene", "m0000:999"], "m0000"),
    }[case]
    if case == "bad_item":
        assert main(["index", str(store)]) == 0
        capsys.readouterr()
    assert main(argv) == 2
    assert needle in one_error_line(capsys)


def test_wrong_query_dimension_is_a_user_error(store: Path) -> None:
    from movierep.store.index import build_index, search

    build_index(store, "shot")
    with pytest.raises(UserError, match="D=5, the shot index has D=16"):
        search(store, np.zeros((1, 5), np.float32), level="shot")


def test_a_shots_folder_is_reused_instead_of_detecting_again(
    tiny_corpus: Path, ckpts: dict[str, Path], tmp_path: Path
) -> None:
    from movierep.errors import UserError

    _, shots = ingest_shots(
        [tiny_corpus], tmp_path / "shots", keyframes=True, detector="scenedetect",
        show_progress=False,
    )  # fmt: skip
    assert shots is not None
    table = pq.read_table(tmp_path / "shots" / "shots.parquet")
    first = table.column("movie_id")[0].as_py()
    # drop one shot boundary of one movie: the store must show the folder's shots, not new ones
    rows = [r for r in table.to_pylist() if not (r["movie_id"] == first and r["shot_index"] == 1)]
    for r in rows:
        if r["movie_id"] == first and r["shot_index"] == 0:
            r["end_frame"] = next(x["end_frame"] for x in table.to_pylist()
                                  if x["movie_id"] == first and x["shot_index"] == 1)  # fmt: skip
        if r["movie_id"] == first and r["shot_index"] > 1:
            r["shot_index"] -= 1
    pq.write_table(
        pa.Table.from_pylist(rows, schema=table.schema), tmp_path / "shots" / "shots.parquet"
    )
    out = tmp_path / "store"
    kwargs = embed_kwargs(ckpts)
    report = embed_catalog([tiny_corpus], out, ["shot"], shots=tmp_path / "shots", **kwargs)  # type: ignore[arg-type]
    assert not report.failed
    stored = counts(read_level(out, "shot"))
    assert stored == counts(pa.Table.from_pylist(rows, schema=table.schema))
    assert stored[first] == counts(table)[first] - 1
    with pytest.raises(UserError, match="not of 'transnetv2'"):
        embed_catalog([tiny_corpus], tmp_path / "other", ["shot"], shots=tmp_path / "shots",
                      **{**kwargs, "detector": "transnetv2"})  # type: ignore[arg-type]  # fmt: skip


def test_a_store_json_from_before_the_rename_reads_its_scene_length(tmp_path: Path) -> None:
    info = {
        "format": FORMAT,
        "version": VERSION,
        "detector": "scenedetect",
        "levels": {
            "scene": {"encoder": "vit", "checkpoint": "runs/scenes/last",
                      "checkpoint_id": "0" * 16, "dim": 8, "scene_window": 4},
        },
    }  # fmt: skip
    (tmp_path / "store.json").write_text(json.dumps(info))
    assert read_info(tmp_path).levels["scene"].shots_per_scene == 4
