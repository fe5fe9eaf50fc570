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
from typing import Any

from movierep.demo import results
from movierep.demo.hierarchy import cut_rows, head, lvu_sources
from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.scenes import features_of, fps
from movierep.demo.verdicts import Estimate, over_pretraining
from movierep.tasks.protocols.lvu import LVUConfig, run_lvu, task_summary
from movierep.tasks.protocols.moderation import ModerationConfig, run_moderation
from movierep.tasks.protocols.movienet import PLACE_CONFIG, SBD_CONFIG, run_place_tagging, run_sbd
from movierep.tasks.protocols.place_retrieval import lvu_place_retrieval_per_query

NAN = math.nan
#: The demo scores LVU (Table 3) and place retrieval (Table 2) on every held-out video,
#: val and test: it selects nothing on val, and 12-video test sets decide nothing.
HELD_OUT = ("val", "test")


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
    for row, enc, seeds in per_seed_rows(preset):
        per_seed: dict[str, dict[str, dict[int, Estimate]]] = {}
        for k in seeds:
            table = cut_rows(features_of(p, enc, "movie", k), sources)
            res = lvu_place_retrieval_per_query(p.lvu, table, row, HELD_OUT)
            for place, by_k in res.items():
                for at, v in by_k.items():
                    cell = per_seed.setdefault(f"{row} | {place}", {}).setdefault(f"P@{at}", {})
                    cell[k] = Estimate.of((100 * v).tolist(), "queries")
        for name, metrics in per_seed.items():
            rows[name] = {m: queries_and_seeds(by_seed) for m, by_seed in metrics.items()}
    results.save(p.out, "m2s_table2", rows)


def queries_and_seeds(per_seed: dict[int, Estimate]) -> Estimate:
    """One P@k from each pretraining seed's precision over the same queries.

    With one seed: its mean and s.e. over the queries. With P ≥ 2: the mean over the
    seeds, and ``se² = sd_seeds² / P + mean(se_queries²)``: the seeds' spread (the
    pretraining's, and whatever query noise the seeds do not share) plus the query
    sampling noise every seed shares (the same queries: averaging seeds does not reduce
    it). Spread ``pretraining seeds (P) + queries (Q)``.
    """
    if len(per_seed) == 1:
        return next(iter(per_seed.values()))
    over = over_pretraining(per_seed)
    shared = sum(e.se**2 for e in per_seed.values() if e.se is not None) / len(per_seed)
    se = math.sqrt((over.se or 0.0) ** 2 + shared)
    queries = next(iter(per_seed.values())).n
    spread = f"pretraining seeds ({len(per_seed)}) + queries ({queries})"
    return Estimate(over.mean, se, len(per_seed), spread, over.seeds)


def per_seed_rows(preset: DemoPreset, ablations: bool = False) -> list[tuple[str, str, range]]:
    """``(row, encoder, pretraining seeds)``: E_fixed once, E_scene rows per scene seed."""
    return [
        (row, enc, range(scene_seeds(preset, enc))) for row, enc in encoder_rows(preset, ablations)
    ]


def scene_seeds(preset: DemoPreset, encoder: str) -> int:
    """Pretraining seeds of an encoder row (E_fixed: 1; a concatenation: its parts' fewest)."""
    if encoder == "fixed":
        return 1
    return min(preset.seeds("scene", part) for part in encoder.split("+"))


def seeded_tables(
    preset: DemoPreset, ablations: bool, measure: Any, runs: int
) -> dict[int, dict[str, dict[str, Estimate]]]:
    """``{scene seed: rows}`` for :func:`movierep.demo.results.save_seeds`.

    ``measure(row, encoder, seed, runs)`` gives a row's ``{metric: (mean, se)}`` over
    ``runs`` head runs: ``runs`` for a row of one pretraining (E_fixed), one head run per
    seed for a row over several scene-MoCo seeds (the seeds' spread holds the heads').
    """
    out: dict[int, dict[str, dict[str, Estimate]]] = {}
    for row, enc, seeds in per_seed_rows(preset, ablations):
        r = 1 if len(seeds) > 1 else runs
        for k in seeds:
            cells = measure(row, enc, k, r)
            out.setdefault(k, {})[row] = {m: results.estimate(v, r) for m, v in cells.items()}
    return out


