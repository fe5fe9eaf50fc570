"""The papers' findings (``shared/SPEC.md``), each decided by this run's numbers.

Every verdict follows the rules of :mod:`movierep.demo.verdicts`: a comparison counts
only beyond two standard errors of the difference, a number without a standard error
decides nothing, an "A ≈ B" claim needs noise small enough to have seen the effect the
paper contrasts it with, a rank summary is judged from per-task differences. Every
finding's evidence states the numbers, each difference ± its s.e., and the spread the s.e.
is over (pretraining seeds where the run trained several, else the heads' seeded runs of
one pretraining, or the queries of a retrieval).

The input is ``{table key: rows of estimates}`` as :func:`movierep.demo.results.load`
reads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from movierep.data.benchmarks.lvu import CLASSIFICATION_TASKS
from movierep.demo.results import Measured
from movierep.demo.verdicts import (
    KNOWN,
    Comparison,
    Estimate,
    claim_all,
    claim_beats,
    claim_equal,
    compare,
    mean_of,
    pretrainings_compared,
    tally,
)
from movierep.report import Finding

HIER = "Hierarchical SSL"
M2S = "Movies2Scenes"
CHANCE_RELATIONS = 25.0
REGRESSIONS = frozenset({"like_ratio", "view_count"})
NOT_MEASURED = "Not measured in this run: `movierep demo --ablations` trains the {what}."


def _fmt(x: float) -> str:
    return "n/a" if not math.isfinite(x) else (f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}")


def _est(e: Estimate) -> str:
    return _fmt(e.mean) + ("" if e.se is None or not math.isfinite(e.se) else f" ± {_fmt(e.se)}")


def _line(a: str, b: str, metric: str, c: Comparison) -> str:
    """``"A 1.2 ± 0.1 vs B 1.0 ± 0.1 (metric): difference +0.20 ± 0.14 over …: noise"``."""
    other = _fmt(c.b.mean) if c.b.spread == KNOWN else _est(c.b)
    return f"{a} {_est(c.a)} vs {b} {other} ({metric}): {c.text()}"


# ---------------------------------------------------------- pretrainings (rule 6)

#: The kind of each pretraining a row can carry: a demo preset trains ``pretrain_seeds``
#: seeds of each kind (:class:`movierep.demo.presets.DemoPreset`).
KIND = {
    "CVRL": "backbone", "MoDist": "backbone", "supervised": "backbone",
    "TxE MaskPred (CVRL)": "txe", "TxE MaskPred (MoDist)": "txe", "TxE initialisation": "txe",
    "E_fixed SimCLR": "image",
}  # fmt: skip
_BACKBONE = {"Sup": "supervised", "Supervised": "supervised", "CVRL": "CVRL", "MoDist": "MoDist"}


def carried(table: str, row: str) -> frozenset[str]:
    """The pretrainings a row of ``table`` carries (its backbone, TxE, scene encoder...)."""
    if table.startswith("m2s"):
        if row.startswith("E_fixed"):
            return frozenset({"E_fixed SimCLR"})
        inside = row.split("(", 1)[1].split(")")[0] if "(" in row else row
        if row.startswith("E_scene, "):  # an ablation row
            inside = row.removeprefix("E_scene, ").split(" ")[0]
        return frozenset({"E_fixed SimCLR", *(f"scene MoCo ({s})" for s in inside.split("+"))})
    if table == "hier_table2":  # every variant is its own TxE pretraining on CVRL
        return frozenset({"CVRL", f"TxE variant {row}"})
    parts = [p.strip() for p in row.replace(":", ",").split(",")]
    out = {_BACKBONE[p] for p in parts if p in _BACKBONE}
    if table == "hier_table5":
        if row.startswith("OT"):
            out.add("supervised")  # OT's instance pathway is the supervised backbone
        if "Ours" in row:
            out |= {"CVRL", "TxE MaskPred (CVRL)"}
    if "MaskPred" in parts:
        out |= {f"TxE MaskPred ({b})" for b in out & {"CVRL", "MoDist"}}
    if "TxE N" in parts or "TxE No" in parts:
        out.add("TxE initialisation")
    return frozenset(out)


def kind_of(pretraining: str) -> str:
    """``backbone``, ``txe``, ``image`` or ``scene:<source>`` (see :data:`KIND`)."""
    if pretraining.startswith("scene MoCo"):
        return "scene:" + pretraining.split("(", 1)[1].rstrip(")")
    if pretraining.startswith("TxE variant"):
        return "txe"
    return KIND[pretraining]


class Pretrainings:
    """Which pretrainings the run trained several seeds of (rule 6 of :mod:`.verdicts`).

    Args:
        seeds: pretraining seeds per kind (``{"backbone": 1, "txe": 3, "scene": 2}``);
            a kind not named ran once.
    """

    def __init__(self, seeds: Mapping[str, int] | None = None) -> None:
        self.seeds = dict(seeds or {})

    def count(self, kind: str) -> int:
        """Seeds of ``kind``; ``scene:cowatch`` falls back to ``scene`` (1 if unset)."""
        if kind in self.seeds:
            return self.seeds[kind]
        return self.seeds.get(kind.split(":")[0], 1)

    def gate(self, c: Comparison, table: str, a: str, b: str | None) -> Comparison:
        """``c`` of rows ``a`` and ``b`` (None: a known number), gated by rule 6.

        Undecided when a pretraining the two rows differ by ran once, or a side carrying
        one is not an estimate over its seeds.
        """
        mine = carried(table, a)
        theirs = carried(table, b) if b is not None else frozenset()
        if b is None:  # against chance: what the row adds on top of its backbone
            mine = frozenset(p for p in mine if kind_of(p) != "backbone") or mine
        differ_a, differ_b = mine - theirs, theirs - mine
        once = [p for p in (*differ_a, *differ_b) if self.count(kind_of(p)) < 2]
        if once and c.outcome != "undecided":
            why = "one pretraining of " + " and ".join(sorted(once))
            return replace(c, outcome="undecided", why=why + ": its seed spread was not measured")
        return pretrainings_compared(c, ", ".join(sorted(differ_a)), ", ".join(sorted(differ_b)))


def _cmp(
    rows: Measured, a: str, b: str, metric: str, lower: bool = False, floor: float = 0.0,
    table: str = "", pretrainings: Pretrainings | None = None,
) -> Comparison:  # fmt: skip
    c = compare(rows[a][metric], rows[b][metric], lower, floor)
    return (pretrainings or Pretrainings()).gate(c, table, a, b) if table else c


def claim_better(
    paper: str, claim: str, rows: Measured, pairs: Sequence[tuple[str, str]], metric: str,
    lower: bool = False, floor: float = 0.0, table: str = "",
    pretrainings: Pretrainings | None = None,
) -> Finding:  # fmt: skip
    """Claim: the first row of every pair beats the second on ``metric`` (rule 2)."""
    comparisons = [_cmp(rows, a, b, metric, lower, floor, table, pretrainings) for a, b in pairs]
    verdict = claim_beats([c.outcome for c in comparisons])
    lines = [_line(a, b, metric, c) for (a, b), c in zip(pairs, comparisons, strict=True)]
    return Finding(paper, claim, verdict, "; ".join(lines) + ".")


def same_as(same: tuple[Comparison, str], contrast: tuple[Comparison, str]) -> tuple[str, str]:
    """``(verdict, evidence)`` of "``same`` is a difference of zero" (rule 3).

    ``contrast`` is the effect the paper sets the claim against, measured in this run; its
    difference is ``Δ`` only when it is itself decided (*better*); otherwise an equal
    result cannot be told from an underpowered run, and the claim is inconclusive. Each
    is given with its evidence line.
    """
    c, text = same
    k, contrast_text = contrast
    effect = k.d if k.outcome == "better" else None
    size = (
        f"Δ = {_fmt(k.d)} against |d| + 2 s.e. = {_fmt(abs(c.d) + 2 * c.se)}"
        if effect is not None
        else "no contrasted effect beyond noise to size the test by"
    )
    return claim_equal(c, effect), f"{text}; contrast: {contrast_text}; {size}"


# ------------------------------------------------------------------------- Hier-SSL


def _table1(t1: Measured, pre: Pretrainings) -> list[Finding]:
    none, n_sup = "Slow-D+TxD, Sup", "Slow-D+TxE+TxD, Sup, TxE N"
    mp, n_cvrl = "Slow-D+TxE+TxD, CVRL, MaskPred", "Slow-D+TxE+TxD, CVRL, TxE N"
    same = _cmp(t1, n_sup, none, "CIDEr", table="hier_table1", pretrainings=pre)
    gain = _cmp(t1, mp, n_cvrl, "CIDEr", table="hier_table1", pretrainings=pre)
    verdict, evidence = same_as(
        (same, _line(n_sup, none, "CIDEr", same)), (gain, _line(mp, n_cvrl, "CIDEr", gain))
    )
    return [
        Finding(
            HIER, "TxE without pretraining adds nothing over no TxE on semantic roles "
            "(paper: CIDEr 51.37 vs 51.36, against +6.8 from MaskPred).", verdict,
            evidence + ".",
        ),
        claim_better(
            HIER, "A TxE pretrained by mask prediction adds a lot on semantic roles "
            "(paper: CIDEr 54.4 → 61.2).", t1, [(mp, n_cvrl)], "CIDEr",
            table="hier_table1", pretrainings=pre,
        ),
    ]  # fmt: skip


def _table3(t3: Measured, pre: Pretrainings) -> list[Finding]:
    out = []
    verdicts, lines = [], []
    for name in ("CVRL", "MoDist"):
        row, alone = f"Slow-D+TxE, {name}, TxE No", f"Slow-D, {name}"
        same = pre.gate(compare(t3[row]["Mean-Acc"], CHANCE_RELATIONS), "hier_table3", row, None)
        above = compare(t3[alone]["Mean-Acc"], CHANCE_RELATIONS)
        verdict, evidence = same_as(
            (same, _line(row, "chance", "Mean-Acc", same)),
            (above, _line(alone, "chance", "Mean-Acc", above)),
        )
        verdicts.append(verdict)
        lines.append(f"{name}: {verdict} ({evidence})")
    out.append(Finding(
        HIER, "Event relations: a TxE trained from scratch collapses to chance (Mean-Acc 25 %).",
        claim_all(verdicts),
        "; ".join(lines) + ". Here the untrained TxE is frozen, not trained jointly from "
        "scratch as in the paper.",
    ))  # fmt: skip
    out.append(claim_better(
        HIER, "Event relations: MaskPred TxE features beat the backbone's alone "
        "(paper: Mean-Acc 35.3 vs 34.7).", t3,
        [("Slow-D+TxE, CVRL, MaskPred", "Slow-D, CVRL"),
         ("Slow-D+TxE, MoDist, MaskPred", "Slow-D, MoDist")], "Mean-Acc",
        table="hier_table3", pretrainings=pre,
    ))  # fmt: skip
    return out


def _table4(t4: Measured, pre: Pretrainings) -> list[Finding]:
    return [
        claim_better(
            HIER, "Verbs: a self-supervised backbone (MoDist) beats a supervised one "
            "(paper: Acc@1 43.0 vs 38.3).", t4, [("Slow-D, MoDist", "Slow-D, Sup")], "Acc@1",
            table="hier_table4", pretrainings=pre,
        ),
        claim_better(
            HIER, "Verbs: MoDist's motion-sensitive features beat CVRL's "
            "(paper: Acc@1 44.7 vs 35.3 with K400+VS).", t4,
            [("Slow-D, MoDist", "Slow-D, CVRL")], "Acc@1", table="hier_table4",
            pretrainings=pre,
        ),
    ]  # fmt: skip


def _table2(t2: Measured | None, pre: Pretrainings) -> list[Finding]:
    if not t2:
        return [Finding(
            HIER, "Contrastive beats L2 for mask prediction; m ∈ {1, 2, 3} is best; a 2 s "
            "stride is best (Table 2).", "inconclusive",
            NOT_MEASURED.format(what="Table 2 variants"),
        )]  # fmt: skip
    base = "mask {1,2,3}, 2 s, uniform, contrastive"
    return [
        claim_better(
            HIER, "Mask prediction: the contrastive loss beats L2 (paper: CIDEr 61.2 vs 58.9).",
            t2, [(base, "L2 loss")], "CIDEr", table="hier_table2", pretrainings=pre,
        ),
        claim_better(
            HIER, "Mask sizes m ∈ {1, 2, 3} are best (paper: 61.2 vs 57.0 / 59.2 / 59.5).", t2,
            [(base, "mask {1}"), (base, "mask {1,2}"), (base, "mask {1,2,3,4}")], "CIDEr",
            table="hier_table2", pretrainings=pre,
        ),
        claim_better(
            HIER, "A 2 s token stride beats a longer one (paper: 61.2 vs 58.4 at 3 s).", t2,
            [(base, "stride 4 s")], "CIDEr", table="hier_table2", pretrainings=pre,
        ),
    ]  # fmt: skip


def first_over_tasks(
    paper: str, claim: str, rows: Measured, ours: str, tasks: Sequence[str],
    floors: dict[str, float] | None = None, table: str = "",
    pretrainings: Pretrainings | None = None,
) -> Finding:  # fmt: skip
    """Claim: row ``ours`` is the best over ``tasks`` (rule 4 against every other row).

    ``floors``: per task, the smallest difference its evaluation set can show (one item).
    """
    floors = floors or {}
    pairs, lines = [], []
    for other in rows:
        if other == ours:
            continue
        per_task = [
            _cmp(rows, ours, other, t, t in REGRESSIONS, floors.get(t, 0.0), table, pretrainings)
            for t in tasks
            if t in rows[ours] and t in rows[other]
        ]
        pair = tally(per_task)
        pairs.append(pair.outcome)
        lines.append(
            f"vs {other}: better on {pair.wins}, worse on {pair.losses}, noise on {pair.ties}"
            + (f", undecided on {pair.undecided}" if pair.undecided else "")
            + f" of {len(per_task)} tasks ({pair.outcome})"
        )
    spreads = {rows[ours][t].spread for t in tasks if t in rows[ours]}
    return Finding(
        paper, claim, claim_beats(pairs),
        f"{ours}, task by task beyond two standard errors over {' / '.join(sorted(spreads))}: "
        + "; ".join(lines) + ". A pair counts when one row wins at least two tasks more than "
        "it loses; the mean ranks in the table summarise means only.",
    )  # fmt: skip


def hier_findings(
    t: dict[str, Measured], items: dict[str, int] | None = None,
    seeds: Mapping[str, int] | None = None,
) -> list[Finding]:  # fmt: skip
    """Hier-SSL's findings from Tables 1-5 (Table 2 only with ``--ablations``).

    ``items``: Table 5's evaluation videos per LVU task (one video is the smallest top-1
    difference a task can show). ``seeds``: pretraining seeds per kind (rule 6).
    """
    pre = Pretrainings(seeds)
    out = []
    if "hier_table1" in t:
        out += _table1(t["hier_table1"], pre)
    if "hier_table3" in t:
        out += _table3(t["hier_table3"], pre)
    if "hier_table4" in t:
        out += _table4(t["hier_table4"], pre)
    out += _table2(t.get("hier_table2"), pre)
    t5 = t.get("hier_table5")
    claim = (
        "LVU: OT++ (instances + contextual scene features) has the best mean rank "
        "(paper: 2.33, next 2.89)."
    )
    if t5 and "OT++: OT, Ours" in t5:
        tasks = [c for c in next(iter(t5.values())) if c not in ("#top-1", "mean rank")]
        out.append(first_over_tasks(
            HIER, claim, t5, "OT++: OT, Ours", tasks, top1_floors(items),
            table="hier_table5", pretrainings=pre,
        ))  # fmt: skip
    else:
        out.append(Finding(HIER, claim, "inconclusive", NOT_MEASURED.format(what="Table 5 rows")))
    return out


# ---------------------------------------------------------------------- Movies2Scenes


def top1_floors(items: dict[str, int] | None) -> dict[str, float]:
    """Per classification task, one evaluation item in top-1 % (``100 / items``)."""
    return {t: 100.0 / n for t, n in (items or {}).items() if n and t not in REGRESSIONS}


def _every_task(t: dict[str, Measured], floors: dict[str, float], pre: Pretrainings) -> Finding:
    fixed, cowatch = "E_fixed (CLIP's role)", "E_scene (cowatch)"
    checks: list[tuple[str, Comparison]] = []
    if "m2s_table2" in t:
        t2 = t["m2s_table2"]
        c = compare(t2[f"{cowatch} | all"]["P@1"], t2[f"{fixed} | all"]["P@1"])
        checks.append(("place P@1", pre.gate(c, "m2s_table2", cowatch, fixed)))
    if "m2s_table3" in t:
        t3 = t["m2s_table3"]
        for task in t3[fixed]:
            c = _cmp(t3, cowatch, fixed, task, task in REGRESSIONS, floors.get(task, 0.0),
                     "m2s_table3", pre)  # fmt: skip
            checks.append((task, c))
    for key, metric in (("m2s_table4", "mAP"), ("m2s_table5", "AP"), ("m2s_table6", "mean")):
        if key in t and metric in t[key].get(cowatch, {}) and metric in t[key].get(fixed, {}):
            checks.append(
                (metric, _cmp(t[key], cowatch, fixed, metric, table=key, pretrainings=pre))
            )
    count = {o: sum(c.outcome == o for _, c in checks) for o in ("better", "worse", "noise")}
    undecided = len(checks) - sum(count.values())
    return Finding(
        M2S, "The scene encoder beats CLIP features (here E_fixed) on every task.",
        claim_beats([c.outcome for _, c in checks]),
        f"E_scene (co-watch) vs E_fixed over {len(checks)} task metrics: better beyond two "
        f"standard errors on {count['better']}, worse on {count['worse']}, noise on "
        f"{count['noise']}, undecided on {undecided}. "
        + "; ".join(f"{m}: {_est(c.a)} vs {_est(c.b)}, {c.text()}" for m, c in checks) + ".",
    )  # fmt: skip


def m2s_findings(
    t: dict[str, Measured], ablations: bool, items: dict[str, int] | None = None,
    seeds: Mapping[str, int] | None = None,
) -> list[Finding]:  # fmt: skip
    """Movies2Scenes' findings from Tables 2-6 (and Table 3's ablation rows).

    ``items``: Table 3's evaluation videos per LVU task (one video is the smallest top-1
    difference the task can show). ``seeds``: pretraining seeds per kind (rule 6).
    """
    pre = Pretrainings(seeds)
    floors = top1_floors(items)
    out = [_every_task(t, floors, pre)]
    t3 = t.get("m2s_table3")
    if not t3:
        return out
    # one video of one task moves the mean of the seven tasks by floor / 7
    floor = sum(floors.get(k, 0.0) for k in CLASSIFICATION_TASKS) / len(CLASSIFICATION_TASKS) ** 2
    metric = "mean top-1"
    summary: Measured = {
        r: {metric: mean_of([t3[r][k] for k in CLASSIFICATION_TASKS if k in t3[r]])} for r in t3
    }
    names = ["E_scene (cowatch)", "E_scene (genre)", "E_scene (synopsis)"]
    if all(n in summary for n in names):
        out.append(claim_better(
            M2S, "Similarity sources rank co-watch > genre > synopsis (LVU, Table 3).",
            summary, [(names[0], names[1]), (names[1], names[2])], metric, floor=floor,
            table="m2s_table3", pretrainings=pre,
        ))  # fmt: skip
    gs = "E_scene (genre+synopsis)"
    if gs in summary and names[0] in summary and names[1] in summary:
        same = _cmp(summary, gs, names[0], metric, floor=floor, table="m2s_table3",
                    pretrainings=pre)  # fmt: skip
        gap = _cmp(summary, names[0], names[1], metric, floor=floor, table="m2s_table3",
                   pretrainings=pre)  # fmt: skip
        verdict, evidence = same_as(
            (same, _line(gs, names[0], metric, same)),
            (gap, _line(names[0], names[1], metric, gap)),
        )
        out.append(Finding(
            M2S, "Genre and synopsis encoders concatenated ≈ co-watch (LVU, Table 3; the "
            "contrast: co-watch beats genre alone).", verdict, evidence + ".",
        ))  # fmt: skip
    abl = {
        "Selecting scene pairs in the learned space beats selecting in CLIP (E_fixed) space.":
            "E_scene, ablation-selection (pairs in E_fixed space)",
        "More pretraining data helps (all of the catalog vs a third).":
            "E_scene, ablation-scale (a third of the catalog)",
        "More shots per scene help (paper: 9 beat 4; here 4 against 2).":
            "E_scene, ablation-shots (2-shot scenes)",
    }  # fmt: skip
    for claim, row in abl.items():
        if row in summary and names[0] in summary:
            out.append(claim_better(
                M2S, claim, summary, [(names[0], row)], metric, floor=floor,
                table="m2s_table3", pretrainings=pre,
            ))  # fmt: skip
        else:
            out.append(
                Finding(M2S, claim, "inconclusive", NOT_MEASURED.format(what="ablation rows"))
            )
    return out
