"""The report of ``movierep demo``: measured numbers beside the papers', figures, findings.

Build a :class:`Report` from :class:`Section` s holding :class:`Table` s (rows of
:class:`Cell` values, mean ± standard error over seeds, next to the paper's printed
numbers) and :class:`Figure` s (PNG bytes from :mod:`movierep.report.plots`), plus
:class:`Finding` s; then :func:`write_report` writes ``report.html`` (one self-contained
page), ``report.md``, ``report.json`` and ``figures/<key>.png``::

    from movierep import report as rp

    table = rp.Table(
        key="lvu", title="LVU", caption="top-1 accuracy (%), 3 seeds",
        columns=("relationship",),
        rows=(rp.Row("ours", {"relationship": rp.Cell(57.5, 1.7)},
                     reference={"relationship": "61.18 ± 1.48"}),),
    )
    png = rp.loss_curves({"CVRL": [(0, 6.2), (100, 4.1)]})
    report = rp.Report("Demo", "What ran.", (rp.Section("LVU", tables=(table,),
                       figures=(rp.Figure("loss", "Losses", "Training losses.", png),)),))
    rp.write_report(report, Path("runs/demo/report"))

This package imports only the standard library, numpy, matplotlib, PIL, scikit-learn and
movierep's foundation modules (``files``, ``errors``).
"""

from __future__ import annotations

from movierep.report.model import VERDICTS, Cell, Figure, Finding, Report, Row, Section, Table
from movierep.report.plots import embedding_map, keyframe_grid, loss_curves, timeline
from movierep.report.render import render_html, render_markdown, report_json, write_report

__all__ = [
    "VERDICTS",
    "Cell",
    "Figure",
    "Finding",
    "Report",
    "Row",
    "Section",
    "Table",
    "embedding_map",
    "keyframe_grid",
    "loss_curves",
    "render_html",
    "render_markdown",
    "report_json",
    "timeline",
    "write_report",
]