def _pct(
    summary: dict[str, tuple[float, float]], keep: Any = None
) -> dict[str, tuple[float, float]]:
    """A protocol's ``{metric: (mean, se)}`` in %: the metrics ``keep`` names (None: all).

    A metric with no value (NaN) is left out.
    """
    return {
        m: (100 * a, 100 * b)
        for m, (a, b) in summary.items()
        if (keep is None or m in keep) and not math.isnan(a)
    }


def lvu(p: Paths, preset: DemoPreset, seed: int, ablations: bool) -> None:
    """Movies2Scenes Table 3: LVU's nine tasks on every encoder's features."""
    sources = lvu_sources(p)
    items: dict[str, int] = {}

    def measure(row: str, enc: str, k: int, runs: int) -> dict[str, tuple[float, float]]:
        table = cut_rows(features_of(p, enc, "movie", k), sources)
        cfg = LVUConfig(head=head(preset, LVUConfig().head), eval_splits=HELD_OUT)
        res = run_lvu(p.lvu, table, runs=runs, seed=seed + k, cfg=cfg)
        items.update({task: len(r["predictions"]) for task, r in res.items()})
        return task_summary(res)

    per_seed = seeded_tables(preset, ablations, measure, preset.runs["lvu"])
    results.save_seeds(p.out, "m2s_table3", per_seed, runs=preset.runs["lvu"], eval_items=items)


def movienet(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Movies2Scenes Tables 4 (place tagging, mAP) and 5 (scene boundaries, AP)."""
    sbd: dict[int, dict[str, dict[str, Estimate]]] = {}
    first_predictions = {}
    runs = preset.runs["movienet"]

    def measure(row: str, enc: str, k: int, r: int) -> dict[str, tuple[float, float]]:
        table = features_of(p, enc, "movienet", k)
        segments = table if enc == "fixed" else features_of(p, enc, "movienet_places", k)
        tags = run_place_tagging(
            p.corpus / "movienet", segments, head(preset, PLACE_CONFIG), runs=r,
            seed=seed + k, test_split=HELD_OUT,
        )  # fmt: skip
        bounds = run_sbd(
            p.corpus / "movienet", table, head(preset, SBD_CONFIG), runs=r, seed=seed + k,
            fps=fps(p),
        )  # fmt: skip
        cells = _pct(bounds["summary"], ("AP", "mIoU", "Recall@3s"))
        sbd.setdefault(k, {})[row] = {m: results.estimate(v, r) for m, v in cells.items()}
        if k == 0:
            first_predictions[row] = bounds["predictions"]
        return _pct(tags["summary"])

    tagging = seeded_tables(preset, False, measure, runs)
    results.save_seeds(p.out, "m2s_table4", tagging, runs=runs)
    results.save_seeds(p.out, "m2s_table5", sbd, runs=runs, predictions=first_predictions)


def moderation(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Movies2Scenes Table 6: moderation AP per class and the mean over content classes.

    Each clip's feature is from its own 9 frames (supplement §1.4; E_fixed per frame then
    the mean, E_scene the frames as one scene: :func:`movierep.demo.scenes.clip_features_of`).
    A class with no positive among the held-out clips has no AP and is left blank.
    """
    from movierep.demo.scenes import clip_features_of

    runs = preset.runs["moderation"]

    def measure(row: str, enc: str, k: int, r: int) -> dict[str, tuple[float, float]]:
        # the paper scores test; the demo selects nothing on val, so it scores val + test
        cfg = ModerationConfig(
            head=head(preset, ModerationConfig().head), eval_splits=("val", "test")
        )
        table = clip_features_of(p, enc, k)
        res = run_moderation(p.corpus, table, runs=r, seed=seed + k, cfg=cfg)
        return _pct(res["summary"])

    results.save_seeds(p.out, "m2s_table6", seeded_tables(preset, False, measure, runs), runs=runs)
