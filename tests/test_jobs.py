from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from movierep.errors import UserError
from movierep.jobs import (
    Job,
    Partial,
    merge_parts,
    parse_shard,
    part_key,
    parts_dir,
    run_and_merge,
    run_jobs,
    stream_parts,
)


def make_jobs(n: int) -> list[Job]:
    return [Job(id=f"m{i}", path=Path(f"/videos/m{i}.mp4")) for i in range(n)]


class Work:
    """Returns a one-row table per job and fails on the ids in ``bad``; counts calls."""

    def __init__(self, bad: set[str] = frozenset()) -> None:
        self.bad, self.calls = set(bad), []

    def __call__(self, job: Job) -> pa.Table:
        self.calls.append(job.id)
        if job.id in self.bad:
            raise ValueError("broken stream")
        return pa.table({"movie_id": [job.id], "value": [len(job.id)]})


def test_failures_are_recorded_and_the_run_goes_on(tmp_path):
    work = Work(bad={"m1"})
    report = run_jobs(make_jobs(4), work, tmp_path, "shots", show_progress=False)
    assert report.done == ["m0", "m2", "m3"]
    assert report.failed == [
        ("m1", "/videos/m1.mp4", "ValueError", "/videos/m1.mp4: broken stream")
    ]
    merged = merge_parts(tmp_path, "shots", [j.id for j in make_jobs(4)])
    assert merged.column("movie_id").to_pylist() == ["m0", "m2", "m3"]
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    assert failures == [
        {
            "path": "/videos/m1.mp4",
            "stage": "shots",
            "error_type": "ValueError",
            "message": "/videos/m1.mp4: broken stream",
            "outcome": "failed",
        }
    ]


def test_a_partial_result_is_kept_and_listed_with_the_failures(tmp_path):
    def work(job: Job) -> pa.Table | Partial:
        table = pa.table({"movie_id": [job.id], "value": [1]})
        return Partial(table, ValueError("decoding failed at 3.00 s")) if job.id == "m1" else table

    jobs = make_jobs(3)
    report = run_jobs(jobs, work, tmp_path, "shots", show_progress=False)
    assert report.done == ["m0", "m1", "m2"]
    assert report.partial == [
        ("m1", "/videos/m1.mp4", "ValueError", "/videos/m1.mp4: decoding failed at 3.00 s")
    ]
    assert "3 done (1 partial)" in report.summary()
    merged = merge_parts(tmp_path, "shots", [j.id for j in jobs])
    assert merged.column("movie_id").to_pylist() == ["m0", "m1", "m2"]
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    assert [(f["path"], f["outcome"]) for f in failures] == [("/videos/m1.mp4", "partial")]
    rerun = run_jobs(jobs, work, tmp_path, "shots", show_progress=False)
    assert rerun.skipped == ["m0", "m1", "m2"]  # finished, partial or not
    merge_parts(tmp_path, "shots", [j.id for j in jobs])
    assert pq.read_table(tmp_path / "failures.parquet").num_rows == 1  # still recorded


def test_parts_stream_through_a_writer_one_at_a_time(tmp_path):
    jobs = make_jobs(4)
    run_jobs(jobs, Work(bad={"m2"}), tmp_path, "feats", show_progress=False)
    seen: list[list[str]] = []

    def write(path, schema, parts):
        with pq.ParquetWriter(path, schema) as writer:
            for part in parts:  # one job's table at a time, in job order
                seen.append(part.column("movie_id").to_pylist())
                writer.write_table(part, row_group_size=part.num_rows)

    schema = pa.schema([("movie_id", pa.string()), ("value", pa.int64())])
    path = stream_parts(tmp_path, "feats", [j.id for j in jobs], write, schema)
    assert path == tmp_path / "feats.parquet" and seen == [["m0"], ["m1"], ["m3"]]
    assert pq.ParquetFile(path).metadata.num_row_groups == 3  # the writer's layout, kept
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    assert [(f["path"], f["outcome"]) for f in failures] == [("/videos/m2.mp4", "failed")]
    with pytest.raises(UserError, match="1 of 5 jobs have no result yet"):
        stream_parts(tmp_path, "feats", [j.id for j in make_jobs(5)], write, schema)


def test_rerun_skips_finished_jobs_and_retries_failed_ones(tmp_path):
    jobs = make_jobs(3)
    run_jobs(jobs, Work(bad={"m1"}), tmp_path, "shots", show_progress=False)
    work = Work()
    report = run_jobs(jobs, work, tmp_path, "shots", show_progress=False)
    assert work.calls == ["m1"] and report.skipped == ["m0", "m2"] and report.done == ["m1"]
    merge_parts(tmp_path, "shots", [j.id for j in jobs])
    assert pq.read_table(tmp_path / "failures.parquet").num_rows == 0


def test_shards_split_the_work_and_the_last_one_merges(tmp_path):
    jobs, work = make_jobs(7), Work()
    outputs = [
        run_and_merge(jobs, work, tmp_path, "events", shard=(i, 3), show_progress=False)
        for i in range(3)
    ]
    assert sorted(work.calls) == sorted(j.id for j in jobs)  # each job exactly once
    assert [len(report.done) for report, _ in outputs] == [3, 2, 2]
    assert outputs[0][1] is None and outputs[1][1] is None
    merged = outputs[2][1]
    assert merged is not None and merged.column("movie_id").to_pylist() == [j.id for j in jobs]
    assert pq.read_table(tmp_path / "events.parquet").num_rows == 7


def test_torchrun_rank_and_world_size_pick_the_shard(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    report = run_jobs(make_jobs(4), Work(), tmp_path, "shots", show_progress=False)
    assert report.shard == (1, 2) and report.done == ["m1", "m3"]


def test_merge_refuses_missing_and_misattributed_results(tmp_path):
    jobs = make_jobs(3)
    run_jobs(jobs[:2], Work(), tmp_path, "shots", show_progress=False)
    with pytest.raises(UserError, match="1 of 3 jobs have no result yet"):
        merge_parts(tmp_path, "shots", [j.id for j in jobs])
    pq.write_table(
        pa.table({"movie_id": ["m0"], "value": [1]}), parts_dir(tmp_path, "shots") / "m1.parquet"
    )
    with pytest.raises(UserError, match="m0"):
        merge_parts(tmp_path, "shots", ["m0", "m1"])


def test_duplicate_ids_and_unsafe_names(tmp_path):
    jobs = [Job("a", Path("a.mp4")), Job("a", Path("b.mp4"))]
    with pytest.raises(UserError, match="appears twice"):
        run_jobs(jobs, Work(), tmp_path, "shots", show_progress=False)
    assert part_key("m0001") == "m0001"
    key = part_key("show/ep 1")
    assert "/" not in key and " " not in key and key != part_key("show_ep_1")


@pytest.mark.parametrize("text", ["2/2", "a/b", "1", "-1/3"])
def test_parse_shard_rejects_bad_values(text):
    with pytest.raises(UserError, match="--shard"):
        parse_shard(text)
    assert parse_shard("1/4") == (1, 4)
