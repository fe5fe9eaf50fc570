"""benchmarks/corpus_headroom.py on the tiny corpus: report structure and majority baselines.

The majority values are recomputed here from the raw files (truth tables, LVU CSVs,
MovieNet label files, VidSitu JSON), without the script's helpers or the package readers.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

LVU = ("relationship", "way_speaking", "scene", "director", "writer", "year", "genre")
TASKS = {
    "event_verb",
    "event_place",
    "vidsitu_evrel",
    "movienet_boundary",
    *(f"lvu_{t}" for t in (*LVU, "like_ratio", "view_count")),
}


@pytest.fixture(scope="module")
def script(benchmark_module: Callable[[str], Any]) -> Iterator[ModuleType]:
    """The benchmark script as a module."""
    with benchmark_module("corpus_headroom") as module:
        yield module


def _majority(labels: list[Any]) -> Any:
    counts = Counter(labels)
    return min(k for k, n in counts.items() if n == max(counts.values()))


def _lvu_rows(corpus: Path, task: str, split: str) -> list[list[str]]:
    lines = (corpus / "lvu" / "lvu_1.0" / task / f"{split}.csv").read_text().splitlines()
    return [line.split() for line in lines[1:] if line.strip()]


@pytest.fixture(scope="module")
def report(
    script: ModuleType, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("headroom") / "headroom.json"
    returned: dict[str, Any] = script.main([str(tiny_corpus), "--out", str(out)])
    written: dict[str, Any] = json.loads(out.read_text())
    assert written == json.loads(json.dumps(returned))
    return written


def test_report_structure(report: dict[str, Any]) -> None:
    assert report["benchmark"] == "corpus_headroom"
    assert {"platform", "python", "cpus"} <= set(report["machine"])
    assert report["date"].endswith("Z")
    assert report["corpus"]["preset"] == "tiny"
    assert set(report["tasks"]) == TASKS
    for name, task in report["tasks"].items():
        assert task["supervised"] is None, name
        assert task["metrics"] and set(task["majority"]) == set(task["metrics"]), name
        assert task["num_train"] > 0 and task["num_test"] > 0, name
        if task["pixel_probe"] is not None:
            assert set(task["pixel_probe"]) == set(task["metrics"]), name
        for value in [*task["majority"].values(), *(task["pixel_probe"] or {}).values()]:
            assert value is None or value >= 0.0, name
    assert report["tasks"]["event_verb"]["metrics"] == ["Acc@1", "macro Acc"]
    assert report["tasks"]["lvu_view_count"]["lower_is_better"] is True
    assert report["tasks"]["event_verb"]["pixel_probe"] is not None


def test_markdown_table_has_a_row_per_metric(script: ModuleType, report: dict[str, Any]) -> None:
    table = script.markdown_table(report).splitlines()
    assert table[0] == "| task | metric | majority | raw-pixel probe | train / test |"
    rows = sum(len(t["metrics"]) for t in report["tasks"].values()) + 1  # + histogram row
    assert len(table) == 2 + rows
    assert all(line.count("|") == 6 for line in table)


def test_event_majority_is_the_train_majority_on_held_out_movies(
    report: dict[str, Any], tiny_corpus: Path
) -> None:
    catalog = pq.read_table(tiny_corpus / "catalog.parquet").to_pylist()
    train_movies = {r["movie_id"] for r in catalog if r["split"] == "train"}
    events = pq.read_table(tiny_corpus / "truth" / "events.parquet").to_pylist()
    train = [e for e in events if e["movie_id"] in train_movies]
    test = [e for e in events if e["movie_id"] not in train_movies]
    for column in ("verb", "place"):
        task = report["tasks"][f"event_{column}"]
        assert (task["num_train"], task["num_test"]) == (len(train), len(test))
        top = _majority([e[column] for e in train])
        hits = [e[column] == top for e in test]
        assert task["majority"]["Acc@1"] == pytest.approx(sum(hits) / len(test))
    classes = {e["verb"] for e in test}
    top = _majority([e["verb"] for e in train])
    macro = (1.0 if top in classes else 0.0) / len(classes)
    assert report["tasks"]["event_verb"]["majority"]["macro Acc"] == pytest.approx(macro)


def test_lvu_majority_and_constant_mse(report: dict[str, Any], tiny_corpus: Path) -> None:
    for task in LVU:
        train, test = _lvu_rows(tiny_corpus, task, "train"), _lvu_rows(tiny_corpus, task, "test")
        top = _majority([int(r[0]) for r in train])
        expected = sum(int(r[0]) == top for r in test) / len(test)
        assert report["tasks"][f"lvu_{task}"]["majority"]["Acc@1"] == pytest.approx(expected)
        assert report["tasks"][f"lvu_{task}"]["num_test"] == len(test)
    targets = {
        split: [math.log(int(r[0])) for r in _lvu_rows(tiny_corpus, "view_count", split)]
        for split in ("train", "test")
    }
    mean = sum(targets["train"]) / len(targets["train"])
    mse = sum((y - mean) ** 2 for y in targets["test"]) / len(targets["test"])
    assert report["tasks"]["lvu_view_count"]["majority"]["MSE"] == pytest.approx(mse)


def test_movienet_constant_ap_is_the_held_out_positive_rate(
    report: dict[str, Any], tiny_corpus: Path
) -> None:
    root = tiny_corpus / "movienet" / "scene318"
    split = json.loads((root / "meta" / "split318.json").read_text())
    labels = [
        int(line.split()[1])
        for imdb in split["val"] + split["test"]
        for line in (root / "label318" / f"{imdb}.txt").read_text().splitlines()
        if line.strip()
    ]
    task = report["tasks"]["movienet_boundary"]
    assert task["num_test"] == len(labels)
    assert task["majority"]["AP"] == pytest.approx(sum(labels) / len(labels))
    assert 0.0 <= task["histogram_ap"] <= 1.0


def test_evrel_majority_follows_the_annotator_majority_rule(
    report: dict[str, Any], tiny_corpus: Path
) -> None:
    ann = tiny_corpus / "vidsitu" / "vidsitu_annotations" / "vseg_ann_files"
    pairs = ("Ev1", "Ev2", "Ev4", "Ev5")
    train = json.loads((ann / "vsann_train_lb.json").read_text())
    top = _majority([rec[ev]["EvRel"] for rec in train for ev in pairs])
    by_clip: dict[str, list[dict[str, Any]]] = {}
    for rec in json.loads((ann / "vsann_valid_lb.json").read_text()):
        by_clip.setdefault(rec["Ev1"]["vid_seg_int"], []).append(rec)
    records: list[tuple[bool, str]] = []
    for recs in by_clip.values():
        for ev in pairs:
            gt = [r[ev]["EvRel"] for r in recs[:3]]
            label, n = Counter(gt).most_common(1)[0]
            if n >= 2:
                records += [(label == top, label) for g in gt if g == label]
    classes = {c for _, c in records}
    task = report["tasks"]["vidsitu_evrel"]
    assert task["num_train"] == 4 * len(train)
    assert task["majority"]["Top-1"] == pytest.approx(sum(ok for ok, _ in records) / len(records))
    assert task["majority"]["Macro Top-1"] == pytest.approx(
        (1.0 if top in classes else 0.0) / len(classes)
    )
