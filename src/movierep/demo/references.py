"""The papers' own numbers, printed beside this run's as the reference columns.

Transcribed from the two papers' tables (``shared/papers``); nothing else in the report is
copied in. Each entry maps one of the demo's rows to the paper row it corresponds to and
that row's numbers, by column. The settings differ (the papers: Kinetics-400, VidSitu,
LVU, MovieNet, MovieCL30K, ResNet-50 Slow-D and CLIP ViT-B/16; the demo: a synthetic corpus
and CPU-sized models), so a reference column says what shape to look for, never a value
to match.
"""

from __future__ import annotations

from movierep.data.benchmarks.lvu import LVU_TASKS

#: ``{table key: {demo row: (paper row, {column: number as printed})}}``
Reference = dict[str, dict[str, tuple[str, dict[str, str]]]]

_SRL = ("CIDEr", "CIDEr-verb", "CIDEr-arg", "ROUGE-L", "LEA")
_RELATIONS = ("Mean-Acc", "Top-1")
_VERBS = ("Acc@1", "Acc@5", "Recall@5")
#: Hier-SSL Table 5's columns: LVU's tasks in LVU's order, then the rank summary.
TABLE5_COLUMNS = (*LVU_TASKS, "#top-1", "mean rank")
#: Movies2Scenes Table 3's columns, in the paper's order.
M2S_LVU_COLUMNS = (
    "scene", "director", "relationship", "way_speaking", "writer", "year", "genre",
    "view_count", "like_ratio",
)  # fmt: skip


def _rows(
    columns: tuple[str, ...], rows: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, dict[str, str]]]:
    """``{demo row: (paper row, "v1|v2|...")}`` → ``{demo row: (paper row, {column: v})}``."""
    return {
        name: (paper, dict(zip(columns, values.split("|"), strict=True)))
        for name, (paper, values) in rows.items()
    }


