"""Checks of the pipeline's own stages against the corpus' ground truth.

- ``diag_shots``: detected shot boundaries against the true cuts (precision, recall, F1,
  ±2 frames);
- ``diag_maskpred``: does TxE learn mask prediction? The masked event's true feature among
  100 distractors, retrieved from TxE's prediction, from an untrained TxE, and from the
  mean of the visible events (the baseline a TxE must beat).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from movierep import tables
from movierep.data.sequences import EventSequenceDataset
from movierep.demo import results
from movierep.demo.hierarchy import SELF_SUPERVISED
from movierep.demo.paths import Paths
from movierep.metrics.boundaries import boundary_f1
from movierep.models import load_pretrained
from movierep.tasks.diagnostics.maskpred_retrieval import (
    context_mean_predictor,
    masked_event_retrieval,
)

NAN = math.nan


def shot_detection(p: Paths) -> None:
    """Detected shot starts against the true ones, pooled over the movies (±2 frames)."""
    pred = tables.read_table(p.shots / "shots.parquet").to_pylist()
    true = tables.read_table(p.corpus / "truth" / "shots.parquet").to_pylist()

    def starts(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
        return [(r["movie_id"], int(r["start_frame"])) for r in rows if r["shot_index"] > 0]

    a, b = starts(pred), starts(true)
    # movies are offset by more than the tolerance so they never match each other
    base = {m: i * 10**7 for i, m in enumerate(sorted({m for m, _ in a + b}))}
    score = boundary_f1([base[m] + f for m, f in a], [base[m] + f for m, f in b], tolerance=2)
    row = {"precision": score.precision, "recall": score.recall, "F1": score.f1}
    results.save(
        p.out, "diag_shots", {"detected shots": {k: (100 * v, NAN) for k, v in row.items()}}
    )


def maskpred_retrieval(p: Paths) -> None:
    """Masked-event retrieval for each self-supervised backbone's TxE (accuracy %)."""
    rows: results.Rows = {}
    for backbone in SELF_SUPERVISED:
        data = EventSequenceDataset.from_parquet(p.events(backbone), 5)
        predictors: dict[str, Any] = {
            "mean of the visible events (no TxE)": context_mean_predictor,
            "TxE untrained": load_pretrained(p.txe(backbone, trained=False)),
            "TxE MaskPred": load_pretrained(p.txe(backbone)),
        }
        for name, predictor in predictors.items():
            with torch.no_grad():
                r = masked_event_retrieval(
                    predictor, data.runs.features, data.windows, num_distractors=100, seed=0
                )
            rows[f"{backbone.upper() if backbone == 'cvrl' else 'MoDist'}: {name}"] = {
                "accuracy": (100 * r.accuracy, NAN),
                "chance": (100 * r.chance, NAN),
            }
    results.save(p.out, "diag_maskpred", rows)


def run(p: Paths) -> None:
    """Both checks."""
    shot_detection(p)
    maskpred_retrieval(p)
