"""Render a :class:`~movierep.report.model.Report` as HTML, Markdown and JSON.

- :func:`render_html`: one self-contained page (CSS inline, figures as base64 data URIs,
  no script, no external resource), readable offline and attachable to an e-mail.
- :func:`render_markdown`: the same tables as GitHub Markdown, figures linked by path.
- :func:`report_json`: the same numbers as a JSON-safe dict (NaN and infinities -> null).
- :func:`write_report`: all three plus ``figures/<key>.png``, written atomically.

Every table lays out its columns the same way in HTML and Markdown: the row name, then for
each column ``C`` this run's value and, when any row has one, the paper's number in a
column headed ``"C — <reference_label>"``; then ``paper's row`` and ``note`` when any row
has one. The best value of each column (:meth:`Table.best`, ties included) is bold when at
least two rows have a value to compare (and the table's ``highlight_best`` is on).
"""

from __future__ import annotations

import base64
import html
import math
import re
import struct
from pathlib import Path
from typing import Any

from movierep import files
from movierep.errors import UserError
from movierep.report.model import Cell, Figure, Finding, Report, Row, Section, Table

#: Header of the column naming the paper's row a row corresponds to.
PAPER_ROW = "paper's row"
#: Header of the notes column.
NOTE = "note"
#: Shown for a cell that was not measured.
MISSING = "—"

# --------------------------------------------------------------------------------------
# table layout, shared by HTML and Markdown


def _column_layout(table: Table) -> list[tuple[str, str]]:
    """The table's columns after the row name: (kind, column) with kind in value/reference/..."""
    layout: list[tuple[str, str]] = []
    for column in table.columns:
        layout.append(("value", column))
        if table.has_reference(column):
            layout.append(("reference", column))
    if any(row.reference_name for row in table.rows):
        layout.append(("paper_row", PAPER_ROW))
    if any(row.note for row in table.rows):
        layout.append(("note", NOTE))
    return layout


def _header(table: Table, kind: str, column: str) -> str:
    if kind == "reference":
        return f"{column} — {table.reference_label}"
    return column


def _best_rows(table: Table) -> dict[str, set[str]]:
    """Column -> rows holding its best value (none with < 2 values or no highlighting)."""
    best: dict[str, set[str]] = {}
    for column in table.columns:
        if not table.highlight_best:
            best[column] = set()
            continue
        values = [
            (row.name, cell.mean)
            for row in table.rows
            if (cell := row.cell(column)) is not None and math.isfinite(cell.mean)
        ]
        name = table.best(column)
        if len(values) < 2 or name is None:
            best[column] = set()
            continue
        top = dict(values)[name]
        best[column] = {n for n, v in values if v == top}
    return best


def _cell_text(table: Table, row: Row, kind: str, column: str) -> str:
    if kind == "value":
        cell = row.cell(column)
        return MISSING if cell is None else cell.text(table.digits)
    if kind == "reference":
        return row.reference.get(column, "")
    if kind == "paper_row":
        return row.reference_name
    return row.note


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _section_ids(report: Report) -> list[str]:
    return [f"s{i + 1}-{_slug(s.title)}" for i, s in enumerate(report.sections)]


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


# --------------------------------------------------------------------------------------
# HTML

