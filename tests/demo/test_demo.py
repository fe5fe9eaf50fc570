"""``movierep demo --preset tiny`` end to end: every table finite, every plot an image, and
a second run with the same seed reporting the very same numbers."""

from __future__ import annotations

import base64
import errno
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from movierep.cli import main
from movierep.demo.pipeline import Pipeline, StageError

#: Every table the report must hold without ``--ablations``.
TABLES = {
    "hier_table1", "hier_table3", "hier_table4", "hier_table5",
    "m2s_table2", "m2s_table3", "m2s_table4", "m2s_table5", "m2s_table6",
    "diag_shots", "diag_maskpred",
}  # fmt: skip
FIGURES = {"losses", "map_fixed", "map_cowatch", "retrievals", "timeline"}
#: Facts that time or measure the machine's load: the only numbers two runs may differ in.
TIMING_FACTS = {"stage time", "peak memory", "stages"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--preset", "tiny", "--out", str(out)]) == 0
    return out


def _tables(report: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {t["key"]: t for s in report["sections"] for t in s["tables"]}


def test_the_report_holds_every_table_with_finite_numbers(demo: Path) -> None:
    report = json.loads((demo / "report.json").read_text())
    tables = _tables(report)
    assert set(tables) == TABLES | {"pretraining_losses", "shot_adjacency_heldout"}
    for key, table in tables.items():
        cells = [c for row in table["rows"] for c in row["cells"].values() if c is not None]
        assert cells, key
        for cell in cells:
            assert cell["mean"] is not None and abs(cell["mean"]) < 1e6, (key, cell)
    # the papers' reference columns sit beside this run's numbers
    t1 = {r["name"]: r for r in tables["hier_table1"]["rows"]}
    assert t1["Slow-D+TxE+TxD, CVRL, MaskPred"]["reference"]["CIDEr"] == "61.18 ± 1.48"
    # five rows of VidSitu roles, seeded runs with a standard error
    assert len(t1) == 5
    assert t1["Slow-D+TxD, Sup"]["cells"]["CIDEr"]["se"] is not None
    # Table 5's ranks are ranks of 6 rows over 9 tasks
    for row in tables["hier_table5"]["rows"]:
        assert 1.0 <= row["cells"]["mean rank"]["mean"] <= 6.0
        assert 0 <= row["cells"]["#top-1"]["mean"] <= 9
    # every task ranks at least one row first (ties share the rank)
    assert sum(r["cells"]["#top-1"]["mean"] for r in tables["hier_table5"]["rows"]) >= 9


def test_results_carry_n_and_spread_and_place_retrieval_its_standard_error(demo: Path) -> None:
    for path in (demo / "results").glob("*.json"):
        assert "NaN" not in path.read_text(), path.name
    rows = json.loads((demo / "results" / "m2s_table2.json").read_text())["rows"]
    fixed = rows["E_fixed (CLIP's role) | all"]["P@1"]
    assert fixed["n"] >= 2 and fixed["spread"] == f"queries ({fixed['n']})"
    assert fixed["se"] is not None
    # the tiny preset trains two co-watch scene encoders: their spread adds to the queries'
    p1 = rows["E_scene (cowatch) | all"]["P@1"]
    assert p1["n"] == 2 and p1["spread"].startswith("pretraining seeds (2) + queries (")
    assert p1["se"] is not None
    losses = _tables(json.loads((demo / "report.json").read_text()))["pretraining_losses"]
    names = {r["name"] for r in losses["rows"]}
    assert {"Slow-D CVRL", "TxE mask prediction (CVRL)", "scene MoCo (cowatch)"} <= names


def test_every_finding_of_the_spec_gets_a_verdict(demo: Path) -> None:
    findings = json.loads((demo / "report.json").read_text())["findings"]
    papers = {f["paper"] for f in findings}
    assert papers == {"Hierarchical SSL", "Movies2Scenes"}
    claims = " ".join(f["claim"] for f in findings)
    for words in ("from scratch", "mask prediction", "supervised", "L2", "CLIP", "co-watch"):
        assert words in claims
    for f in findings:
        assert f["verdict"] in ("reproduced", "not reproduced", "contradicted", "inconclusive")
        assert f["evidence"]


def test_the_html_is_self_contained_and_every_plot_decodes(demo: Path) -> None:
    html = (demo / "report.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == len(FIGURES)
    for payload in images:
        image = Image.open(io.BytesIO(base64.b64decode(payload)))
        image.verify()
        assert image.size[0] > 200 and image.size[1] > 100
    md = (demo / "report.md").read_text()
    assert md.count("| Slow-D+TxE+TxD, CVRL, MaskPred |") == 1
    for key in FIGURES:
        assert (demo / "figures" / f"{key}.png").is_file()


def _numbers(report: dict) -> dict:  # type: ignore[type-arg]
    facts = {k: v for k, v in report["facts"].items() if k not in TIMING_FACTS}
    return {**report, "facts": facts}


def test_a_second_run_with_the_same_seed_reports_the_same_numbers(
    demo: Path, tmp_path: Path
) -> None:
    """Every number of report.json but the timings, from a fresh process and folder.

    The second run is another process with another string-hash seed, so nothing may hang
    on the order of a set or on anything else a process picks for itself.
    """
    first = json.loads((demo / "report.json").read_text())
    again = tmp_path / "again"
    cmd = [sys.executable, "-m", "movierep", "demo", "--preset", "tiny", "--out", str(again)]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    second = json.loads((again / "report.json").read_text())
    assert set(first["facts"]) - set(_numbers(first)["facts"]) == TIMING_FACTS
    for key in first:
        assert _numbers(second)[key] == _numbers(first)[key], key


def test_a_rerun_skips_every_finished_stage(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--preset", "tiny", "--out", str(demo)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[demo")]
    skipped = [line for line in lines if "skipped" in line]
    assert len(skipped) == len(list((demo / ".stages").glob("*.json"))) - 1
    assert any(" report" in line and "skipped" not in line for line in lines)


def test_an_unwritable_output_folder_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--preset", "tiny", "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not writable" in err[0] and str(blocker) in err[0]


def test_a_failing_stage_names_itself_and_a_rerun_continues(tmp_path: Path) -> None:
    ran: list[str] = []

    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.parquet"))

    pipe = Pipeline(tmp_path, ["a", "b"], log=lambda _: None)
    pipe.stage("a", lambda: ran.append("a"))
    with pytest.raises(StageError, match=r"^stage b: the disk is full \(.*x\.parquet\)"):
        pipe.stage("b", full_disk)
    assert (tmp_path / "logs" / "b.log").is_file()
    again = Pipeline(tmp_path, ["a", "b"], log=lambda _: None)
    again.stage("a", lambda: ran.append("a again"))
    again.stage("b", lambda: ran.append("b"))
    assert ran == ["a", "b"]
    with pytest.raises(StageError, match=r"^stage c: ValueError: bad annotation"):
        Pipeline(tmp_path, ["c"], log=lambda _: None).stage(
            "c", lambda: (_ for _ in ()).throw(ValueError("bad annotation\nmore"))
        )