REFERENCES: Reference = {
    "hier_table1": _rows(
        _SRL,
        {
            "verb only (vision-blind TxD, GPT2's role)": (
                "GPT2 [37]",
                "34.67|42.97|34.45|40.08|48.08",
            ),
            "Slow-D+TxD, Sup": (
                "Slow-D+TxD, Sup-K400",
                "51.37 ± 1.06|59.68 ± 0.88|46.10 ± 0.90|41.37 ± 0.59|36.03 ± 0.70",
            ),
            "Slow-D+TxE+TxD, Sup, TxE N": (
                "Slow-D+TxE+TxD, Sup-K400, N",
                "51.36 ± 1.04|59.72 ± 0.87|47.25 ± 0.94|41.72 ± 0.65|45.99 ± 0.56",
            ),
            "Slow-D+TxE+TxD, CVRL, TxE N": (
                "Slow-D+TxE+TxD, CVRL-K400, N",
                "54.40 ± 0.96|63.18 ± 1.27|47.63 ± 1.83|41.80 ± 1.01|46.31 ± 1.13",
            ),
            "Slow-D+TxE+TxD, CVRL, MaskPred": (
                "Slow-D+TxE+TxD, CVRL-K400, MaskPred-LVU",
                "61.18 ± 1.48|69.15 ± 1.57|54.99 ± 1.12|43.38 ± 0.87|47.81 ± 0.90",
            ),
        },
    ),
    "hier_table2": _rows(
        _SRL,
        {
            "mask {1}": (
                "{1}, 2s, uniform, contrastive",
                "57.01 ± 2.21|63.80 ± 3.06|50.85 ± 1.77|41.69 ± 1.34|49.13 ± 1.24",
            ),
            "mask {1,2}": (
                "{1, 2}, 2s, uniform, contrastive",
                "59.15 ± 2.01|66.79 ± 1.99|53.56 ± 1.61|42.16 ± 1.13|46.33 ± 0.94",
            ),
            "mask {1,2,3}, 2 s, uniform, contrastive": (
                "{1, 2, 3}, 2s, uniform, contrastive",
                "61.18 ± 1.48|69.15 ± 1.57|55.00 ± 1.12|43.38 ± 0.87|47.81 ± 0.90",
            ),
            "mask {1,2,3,4}": (
                "{1, 2, 3, 4}, 2s, uniform, contrastive",
                "59.45 ± 1.31|64.71 ± 2.05|52.94 ± 1.55|43.25 ± 0.56|48.96 ± 0.61",
            ),
            "stride 4 s": (
                "{1, 2, 3}, 3s (the paper's largest stride)",
                "58.38 ± 0.80|65.69 ± 0.72|52.15 ± 1.11|42.50 ± 0.49|48.02 ± 0.70",
            ),
            "L2 loss": (
                "{1, 2, 3}, 2s, uniform, L2 distance",
                "58.88 ± 1.13|66.43 ± 0.86|52.22 ± 1.01|43.05 ± 0.60|48.55 ± 0.85",
            ),
            "max discrepancy sampling": (
                "{1, 2, 3}, 2s, max discrep., contrastive",
                "61.65 ± 0.79|68.44 ± 0.93|55.06 ± 0.90|43.44 ± 0.45|48.25 ± 0.54",
            ),
        },
    ),
    "hier_table3": _rows(
        _RELATIONS,
        {
            "Slow-D, Supervised": (
                "Slow-D, Supervised, no vb finetune",
                "33.03 ± 0.21|41.90 ± 0.23",
            ),
            "Slow-D, CVRL": ("Slow-D, CVRL, no vb finetune", "32.05 ± 0.24|38.68 ± 0.69"),
            "Slow-D, MoDist": ("Slow-D, MoDist, no vb finetune", "33.29 ± 0.15|40.52 ± 0.58"),
            "Slow-D+TxE, CVRL, TxE No": (
                "Slow-D+TxE, CVRL, vb finetune, TxE No",
                "25.00 ± 0.00|39.42 ± 0.00",
            ),
            "Slow-D+TxE, MoDist, TxE No": (
                "Slow-D+TxE, MoDist, vb finetune, TxE No",
                "25.00 ± 0.00|39.42 ± 0.00",
            ),
            "Slow-D+TxE, CVRL, MaskPred": (
                "Slow-D+TxE, CVRL, vb finetune, MaskPred",
                "34.71 ± 0.07|41.16 ± 0.24",
            ),
            "Slow-D+TxE, MoDist, MaskPred": (
                "Slow-D+TxE, MoDist, vb finetune, MaskPred",
                "35.32 ± 0.17|41.62 ± 0.43",
            ),
        },
    ),
    "hier_table4": _rows(
        _VERBS,
        {
            "Slow-D, -": ("Slow-D, -", "31.69|68.64|5.68"),
            "Slow-D, Sup": ("Slow-D, Sup-K400", "38.29|69.27|18.70"),
            "Slow-D, CVRL": ("Slow-D, CVRL-K400+VS", "35.29|65.92|14.41"),
            "Slow-D, MoDist": ("Slow-D, MoDist-K400+VS", "44.67|74.38|18.40"),
        },
    ),
    "hier_table5": _rows(
        TABLE5_COLUMNS,
        {
            "OT (Sup + masked-instance pretraining), -": (
                "OT [54], X",
                "50.00|34.57|32.56|37.38|26.55|25.73|49.55|0.396|4.559|1|3.22",
            ),
            "CVRL, -": ("CVRL, X", "50.95|32.86|32.56|37.76|27.26|25.31|48.17|0.444|4.600|0|3.89"),
            "MoDist, -": (
                "MoDist, X",
                "49.52|33.57|30.70|40.56|23.10|26.57|49.26|0.458|4.506|0|3.89",
            ),
            "-, Sup": ("X, Sup", "52.38|34.37|26.51|23.18|5.36|18.88|47.37|0.595|4.061|2|4.44"),
            "-, Ours (CVRL + TxE MaskPred)": (
                "X, Ours",
                "52.38|33.07|36.98|42.43|23.93|35.24|48.11|0.375|4.653|3|2.89",
            ),
            "OT++: OT, Ours": (
                "OT [54], Ours",
                "50.95|34.07|44.19|40.19|31.43|29.65|51.15|0.353|4.886|4|2.33",
            ),
        },
    ),
    "m2s_table3": _rows(
        M2S_LVU_COLUMNS,
        {
            "E_fixed (CLIP's role)": ("CLIP [38]", "52.9|56.2|56.1|36.7|37.8|46.4|50.9|3.85|0.411"),
            "E_scene (genre)": ("Ours (genre)", "63.2|57.6|66.8|39.7|47.1|44.8|56|3.86|0.358"),
            "E_scene (synopsis)": (
                "Ours (synopsis)",
                "56.4|53.0|65.8|35.7|45.4|35.1|49.7|3.88|0.471",
            ),
            "E_scene (genre+synopsis)": (
                "Ours (genre+synopsis)",
                "66.3|65.2|69.7|42.6|51.5|51.8|56.6|2.97|0.204",
            ),
            "E_scene (cowatch)": (
                "Ours (co-watch)",
                "63.8|65.1|67.7|44.9|56.2|54.7|57.5|2.46|0.153",
            ),
            "E_scene, ablation-selection (pairs in E_fixed space)": (
                "Ours (ablation-selection)",
                "57.3|59.3|60.8|39.4|45.5|49.1|51.8|3.72|0.385",
            ),
            "E_scene, ablation-scale (a third of the catalog)": (
                "Ours (ablation-scale)",
                "53.4|55.2|55.1|36.1|37.7|48.5|50.4|4.03|0.419",
            ),
        },
    ),
    "m2s_table4": {
        "E_fixed (CLIP's role)": ("Feature+MLP, CLIP [38]", {"mAP": "9.26"}),
        "E_scene (cowatch)": ("Feature+MLP, Ours", {"mAP": "12.13"}),
    },
    "m2s_table5": {
        "E_fixed (CLIP's role)": ("CLIP [38], cross-domain", {"AP": "47.4"}),
        "E_scene (cowatch)": ("Ours, cross-domain", {"AP": "54.22"}),
    },
    "m2s_table6": {
        "E_fixed (CLIP's role)": (
            "CLIP [38]",
            {"intimacy": "78.5", "violence": "62.1", "drug_use": "55.1", "mean": "65.2"},
        ),
        "E_scene (cowatch)": (
            "Ours (MovieCL30K)",
            {"intimacy": "81.8", "violence": "70.1", "drug_use": "62.2", "mean": "71.3"},
        ),
    },
}

#: Movies2Scenes Table 2 (place retrieval), by place: ``{place: (CLIP P@1/5/10, Ours P@1/5/10)}``.
PLACE_RETRIEVAL: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "office": (("30", "20", "19"), ("40", "34", "30")),
    "airport": (("0", "15", "10"), ("0", "20", "20")),
    "school": (("28.57", "26.66", "25"), ("45.23", "40.95", "40.95")),
    "hotel": (("35.71", "28.57", "29.28"), ("42.85", "28.57", "26.42")),
    "prison": (("52.94", "42.94", "42.94"), ("67.64", "44.70", "42.94")),
    "restaurant": (("20", "13.99", "13.99"), ("30", "26", "19")),
    "all": (("35.08", "29.64", "28.85"), ("48.24", "37.89", "36.14")),
}