_CSS = """
:root { --fg: #1f2328; --muted: #6e7781; --line: #d0d7de; --zebra: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5;
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
    Arial, "Noto Sans", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 1.9em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.4em; margin: 1.8em 0 0.5em; padding-bottom: 0.2em;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1em; margin: 1.4em 0 0.2em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
p { margin: 0.5em 0; }
.muted, .caption { color: var(--muted); }
.caption { margin: 0 0 0.5em; font-size: 0.93em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px;
  margin: 1em 0; padding: 10px 14px; background: var(--zebra); border-radius: 6px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
nav.toc { margin: 1em 0; }
nav.toc ol { margin: 0.3em 0; padding-left: 1.4em; }
.scroll { overflow-x: auto; margin: 0.3em 0 1em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid var(--line); padding: 4px 9px; vertical-align: top; }
thead th { background: #eef1f4; text-align: left; font-weight: 600; }
tbody tr:nth-child(even) { background: var(--zebra); }
tbody th { text-align: left; font-weight: 500; min-width: 14em; }
thead th.num { white-space: normal; min-width: 5.5em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ref { color: var(--muted); }
td.ref { background: rgba(110, 119, 129, 0.06); }
td.text { color: var(--muted); font-size: 0.95em; }
.dir { color: var(--muted); font-weight: 400; }
figure { margin: 1em 0 1.5em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.93em; margin-top: 0.3em; }
figcaption strong { color: var(--fg); }
ul.findings { list-style: none; padding: 0; margin: 0.5em 0; }
ul.findings li { margin: 0 0 0.8em; padding: 8px 12px; border: 1px solid var(--line);
  border-radius: 6px; }
.badge { display: inline-block; min-width: 7.5em; text-align: center; padding: 1px 8px;
  margin-right: 8px; border-radius: 10px; color: #fff; font-size: 0.8em; font-weight: 600; }
.badge-reproduced { background: #1a7f37; }
.badge-inconclusive { background: #6e7781; }
.badge-not-reproduced { background: #bc4c00; }
.badge-contradicted { background: #cf222e; }
.evidence { color: var(--muted); font-size: 0.93em; margin-top: 0.2em; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_paragraphs(text: str, cls: str = "") -> list[str]:
    attr = f' class="{cls}"' if cls else ""
    return [f"<p{attr}>{_e(p)}</p>" for p in _paragraphs(text)]


def _html_table(table: Table) -> list[str]:
    layout = _column_layout(table)
    best = _best_rows(table)
    out = [f'<div class="table" id="table-{_e(table.key)}">', f"<h3>{_e(table.title)}</h3>"]
    if table.caption:
        out.append(f'<p class="caption">{_e(table.caption)}</p>')
    out.append('<div class="scroll"><table>')
    head = ["<th></th>"]
    for kind, column in layout:
        label = _e(_header(table, kind, column))
        if kind == "value":
            if column in table.lower_is_better:
                label += ' <span class="dir" title="lower is better">↓</span>'
            head.append(f'<th class="num">{label}</th>')
        elif kind == "reference":
            head.append(f'<th class="num ref">{label}</th>')
        else:
            head.append(f'<th class="ref">{label}</th>')
    out.append(f"<thead><tr>{''.join(head)}</tr></thead>")
    out.append("<tbody>")
    for row in table.rows:
        tds = [f'<th scope="row">{_e(row.name)}</th>']
        for kind, column in layout:
            text = _e(_cell_text(table, row, kind, column))
            if kind == "value":
                if row.name in best[column]:
                    text = f"<strong>{text}</strong>"
                tds.append(f'<td class="num">{text}</td>')
            elif kind == "reference":
                tds.append(f'<td class="num ref">{text}</td>')
            else:
                tds.append(f'<td class="text">{text}</td>')
        out.append(f"<tr>{''.join(tds)}</tr>")
    out.append("</tbody></table></div></div>")
    return out


def _html_figure(figure: Figure) -> list[str]:
    width, height = _png_size(figure.png)
    data = base64.b64encode(figure.png).decode("ascii")
    caption = f"<strong>{_e(figure.title)}.</strong> {_e(figure.caption)}".rstrip()
    return [
        f'<figure id="figure-{_e(figure.key)}">',
        f'<img src="data:image/png;base64,{data}" alt="{_e(figure.title)}" '
        f'width="{width}" height="{height}">',
        f"<figcaption>{caption}</figcaption>",
        "</figure>",
    ]


def _html_finding(finding: Finding) -> str:
    badge = f"badge-{finding.verdict.replace(' ', '-')}"
    return (
        f'<li class="finding"><span class="badge {badge}">{_e(finding.verdict)}</span>'
        f"<strong>{_e(finding.paper)}</strong>: {_e(finding.claim)}"
        f'<div class="evidence">{_e(finding.evidence)}</div></li>'
    )


def _html_section(section: Section, anchor: str) -> list[str]:
    out = [f'<section id="{anchor}">', f"<h2>{_e(section.title)}</h2>"]
    out += _html_paragraphs(section.text)
    for table in section.tables:
        out += _html_table(table)
    for figure in section.figures:
        out += _html_figure(figure)
    out.append("</section>")
    return out


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (a str holding the whole document).

    Styles are inline and figures are embedded as ``data:image/png;base64`` URIs, so the
    page needs no other file, network or JavaScript. All text is HTML-escaped.
    """
    ids = _section_ids(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        f"<h1>{_e(report.title)}</h1>",
    ]
    out += _html_paragraphs(report.intro, "intro")
    if report.facts:
        out.append('<dl class="facts">')
        out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in report.facts.items()]
        out.append("</dl>")
    toc = [('<a href="#findings">Findings</a>')] if report.findings else []
    toc += [f'<a href="#{a}">{_e(s.title)}</a>' for a, s in zip(ids, report.sections, strict=True)]
    if toc:
        out.append('<nav class="toc"><strong>Contents</strong><ol>')
        out += [f"<li>{link}</li>" for link in toc]
        out.append("</ol></nav>")
    if report.findings:
        out += ['<section id="findings">', "<h2>Findings</h2>", '<ul class="findings">']
        out += [_html_finding(f) for f in report.findings]
        out += ["</ul>", "</section>"]
    for anchor, section in zip(ids, report.sections, strict=True):
        out += _html_section(section, anchor)
    out += ["</main></body>", "</html>", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# Markdown


def _md_cell(text: str) -> str:
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _md_table(table: Table) -> list[str]:
    layout = _column_layout(table)
    best = _best_rows(table)
    head = [""]
    align = ["---"]
    for kind, column in layout:
        label = _header(table, kind, column)
        if kind == "value" and column in table.lower_is_better:
            label += " ↓"
        head.append(_md_cell(label))
        align.append("---:" if kind in ("value", "reference") else "---")
    out = [f"| {' | '.join(head)} |", f"|{'|'.join(align)}|"]
    for row in table.rows:
        cells = [_md_cell(row.name)]
        for kind, column in layout:
            text = _md_cell(_cell_text(table, row, kind, column))
            if kind == "value" and row.name in best[column]:
                text = f"**{text}**"
            cells.append(text)
        out.append(f"| {' | '.join(cells)} |")
    return out


def render_markdown(report: Report, figure_paths: dict[str, str] | None = None) -> str:
    """The report as GitHub Markdown, with the same tables as :func:`render_html`.

    Args:
        report: The report.
        figure_paths: Figure key -> path of its PNG relative to the Markdown file; a figure
            without one is shown by its title and caption only.
    """
    figure_paths = figure_paths or {}
    out = [f"# {report.title}", ""]
    for paragraph in _paragraphs(report.intro):
        out += [paragraph, ""]
    if report.facts:
        out += [f"- **{_md_cell(k)}**: {_md_cell(v)}" for k, v in report.facts.items()]
        out.append("")
    if report.findings:
        out += ["## Findings", ""]
        for f in report.findings:
            out.append(f"- **{f.verdict}** — *{_md_cell(f.paper)}*: {_md_cell(f.claim)}")
            if f.evidence:
                out.append(f"  - {_md_cell(f.evidence)}")
        out.append("")
    for section in report.sections:
        out += [f"## {section.title}", ""]
        for paragraph in _paragraphs(section.text):
            out += [paragraph, ""]
        for table in section.tables:
            out += [f"### {table.title}", ""]
            if table.caption:
                out += [f"*{_md_cell(table.caption)}*", ""]
            out += [*_md_table(table), ""]
        for figure in section.figures:
            path = figure_paths.get(figure.key)
            if path:
                out += [f"![{_md_cell(figure.title)}]({path})", ""]
            out += [f"**{_md_cell(figure.title)}.** {_md_cell(figure.caption)}".rstrip(), ""]
    return "\n".join(out).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------
# JSON


def _number(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _cell_json(cell: Cell | None) -> dict[str, float | None] | None:
    if cell is None:
        return None
    return {"mean": _number(cell.mean), "se": _number(cell.se)}


def _table_json(table: Table) -> dict[str, Any]:
    return {
        "key": table.key,
        "title": table.title,
        "caption": table.caption,
        "columns": list(table.columns),
        "lower_is_better": sorted(table.lower_is_better),
        "reference_label": table.reference_label,
        "digits": table.digits,
        "best": {c: table.best(c) if table.highlight_best else None for c in table.columns},
        "rows": [
            {
                "name": row.name,
                "cells": {c: _cell_json(row.cell(c)) for c in table.columns},
                "reference": dict(row.reference),
                "reference_name": row.reference_name,
                "note": row.note,
            }
            for row in table.rows
        ],
    }


def figure_file(figure: Figure) -> str:
    """The figure's path relative to the report folder: ``figures/<key>.png``."""
    return f"figures/{figure.key}.png"


def report_json(report: Report) -> dict[str, Any]:
    """The report's content as a JSON-safe dict (NaN and infinities become None).

    Layout: ``title``, ``intro``, ``facts``, ``findings`` (paper, claim, verdict,
    evidence), ``sections`` (title, text, ``tables``, ``figures``). A table has its
    ``columns``, ``lower_is_better``, ``best`` (column -> row name; None when the table
    highlights no best value) and ``rows``, each with
    ``cells`` (column -> ``{"mean", "se"}`` or None), ``reference``, ``reference_name`` and
    ``note``. A figure is ``{key, title, caption, file}`` (no image bytes).
    """
    return {
        "title": report.title,
        "intro": report.intro,
        "facts": dict(report.facts),
        "findings": [
            {"paper": f.paper, "claim": f.claim, "verdict": f.verdict, "evidence": f.evidence}
            for f in report.findings
        ],
        "sections": [
            {
                "title": s.title,
                "text": s.text,
                "tables": [_table_json(t) for t in s.tables],
                "figures": [
                    {"key": f.key, "title": f.title, "caption": f.caption, "file": figure_file(f)}
                    for f in s.figures
                ],
            }
            for s in report.sections
        ],
    }


# --------------------------------------------------------------------------------------
# files


def write_report(report: Report, out: Path) -> dict[str, Path]:
    """Write the report into the folder ``out``, each file atomically.

    Writes ``report.html`` (self-contained), ``report.md`` (linking ``figures/<key>.png``),
    ``report.json`` and ``figures/<key>.png``.

    Returns:
        Kind -> path: ``"html"``, ``"markdown"``, ``"json"``, plus ``"figures"`` (the
        folder) when the report has figures.

    Raises:
        UserError: ``out`` exists and is not a folder.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    figures = [f for s in report.sections for f in s.figures]
    paths: dict[str, Path] = {}
    for figure in figures:
        with files.atomic_path(out / figure_file(figure)) as tmp:
            tmp.write_bytes(figure.png)
    if figures:
        paths["figures"] = out / "figures"
    figure_paths = {f.key: figure_file(f) for f in figures}
    paths["markdown"] = files.write_text(out / "report.md", render_markdown(report, figure_paths))
    paths["json"] = files.write_json(out / "report.json", report_json(report), allow_nan=False)
    paths["html"] = files.write_text(out / "report.html", render_html(report))
    return paths
