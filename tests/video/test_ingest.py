from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from movierep.cli import main
from movierep.errors import UserError
from movierep.video.ingest import resolve_videos


@pytest.fixture
def movie_folder(tmp_path, hard_cut_clip):
    folder = tmp_path / "movies"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(hard_cut_clip[0], folder / "a.mp4")
    shutil.copy(hard_cut_clip[0], folder / "sub" / "b.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_resolve_folders_lists_and_catalogs(movie_folder, tmp_path):
    assert [j.id for j in resolve_videos([movie_folder])] == ["a", "broken", "b"]
    listing = tmp_path / "list.txt"
    listing.write_text("# my movies\nmovies/a.mp4\n\nmovies/sub/b.mp4  # second\n")
    assert [j.path for j in resolve_videos([listing])] == [
        (movie_folder / "a.mp4").resolve(),
        (movie_folder / "sub" / "b.mp4").resolve(),
    ]
    catalog = tmp_path / "catalog.parquet"
    pq.write_table(pa.table({"movie_id": ["x1"], "path": ["movies/a.mp4"]}), catalog)
    (job,) = resolve_videos([tmp_path])  # a corpus folder: its catalog wins
    assert (job.id, job.path) == ("x1", (movie_folder / "a.mp4").resolve())
    with pytest.raises(UserError, match="no such file"):
        resolve_videos([tmp_path / "missing.mp4"])
    shutil.copy(movie_folder / "a.mp4", tmp_path / "a.mp4")
    with pytest.raises(UserError, match="movie id 'a'"):
        resolve_videos([movie_folder / "a.mp4", tmp_path / "a.mp4"])


def test_shots_command_records_failures_resumes_and_merges_shards(movie_folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "ingest",
        "shots",
        str(movie_folder),
        "--out",
        str(out),
        "--detector",
        "scenedetect",
        "--quiet",
    ]
    assert main([*args, "--shard", "0/2"]) == 0
    assert not (out / "shots.parquet").exists()  # shard 1/2 not done yet
    assert main([*args, "--shard", "1/2"]) == 2  # its only video is broken: all inputs failed
    shots = pq.read_table(out / "shots.parquet").to_pydict()
    assert sorted(set(shots["movie_id"])) == ["a", "b"]
    assert shots["start_frame"][:3] == [0, 40, 75]
    failures = pq.read_table(out / "failures.parquet").to_pylist()
    assert [(f["path"].endswith("broken.mp4"), f["stage"]) for f in failures] == [(True, "shots")]
    assert "broken.mp4" in failures[0]["message"]
    keyframes = pq.read_table(out / "keyframes.parquet").to_pydict()
    assert len(keyframes["path"]) == 3 * len(shots["movie_id"])
    assert all((out / p).is_file() for p in keyframes["path"])
    capsys.readouterr()
    assert main(args) == 1  # a rerun redoes nothing that finished; some inputs failed
    assert "0 done, 2 already done, 1 failed" in capsys.readouterr().err


def test_exit_status_when_every_input_fails(tmp_path, capsys):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["ingest", "shots", str(empty), "--out", str(tmp_path / "s"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "0 done, 0 already done, 1 failed" in err and "empty.mp4" in err
    assert main(["ingest", "events", str(empty), "--out", str(tmp_path / "e"), "--quiet"]) == 2


def test_events_command(movie_folder, tmp_path):
    out = tmp_path / "events"
    (movie_folder / "broken.mp4").unlink()
    assert (
        main(["ingest", "events", str(movie_folder), "--out", str(out), "--stride", "1", "--quiet"])
        == 0
    )
    events = pq.read_table(out / "events.parquet").to_pydict()
    assert events["movie_id"] == ["a"] * 4 + ["b"] * 4
    assert events["start_time"][:4] == [0.0, 1.0, 2.0, 3.0]
    assert pq.read_table(out / "failures.parquet").num_rows == 0


def test_bad_shard_is_a_user_error(movie_folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "events", str(movie_folder), "--out", str(tmp_path), "--shard", "3/2"])
    assert "--shard" in capsys.readouterr().err


def test_partial_keeps_the_shots_of_a_truncated_video_and_records_it(
    movie_folder, tmp_path, capsys
):
    (movie_folder / "broken.mp4").unlink()
    data = (movie_folder / "a.mp4").read_bytes()
    (movie_folder / "a.mp4").write_bytes(data[: len(data) * 7 // 10])
    out = tmp_path / "out"
    args = ["ingest", "shots", str(movie_folder), "--out", str(out), "--detector", "scenedetect"]
    args += ["--quiet", "--no-keyframes"]
    assert main(args) == 1  # without --partial: a failure (exit 1: b finished), no shots
    assert pq.read_table(out / "failures.parquet").column("outcome").to_pylist() == ["failed"]
    assert main([*args, "--partial"]) == 0  # the rerun retries the failed video
    shots = pq.read_table(out / "shots.parquet").to_pydict()
    a_ends = [e for m, e in zip(shots["movie_id"], shots["end_frame"], strict=True) if m == "a"]
    assert 40 < a_ends[-1] < 125  # the frames before the damage
    (failure,) = pq.read_table(out / "failures.parquet").to_pylist()
    assert failure["outcome"] == "partial" and failure["error_type"] == "DecodeError"
    assert "a.mp4" in failure["message"] and "decoding failed at" in failure["message"]
    assert "partial a: DecodeError" in capsys.readouterr().err
    args.remove("--no-keyframes")  # a rerun with keyframes adds those of finished videos
    assert main([*args, "--partial"]) == 0
    keyframes = pq.read_table(out / "keyframes.parquet").to_pydict()
    assert sorted(set(keyframes["movie_id"])) == ["a", "b"]
    assert len(keyframes["path"]) == 3 * len(shots["movie_id"])
    assert all((out / p).is_file() for p in keyframes["path"])
