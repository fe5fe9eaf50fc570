"""The report's model and its HTML / Markdown / JSON renderings."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from movierep.report import (
    VERDICTS,
    Cell,
    Figure,
    Finding,
    Report,
    Row,
    Section,
    Table,
    render_html,
    render_markdown,
    report_json,
    write_report,
)

NAN = float("nan")


def _png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _table() -> Table:
    return Table(
        key="lvu",
        title="LVU classification",
        caption="top-1 accuracy (%) and EER, mean ± s.e. over 3 seeds",
        columns=("relationship", "speaking", "eer"),
        rows=(
            Row(
                "Slow-D <TxE>",
                {"relationship": Cell(57.46, 1.71), "speaking": Cell(40.0, 0.5), "eer": Cell(0.31)},
                reference={"relationship": "61.18 ± 1.48"},
                reference_name="Slow-D+TxE+TxD, CVRL-K400, MaskPred-LVU",
            ),
            Row(
                "baseline | mean",
                {"relationship": Cell(50.04), "speaking": None, "eer": Cell(0.27, 0.02)},
                reference={"relationship": "53.12"},
                note="one seed",
            ),
            Row("broken", {"relationship": Cell(NAN), "speaking": Cell(NAN), "eer": Cell(NAN)}),
        ),
        lower_is_better=frozenset({"eer"}),
    )


def _report() -> Report:
    return Report(
        title="movierep demo",
        intro="What ran.\n\nAnd how.",
        sections=(
            Section(
                "LVU",
                "Nine tasks.",
                tables=(_table(),),
                figures=(Figure("loss", "Losses", "Training losses.", _png(30, 20)),),
            ),
            Section("Scenes", figures=(Figure("map", "Map", "t-SNE.", _png(7, 11)),)),
        ),
        findings=(
            Finding("LVU", "TxE helps", "reproduced", "57.5 vs 50.0"),
            Finding("M2S", "co-watch beats random", "contradicted", "AP 0.30 vs 0.35"),
        ),
        facts={"preset": "tiny", "seed": "0"},
    )


# -- model ------------------------------------------------------------------------------


def test_cell_text() -> None:
    assert Cell(57.46, 1.71).text() == "57.5 ± 1.7"
    assert Cell(57.46).text() == "57.5"
    assert Cell(57.46, NAN).text() == "57.5"
    assert Cell(0.35312, 0.0123).text(3) == "0.353 ± 0.012"
    assert Cell(NAN, 1.0).text() == "n/a"
    assert Cell(-2.0, 0.0).text(0) == "-2 ± 0"


def test_best_honours_lower_is_better_and_skips_missing_and_nan() -> None:
    table = _table()
    assert table.best("relationship") == "Slow-D <TxE>"  # 57.46 > 50.04, NaN skipped
    assert table.best("eer") == "baseline | mean"  # lower is better: 0.27 < 0.31
    assert table.best("speaking") == "Slow-D <TxE>"  # None skipped
    only_nan = Table("t", "t", "", ("a",), (Row("x", {"a": Cell(NAN)}), Row("y", {"a": None})))
    assert only_nan.best("a") is None
    with pytest.raises(ValueError, match="no column"):
        table.best("nope")


def test_finite() -> None:
    assert not _table().finite()
    ok = Table("t", "t", "", ("a", "b"), (Row("x", {"a": Cell(1.0, NAN), "b": None}),))
    assert ok.finite()


def test_validation() -> None:
    with pytest.raises(ValueError, match="verdict"):
        Finding("p", "c", "sort of", "e")
    assert all(Finding("p", "c", v, "e").verdict == v for v in VERDICTS)
    with pytest.raises(ValueError, match="unknown columns"):
        Table("t", "t", "", ("a",), (Row("x", {"b": Cell(1.0)}),))
    with pytest.raises(ValueError, match="key"):
        Figure("../x", "t", "c", _png(2, 2))
    with pytest.raises(ValueError, match="not a PNG"):
        Figure("x", "t", "c", b"GIF89a")
    fig = Figure("x", "t", "c", _png(2, 2))
    with pytest.raises(ValueError, match="duplicate figure keys: x"):
        Report("r", "", (Section("a", figures=(fig,)), Section("b", figures=(fig,))))


# -- HTML -------------------------------------------------------------------------------


def test_html_puts_the_reference_beside_the_measured_value() -> None:
    page = render_html(_report())
    header = re.findall(r"<th[^>]*>(.*?)</th>", page.split("<tbody>")[0].split("<thead>")[1])
    assert header[:3] == ["", "relationship", "relationship — paper&#x27;s reference"]
    # no reference for "speaking" and "eer": no reference column for them
    assert "speaking — " not in page and "eer — " not in page
    assert header[-2:] == ["paper&#x27;s row", "note"]
    assert "&lt;TxE&gt;" in page and "<TxE>" not in page
    rows = re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1])
    assert len(rows) == 3
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[0])
    assert cells[0] == "<strong>57.5 ± 1.7</strong>"
    assert cells[1] == "61.18 ± 1.48"
    assert cells[2] == "40.0 ± 0.5"  # the only value of its column: nothing to beat, not bold
    assert cells[3] == "0.3"  # eer: lower is better, so the baseline's 0.27 is the best
    assert cells[4] == "Slow-D+TxE+TxD, CVRL-K400, MaskPred-LVU"
    second = re.findall(r"<td[^>]*>(.*?)</td>", rows[1])
    assert second[:4] == ["50.0", "53.12", "—", "<strong>0.3 ± 0.0</strong>"]
    assert second[-1] == "one seed"
    assert re.findall(r"<td[^>]*>(.*?)</td>", rows[2])[:4] == ["n/a", "", "n/a", "n/a"]


def test_html_is_self_contained_with_decodable_figures() -> None:
    report = _report()
    page = render_html(report)
    payloads = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(payloads) == page.count("data:image/png;base64,") == 2
    for payload, size in zip(payloads, [(30, 20), (7, 11)], strict=True):
        image = Image.open(io.BytesIO(base64.b64decode(payload)))
        assert image.size == size
        image.verify()
    assert 'width="30" height="20"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<link" not in page and "<style>" in page
    # the table of contents links to anchors that exist
    for anchor in re.findall(r'<a href="#([^"]+)"', page):
        assert f'id="{anchor}"' in page
    assert page.count('<a href="#') == 3  # findings + 2 sections
    assert "badge-reproduced" in page and "badge-contradicted" in page
    assert "AP 0.30 vs 0.35" in page
    assert "<dt>preset</dt><dd>tiny</dd>" in page


def test_html_without_references_has_no_reference_columns() -> None:
    table = Table("t", "T", "c", ("a",), (Row("x", {"a": Cell(1.0)}), Row("y", {"a": Cell(2.0)})))
    page = render_html(Report("r", "", (Section("s", tables=(table,)),)))
    assert "reference" not in page.split("<table>")[1]
    assert "paper&#x27;s row" not in page
    assert "<strong>2.0</strong>" in page


# -- Markdown ---------------------------------------------------------------------------


def test_markdown_tables_match() -> None:
    report = _report()
    text = render_markdown(report, {"loss": "figures/loss.png"})
    lines = [line for line in text.splitlines() if line.startswith("|")]
    table = report.sections[0].tables[0]
    assert len(lines) == 2 + len(table.rows)  # header, alignment, one line per row
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    assert header == [
        "",
        "relationship",
        "relationship — paper's reference",
        "speaking",
        "eer ↓",
        "paper's row",
        "note",
    ]
    assert lines[1] == "|---|---:|---:|---:|---:|---|---|"
    assert lines[2].startswith("| Slow-D &lt;TxE> | **57.5 ± 1.7** | 61.18 ± 1.48 | 40.0 ± 0.5 |")
    assert lines[3].startswith("| baseline \\| mean | 50.0 | 53.12 | — | **0.3 ± 0.0** |")
    # every table line has the same number of unescaped pipes
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in lines}) == 1
    assert "![Losses](figures/loss.png)" in text
    assert "![Map]" not in text and "**Map.** t-SNE." in text
    assert "- **contradicted** — *M2S*: co-watch beats random" in text


def test_a_table_without_a_winner_bolds_nothing() -> None:
    table = dataclasses.replace(_table(), highlight_best=False)
    report = Report("R", "", (Section("S", tables=(table,)),))
    assert "**" not in "\n".join(
        line for line in render_markdown(report).splitlines() if line.startswith("|")
    )
    assert "<strong>" not in render_html(report).split("<tbody>")[1]
    assert set(report_json(report)["sections"][0]["tables"][0]["best"].values()) == {None}


# -- JSON and files ---------------------------------------------------------------------


def test_report_json_turns_nan_into_null() -> None:
    data = report_json(_report())
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    table = back["sections"][0]["tables"][0]
    assert table["columns"] == ["relationship", "speaking", "eer"]
    assert table["lower_is_better"] == ["eer"]
    assert table["best"] == {
        "relationship": "Slow-D <TxE>",
        "speaking": "Slow-D <TxE>",
        "eer": "baseline | mean",
    }
    first, second, broken = table["rows"]
    assert first["cells"]["relationship"] == {"mean": 57.46, "se": 1.71}
    assert first["cells"]["eer"] == {"mean": 0.31, "se": None}
    assert first["reference"] == {"relationship": "61.18 ± 1.48"}
    assert first["reference_name"] == "Slow-D+TxE+TxD, CVRL-K400, MaskPred-LVU"
    assert second["cells"]["speaking"] is None and second["note"] == "one seed"
    assert broken["cells"]["eer"] == {"mean": None, "se": None}
    assert back["sections"][1]["figures"] == [
        {"key": "map", "title": "Map", "caption": "t-SNE.", "file": "figures/map.png"}
    ]
    assert back["findings"][0]["verdict"] == "reproduced"
    assert back["facts"] == {"preset": "tiny", "seed": "0"}


def test_write_report(tmp_path: Path) -> None:
    report = _report()
    paths = write_report(report, tmp_path / "out")
    assert paths["html"] == tmp_path / "out" / "report.html"
    assert paths["markdown"].read_text() == render_markdown(
        report, {"loss": "figures/loss.png", "map": "figures/map.png"}
    )
    assert paths["html"].read_text() == render_html(report)
    assert json.loads(paths["json"].read_text()) == json.loads(
        json.dumps(report_json(report), allow_nan=False)
    )
    assert (paths["figures"] / "loss.png").read_bytes() == report.sections[0].figures[0].png
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == [
        "figures",
        "loss.png",
        "map.png",
        "report.html",
        "report.json",
        "report.md",
    ]
    # the figure links of the Markdown resolve
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", paths["markdown"].read_text()):
        assert (tmp_path / "out" / link).is_file()


def test_write_report_refuses_a_file(tmp_path: Path) -> None:
    from movierep.errors import UserError

    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        write_report(_report(), tmp_path / "f")
