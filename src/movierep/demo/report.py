"""The demo's report: the papers' tables from this run, figures, findings, run facts.

Every number comes from this run's ``OUT/results/*.json`` (:mod:`movierep.demo.results`)
and its trainings' ``metrics.jsonl`` (:mod:`movierep.demo.training_losses`); only the
reference columns are copied from the papers (:mod:`movierep.demo.references`). Each
table's caption names the spread its standard errors (and so the findings' verdicts,
:mod:`movierep.demo.verdicts`) are over.
:mod:`movierep.report` writes it as ``OUT/report.html`` (self-contained), ``report.md``
and ``report.json``.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from movierep.demo import results
from movierep.demo.figures import all_figures
from movierep.demo.findings import hier_findings, m2s_findings
from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.references import (
    M2S_LVU_COLUMNS,
    PLACE_RETRIEVAL,
    REFERENCES,
    TABLE5_COLUMNS,
)
from movierep.demo.training_losses import heldout_table, loss_table, training_runs
from movierep.demo.verdicts import Estimate
from movierep.report import Cell, Report, Row, Section, Table, write_report


def _cell(e: Estimate | None) -> Cell | None:
    return None if e is None else Cell(e.mean, e.se)


def spread_note(cells: list[Estimate]) -> str:
    """The caption's sentence naming what the table's standard errors are over."""
    spreads = list(dict.fromkeys(e.spread for e in cells if e.se is not None))
    if not spreads:
        return "Single measurements: no standard error, so these numbers decide no finding."
    return (
        "± is one standard error over "
        + "; ".join(spreads)
        + " (the spread every finding that uses this table is judged by)."
    )


def table(
    p: Paths, key: str, title: str, caption: str, columns: tuple[str, ...],
    lower: frozenset[str] = frozenset(), digits: int = 1,
) -> Table | None:  # fmt: skip
    """Table ``key`` of this run with the paper's reference numbers beside it."""
    if not results.exists(p.out, key):
        return None
    rows, _ = results.load(p.out, key)
    refs = REFERENCES.get(key, {})
    out = []
    for name, metrics in rows.items():
        paper_row, numbers = refs.get(name, ("", {}))
        cells = {c: _cell(metrics.get(c)) for c in columns}
        out.append(Row(name, cells, reference=numbers, reference_name=paper_row))
    shown = [e for metrics in rows.values() for c, e in metrics.items() if c in columns]
    text = f"{caption} {spread_note(shown)}"
    return Table(key, title, text, columns, tuple(out), lower_is_better=lower, digits=digits)


def place_table(p: Paths) -> Table | None:
    """Movies2Scenes Table 2 with places as rows and (encoder, P@k) as columns."""
    if not results.exists(p.out, "m2s_table2"):
        return None
    rows, _ = results.load(p.out, "m2s_table2")
    encoders = list(dict.fromkeys(name.split(" | ")[0] for name in rows))
    places = list(dict.fromkeys(name.split(" | ")[1] for name in rows))
    places = [pl for pl in places if pl != "all"] + ["all"]
    columns = tuple(f"{e} P@{k}" for e in encoders for k in (1, 5, 10))
    out = []
    for place in places:
        cells = {
            f"{e} P@{k}": _cell(rows.get(f"{e} | {place}", {}).get(f"P@{k}"))
            for e in encoders for k in (1, 5, 10)
        }  # fmt: skip
        ref: dict[str, str] = {}
        if place in PLACE_RETRIEVAL:
            clip, ours = PLACE_RETRIEVAL[place]
            for i, k in enumerate((1, 5, 10)):
                ref[f"{encoders[0]} P@{k}"] = clip[i]
                ref[f"E_scene (cowatch) P@{k}"] = ours[i]
        name = "all queries" if place == "all" else place
        out.append(Row(name, cells, reference=ref, reference_name="CLIP | Ours" if ref else ""))
    return Table(
        "m2s_table2", "Movies2Scenes Table 2: place retrieval on LVU scenes",
        "Each held-out video (val and test; the paper: val) of LVU's scene task queries the "
        "train videos by L2 distance of its mean feature; precision@k (%) per true place, ± "
        "one standard error over that place's queries (each query's precision is one unit; "
        "with several scene-MoCo seeds, the seeds' spread is added). References: CLIP's "
        "columns beside E_fixed, Ours beside E_scene (co-watch).",
        columns, tuple(out),
    )  # fmt: skip


