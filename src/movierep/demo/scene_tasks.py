"""Movies2Scenes Tables 2-6 in the demo: E_fixed against E_scene per similarity source.

Each table is one stage over the encoders' feature tables (:mod:`movierep.demo.scenes`):

- ``m2s_table2`` place retrieval on LVU's scene task (val queries, train gallery, L2,
  P@1/5/10 per place and over all queries; mean ± s.e. over the queries, each query's
  precision one unit),
- ``m2s_table3`` LVU's nine tasks with a 2-hidden-layer MLP (top-1 %, MSE),
- ``m2s_table4`` MovieNet place tagging (mAP %),
- ``m2s_table5`` MovieNet scene boundaries (AP %, with mIoU and Recall@3s),
- ``m2s_table6`` moderation (AP % per class and their mean).
"""

from __future__ import annotations

import math

from movierep.demo import results
from movierep.demo.hierarchy import Paths, cut_rows, head, lvu_sources
from movierep.demo.presets import DemoPreset
from movierep.demo.scenes import features_of, fps
from movierep.demo.verdicts import Estimate
from movierep.tasks.lvu import LVUConfig, run_lvu, task_summary
from movierep.tasks.moderation import ModerationConfig, run_moderation
from movierep.tasks.movienet import PLACE_CONFIG, SBD_CONFIG, run_place_tagging, run_sbd
from movierep.tasks.place_retrieval import lvu_place_retrieval_per_query

NAN = math.nan


def encoder_rows(preset: DemoPreset, ablations: bool = False) -> list[tuple[str, str]]:
    """``(row name, encoder name)``: E_fixed, then E_scene per source (and ablations)."""
    from movierep.demo.scenes import ABLATIONS

    rows = [("E_fixed (CLIP's role)", "fixed")]
    rows += [(f"E_scene ({s})", s) for s in preset.sources]
    if {"genre", "synopsis"} <= set(preset.sources):
        rows.append(("E_scene (genre+synopsis)", "genre+synopsis"))
    if ablations:
        rows += [(f"E_scene, {a[0]}", a[0]) for a in ABLATIONS]
    return rows


def place_retrieval(p: Paths, preset: DemoPreset) -> None:
    """Movies2Scenes Table 2 (rows: ``<encoder> | <place>``, metrics ``P@k`` in %).

    Each cell is the mean over that place's val queries of their precision@k, with its
    standard error over the queries (``sd / √Q``).
    """
    sources = lvu_sources(p)
    rows: dict[str, dict[str, Estimate]] = {}
    for row, enc in encoder_rows(preset):
        table = cut_rows(features_of(p, enc, "movie"), sources)
        res = lvu_place_retrieval_per_query(p.lvu, table, row)
        for place, by_k in res.items():
            rows[f"{row} | {place}"] = {
                f"P@{k}": Estimate.of((100 * v).tolist(), "queries") for k, v in by_k.items()
            }
    results.save(p.out, "m2s_table2", rows)


def lvu(p: Paths, preset: DemoPreset, seed: int, ablations: bool) -> None:
    """Movies2Scenes Table 3: LVU's nine tasks on every encoder's features."""
    sources = lvu_sources(p)
    rows: results.Rows = {}
    for row, enc in encoder_rows(preset, ablations):
        table = cut_rows(features_of(p, enc, "movie"), sources)
        cfg = LVUConfig(head=head(preset, LVUConfig().head))
        res = run_lvu(p.lvu, table, runs=preset.runs["lvu"], seed=seed, cfg=cfg)
        rows[row] = task_summary(res)
        items = {task: len(r["predictions"]) for task, r in res.items()}
    results.save(p.out, "m2s_table3", rows, runs=preset.runs["lvu"], eval_items=items)


def movienet(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Movies2Scenes Tables 4 (place tagging, mAP) and 5 (scene boundaries, AP)."""
    tagging: results.Rows = {}
    sbd: results.Rows = {}
    first_predictions = {}
    runs = preset.runs["movienet"]
    for row, enc in encoder_rows(preset):
        table = features_of(p, enc, "movienet")
        tags = run_place_tagging(
            p.corpus / "movienet", table, head(preset, PLACE_CONFIG), runs=runs, seed=seed
        )
        tagging[row] = {k: (100 * m, 100 * s) for k, (m, s) in tags["summary"].items()}
        bounds = run_sbd(
            p.corpus / "movienet", table, head(preset, SBD_CONFIG), runs=runs, seed=seed,
            fps=fps(p),
        )  # fmt: skip
        sbd[row] = {
            k: (100 * m, 100 * s)
            for k, (m, s) in bounds["summary"].items()
            if k in ("AP", "mIoU", "Recall@3s")
        }
        first_predictions[row] = bounds["predictions"]
    results.save(p.out, "m2s_table4", tagging, runs=runs)
    results.save(p.out, "m2s_table5", sbd, runs=runs, predictions=first_predictions)


def moderation(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Movies2Scenes Table 6: moderation AP per class and the mean over content classes."""
    rows: results.Rows = {}
    runs = preset.runs["moderation"]
    for row, enc in encoder_rows(preset):
        cfg = ModerationConfig(head=head(preset, ModerationConfig().head))
        res = run_moderation(p.corpus, features_of(p, enc, "movie"), runs=runs, seed=seed, cfg=cfg)
        # a class with no positive among the held-out clips has no AP: left blank
        rows[row] = {
            k: (100 * m, 100 * s) for k, (m, s) in res["summary"].items() if not math.isnan(m)
        }
    results.save(p.out, "m2s_table6", rows, runs=runs)
