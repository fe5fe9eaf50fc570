"""``movierep eval lvu | place-retrieval | movienet-* | moderation`` on the tiny corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from movierep.cli import main
from movierep.data.benchmarks.lvu import LVU_TASKS, load_lvu_task
from movierep.data.benchmarks.movienet import load_movienet_movie, load_split318
from movierep.data.corpus import Corpus
from movierep.tables import embedding_array, write_table


def lvu_table(root: Path, path: Path, drop: str | None = None) -> Path:
    """Random features, 3 rows per LVU video of the export (one video left out by ``drop``)."""
    ids = sorted(
        {
            i.video_id
            for t in LVU_TASKS
            for s in ("train", "val", "test")
            for i in _items(root, t, s)
        }
    )
    ids = [v for v in ids if v != drop]
    rng = np.random.default_rng(0)
    rows = [v for v in ids for _ in range(3)]
    return write_table(
        path,
        pa.table(
            {
                "movie_id": rows,
                "feature": embedding_array(rng.normal(size=(len(rows), 8)).astype(np.float32)),
            }
        ),
    )


def _items(root: Path, task: str, split: str) -> list:  # type: ignore[type-arg]
    try:
        return load_lvu_task(root, task, split)
    except Exception:  # a split the export does not write
        return []


def shot_table(movienet: Path, path: Path) -> Path:
    movies, shots = [], []
    for imdb in load_split318(movienet)["all"]:
        n = len(load_movienet_movie(movienet, imdb).shots)
        movies += [imdb] * n
        shots += list(range(n))
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(len(movies), 8)).astype(np.float32)
    return write_table(
        path,
        pa.table(
            {
                "movie_id": movies,
                "shot_index": pa.array(shots, pa.int32()),
                "feature": embedding_array(feats),
            }
        ),
    )


def with_a_shared_place(movienet: Path, out: Path) -> Path:
    """A copy of the export whose test split also scores a training movie.

    The tiny corpus' four movies need not share a place class (mAP would be undefined);
    this test is about the CLI's output, not about generalisation.
    """
    shutil.copytree(movienet, out)
    path = out / "scene318" / "meta" / "split318.json"
    split = json.loads(path.read_text())
    split["test"] = [*split["test"], split["train"][0]]
    path.write_text(json.dumps(split))
    return out


def timed_table(corpus: Path, path: Path) -> Path:
    catalog = Corpus(corpus).catalog.to_pylist()
    rows = [(m["movie_id"], t) for m in catalog for t in np.arange(0, m["duration_s"], 2.0)]
    rng = np.random.default_rng(2)
    return write_table(
        path,
        pa.table({
            "movie_id": [m for m, _ in rows], "start_time": [float(t) for _, t in rows],
            "end_time": [float(t) + 2 for _, t in rows],
            "feature": embedding_array(rng.normal(size=(len(rows), 8)).astype(np.float32)),
        }),
    )  # fmt: skip


@pytest.mark.parametrize(
    "protocol", ["lvu", "place-retrieval", "movienet-places", "movienet-sbd", "moderation"]
)
def test_compare_prints_feature_sets_side_by_side_and_writes_json(
    protocol: str, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if protocol in ("lvu", "place-retrieval"):
        data = tiny_corpus / "lvu"
        a, b = lvu_table(data, tmp_path / "a.parquet"), lvu_table(data, tmp_path / "b.parquet")
    elif protocol.startswith("movienet"):
        data = tiny_corpus / "movienet"
        if protocol == "movienet-places":
            data = with_a_shared_place(data, tmp_path / "movienet")
        a, b = shot_table(data, tmp_path / "a.parquet"), shot_table(data, tmp_path / "b.parquet")
    else:
        data = tiny_corpus
        a, b = timed_table(data, tmp_path / "a.parquet"), timed_table(data, tmp_path / "b.parquet")
    argv = [
        "eval",
        protocol,
        "--data",
        str(data),
        "--row",
        f"A={a}",
        "--row",
        f"B={b}",
        "--out",
        str(tmp_path / "r.json"),
    ]
    if protocol != "place-retrieval":
        argv += ["--runs", "2"]
    if protocol in ("lvu", "movienet-places", "movienet-sbd"):
        argv += ["--profile", "cpu"]
    if protocol == "lvu":
        argv += ["--tasks", "scene", "view_count"]
    if protocol == "movienet-sbd":
        argv += ["--fps", "25"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "| | A | B |"
    result = json.loads((tmp_path / "r.json").read_text())
    assert list(result["results"]) == ["A", "B"]
    values = [v["mean"] for v in result["results"]["A"].values()]
    # a moderation class absent from the tiny corpus' held-out clips has no AP (null)
    finite = [v for v in values if v is not None]
    assert finite and all(np.isfinite(finite))
    if protocol == "moderation":
        assert result["results"]["A"]["AP mean"]["mean"] is not None
    assert result["results"]["A"] == result["results"]["B"]  # same features, same seeds


def test_a_feature_table_missing_a_video_is_one_line_and_exit_2(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny_corpus / "lvu"
    video = load_lvu_task(data, "scene", "train")[0].video_id
    table = lvu_table(data, tmp_path / "holes.parquet", drop=video)
    assert (
        main(
            [
                "eval",
                "lvu",
                "--data",
                str(data),
                "--row",
                str(table),
                "--profile",
                "cpu",
                "--tasks",
                "scene",
                "--runs",
                "1",
            ]
        )
        == 2
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "holes.parquet" in lines[0] and video in lines[0]


def test_another_embedding_column_is_read_with_a_hash(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from movierep.cli.evaluate_features import read_features
    from movierep.tables import read_table, to_numpy_embeddings

    data = tiny_corpus / "lvu"
    table = read_table(lvu_table(data, tmp_path / "base.parquet"))
    context = embedding_array(np.random.default_rng(5).normal(size=(len(table), 8)))
    path = write_table(tmp_path / "events.parquet", table.append_column("context_feature", context))
    read = read_features(f"{path}#context_feature")
    assert read.column_names == ["movie_id", "feature"]
    np.testing.assert_array_equal(
        to_numpy_embeddings(read.column("feature")), to_numpy_embeddings(context)
    )
    assert read_features(str(path)).column("feature").equals(table.column("feature"))
    argv = ["eval", "place-retrieval", "--data", str(data), "--row", f"{path}#nope"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "events.parquet" in err[0] and "nope" in err[0]


@pytest.mark.parametrize(
    ("protocol", "runner"),
    [("lvu", "run_lvu"), ("movienet-places", "run_place_tagging"), ("movienet-sbd", "run_sbd")],
)
def test_profile_picks_the_supplements_head(
    protocol: str, runner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--profile cpu`` hands the protocol our short head; the default is the supplement's."""
    from movierep.cli import evaluate_features
    from movierep.tasks.protocols.lvu import PROFILES
    from movierep.tasks.protocols.movienet import PLACE_PROFILES, SBD_PROFILES

    seen: list[object] = []

    def fake(*args: object, **kw: object) -> dict[str, object]:
        seen.append(kw.get("cfg", args[2] if len(args) > 2 else None))
        if runner == "run_lvu":
            return {"scene": {"metric": "top1", "summary": {"top1": (0.5, 0.1)}}}
        return {"summary": {"mAP": (0.5, 0.1)}}

    monkeypatch.setattr(evaluate_features, runner, fake)
    table = tmp_path / "f.parquet"
    table.write_bytes(b"")  # only its existence is checked before the (faked) protocol
    monkeypatch.setattr(evaluate_features, "read_features", lambda spec: None)
    for profile in ("cpu", None):
        argv = ["eval", protocol, "--data", str(tmp_path), "--row", str(table)]
        assert main(argv + (["--profile", profile] if profile else [])) == 0
    expected = {"lvu": PROFILES, "movienet-places": PLACE_PROFILES, "movienet-sbd": SBD_PROFILES}
    assert seen == [expected[protocol]["cpu"], expected[protocol]["paper"]]