def tables(p: Paths) -> dict[str, list[Table]]:
    """The report's tables by section."""
    lvu5, m2s3 = TABLE5_COLUMNS, M2S_LVU_COLUMNS
    regress = frozenset({"like_ratio", "view_count"})
    hier = [
        table(p, "hier_table1", "Hier-SSL Table 1: semantic roles on VidSitu (TxD)",
              "VidSitu's val clips; roles decoded by TxD given the verb; CIDEr, CIDEr-verb, "
              "CIDEr-arg, ROUGE-L and LEA ×100 as VidSitu's evaluator computes them.",
              ("CIDEr", "CIDEr-verb", "CIDEr-arg", "ROUGE-L", "LEA")),
        table(p, "hier_table2", "Hier-SSL Table 2: ablating TxE mask prediction (roles)",
              "TxE variants pretrained on CVRL's event features, each scored by TxD on roles.",
              ("CIDEr", "CIDEr-verb", "CIDEr-arg", "ROUGE-L", "LEA")),
        table(p, "hier_table3", "Hier-SSL Table 3: event relations on VidSitu",
              "Relation of events 1, 2, 4, 5 to event 3 from the two events' features "
              "concatenated; Mean-Acc over the 4 classes and Top-1 (%). No row is fine-tuned on "
              "verbs first (the paper's lower rows are).", ("Mean-Acc", "Top-1")),
        table(p, "hier_table4", "Hier-SSL Table 4: verbs of 2 s events on VidSitu",
              "A linear-layer head on frozen event features; Acc@1, Acc@5 and Recall@5 (%). "
              "CVRL and MoDist pretrain on the Kinetics-style clips and the movies (the "
              "paper's K400+VS), supervised on the clips' action labels (Sup-K400).",
              ("Acc@1", "Acc@5", "Recall@5")),
        table(p, "hier_table5", "Hier-SSL Table 5: LVU with the Object Transformer and OT++",
              "Instance pathway: RoIAlign features of the corpus' character boxes (a perfect "
              "detector and tracker stand in for LVU's); scene pathway: event features. Top-1 "
              "(%) for the seven classification tasks, MSE for the two regressions; #top-1 "
              "and mean rank across the nine tasks.", lvu5,
              lower=regress | {"mean rank"}, digits=2),
    ]  # fmt: skip
    m2s = [
        place_table(p),
        table(p, "m2s_table3", "Movies2Scenes Table 3: LVU's nine tasks (MLP head)",
              "Features of the LVU videos into an MLP with 2 hidden layers; top-1 (%) for "
              "classification, MSE for regression, on every held-out video (val and test: "
              "nothing is selected on val here; the paper scores test).", m2s3,
              lower=regress, digits=2),
        table(p, "m2s_table4", "Movies2Scenes Table 4: MovieNet place tagging",
              "Multi-label place tags of MovieNet scenes (E_fixed: mean of the segment's shots; "
              "E_scene: the segment as one scene); mAP (%).", ("mAP",)),
        table(p, "m2s_table5", "Movies2Scenes Table 5: MovieNet-318 scene boundaries",
              "4-shot windows into a binary MLP; AP (%), with mIoU and Recall@3s.",
              ("AP", "mIoU", "Recall@3s")),
        table(p, "m2s_table6", "Movies2Scenes Table 6: moderation",
              "AP (%) per content class of the corpus' moderation clips (each from its own "
              "9 frames) and their mean (intimacy stands for the paper's 'sex'); a class "
              "with no positive among the "
              "held-out clips is left blank.",
              ("intimacy", "violence", "drug_use", "mean")),
    ]  # fmt: skip
    diag = [
        table(p, "diag_shots", "Shot detection against the true cuts",
              "Shot starts within ±2 frames, pooled over the movies (%).",
              ("precision", "recall", "F1")),
        table(p, "diag_maskpred", "Masked-event retrieval (does TxE learn mask prediction?)",
              "The masked event's true feature among 100 distractors, retrieved by cosine "
              "from each predictor's output (accuracy %, one pass, no runs).",
              ("accuracy", "chance")),
    ]  # fmt: skip
    return {
        "hier": [t for t in hier if t is not None],
        "m2s": [t for t in m2s if t is not None],
        "diag": [t for t in diag if t is not None],
    }


def write(
    p: Paths, preset: DemoPreset, *, preset_name: str, seed: int, ablations: bool,
    timings: dict[str, float], wall: float, peak_gb: float,
) -> dict[str, Path]:  # fmt: skip
    """Build the report from ``OUT/results`` and the run's files; write it under ``OUT``."""
    by_section = tables(p)
    measured = {
        key: results.load(p.out, key)[0]
        for key in (*REFERENCES, "m2s_table2")
        if results.exists(p.out, key)
    }

    def items(key: str) -> dict[str, int]:
        found: dict[str, int] = {}
        if results.exists(p.out, key):
            found = results.load(p.out, key)[1].get("eval_items", {})
        return found

    findings = [
        *hier_findings(measured, items("hier_table5"), seeds=preset.pretrain_seeds),
        *m2s_findings(measured, ablations, items("m2s_table3"), seeds=preset.pretrain_seeds),
    ]
    losses = loss_table(training_runs(p, preset))
    heldout = heldout_table(p, preset)
    figures = all_figures(p, preset)
    fig = {f.key: f for f in figures}
    total = sum(timings.values())
    facts = {
        "preset": f"{preset_name} (seed {seed}{', with ablations' if ablations else ''})",
        "corpus": ", ".join(f"{k} {v}" for k, v in preset.corpus.items()),
        "stage time": f"{total / 60:.1f} min summed over stages "
        f"(this invocation {wall / 60:.1f} min)",
        "peak memory": f"{peak_gb:.2f} GB resident",
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "stages": ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
    }
    sections = (
        Section(
            "Pretraining",
            "Every training of this run: its loss at the start and at the end, and its curve.",
            tuple(t for t in (losses, heldout) if t is not None),
            tuple(fig[k] for k in ("losses",) if k in fig),
        ),
        Section(
            "Hierarchical self-supervised pretraining",
            "Slow-D backbones (random, supervised, CVRL, MoDist), TxE pretrained by event "
            "mask prediction, and the VidSitu and LVU evaluations.",
            tuple(by_section["hier"]),
        ),
        Section(
            "Movies2Scenes",
            "Movie similarity from co-watch, genre and synopsis; shot adjacency picks scene "
            "pairs; the scene encoder E_scene trains on them with MoCo from E_fixed's weights. "
            "E_fixed stands in for CLIP (no CLIP weights can be downloaded here).",
            tuple(by_section["m2s"]),
            tuple(f for f in figures if f.key.startswith("map_") or f.key == "retrievals"),
        ),
        Section(
            "Pipeline checks",
            "The demo's own stages against the corpus' ground truth.",
            tuple(by_section["diag"]),
            tuple(fig[k] for k in ("timeline",) if k in fig),
        ),
    )
    intro = (
        "Both papers end to end on movierep's synthetic corpus: every number below was "
        "measured by this run; the reference columns are the papers' own numbers on the real "
        "benchmarks at full scale, printed for the shape of the result (which row wins), not "
        "as values to match. A finding counts a difference only beyond two standard errors "
        "of it, over the spread its evidence names (pretraining seeds where the run trained "
        "several, else the heads' seeded runs of one pretraining, or the queries of a "
        "retrieval); a number without a standard error decides nothing."
    )
    report = Report("movierep demo report", intro, sections, tuple(findings), facts)
    return write_report(report, p.out)
