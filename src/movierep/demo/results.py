"""Every measurement of a demo run as ``OUT/results/<key>.json``: rows of estimates.

A protocol stage writes its table once; the report reads them all back (:func:`load`), so
a rerun that skips finished stages still reports every number. A cell is an
:class:`~movierep.demo.verdicts.Estimate` (mean, standard error, ``n`` independent units
and the ``spread`` naming them); in JSON a missing value is ``null``, never NaN, with
``n`` beside it::

    {"rows": {"Slow-D, CVRL": {"Acc@1": {"mean": 41.2, "se": 1.3, "n": 5,
                                         "spread": "head runs only (one pretraining, 5 runs)"}}},
     "runs": 5}

Three ways to save a table:

- :func:`save` with rows of ``(mean, se)`` over ``runs`` seeded head runs of one
  pretraining (what a protocol's ``summary`` gives): the cells' spread says
  ``head runs only (one pretraining, R runs)``. Without ``runs`` a tuple cell is one
  measurement (``n = 1``; it must have no s.e.).
- :func:`save` with :class:`Estimate` cells built by the stage (place retrieval's
  precision over queries: ``Estimate.of(per_query, "queries")``).
- :func:`save_seeds` when the stage pretrained several seeds: one ``Rows`` per pretraining
  seed, each exactly what :func:`save` would take for that seed. Every cell becomes
  :func:`~movierep.demo.verdicts.over_pretraining` of its seeds (mean of the per-seed means,
  ``se = sd / √P``, spread ``pretraining seeds (P) × head runs (R)``), and keeps the
  per-seed means as ``"seeds": {"0": …, "1": …}``. A row measured under only one seed
  (a baseline whose pretraining ran once) keeps its head runs' spread::

      per_seed = {s: {name: summary_of(name, s) for name in names} for s in (0, 1, 2)}
      results.save_seeds(p.out, "hier_table4", per_seed, runs=preset.runs["vidsitu"])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from movierep import files
from movierep.demo.verdicts import Estimate, head_runs_spread, over_pretraining

#: ``{row name: {metric: (mean, se)}}``, a stage's table before saving.
Rows = dict[str, dict[str, tuple[float, float]]]
#: What :func:`save` takes: ``(mean, se)`` tuples or estimates.
CellIn = tuple[float, float] | Estimate
#: ``{row name: {metric: Estimate}}``, a saved table as :func:`load` reads it.
Measured = dict[str, dict[str, Estimate]]

ONE = "one measurement"


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def estimate(cell: CellIn, runs: int | None) -> Estimate:
    """A cell as an :class:`Estimate` (a ``(mean, se)`` tuple is over ``runs`` head runs)."""
    if isinstance(cell, Estimate):
        return cell
    mean, se = float(cell[0]), _finite(float(cell[1]))
    if runs is None:
        if se is not None:
            raise ValueError(f"a cell with a standard error ({cell}) needs runs=")
        return Estimate(mean, None, 1, ONE)
    return Estimate(mean, se, runs, head_runs_spread(runs))


def _cell_json(e: Estimate) -> dict[str, Any]:
    out: dict[str, Any] = {"mean": _finite(e.mean), "se": _finite(e.se), "n": e.n}
    out["spread"] = e.spread
    if e.seeds:
        out["seeds"] = {str(s): _finite(v) for s, v in e.seeds.items()}
    return out


def _write(out: Path, key: str, rows: dict[str, Any], extra: dict[str, Any]) -> Path:
    payload = {"rows": rows, **files.json_safe(extra)}
    path = out / "results" / f"{key}.json"
    return files.write_json(path, payload, allow_nan=False)


def save(out: Path, key: str, rows: Mapping[str, Mapping[str, CellIn]], **extra: Any) -> Path:
    """Write ``rows`` (and any JSON-safe ``extra``) to ``out/results/<key>.json``.

    ``extra["runs"]``, when given, is the number of head runs behind each tuple cell.
    """
    runs = extra.get("runs")
    table = {
        name: {m: _cell_json(estimate(v, runs)) for m, v in metrics.items()}
        for name, metrics in rows.items()
    }
    return _write(out, key, table, extra)


def save_seeds(
    out: Path, key: str, per_seed: Mapping[int, Mapping[str, Mapping[str, CellIn]]],
    **extra: Any,
) -> Path:  # fmt: skip
    """Write one table measured under several pretraining seeds, each cell combined.

    Args:
        out: The demo's output folder.
        key: The table's key.
        per_seed: ``{pretraining seed: rows}``, each as :func:`save` takes them (tuple
            cells over ``extra["runs"]`` head runs).
        extra: JSON-safe extras (``runs=``); ``pretraining_seeds`` is added.
    """
    runs = extra.get("runs")
    names = list(dict.fromkeys(n for rows in per_seed.values() for n in rows))
    table: dict[str, Any] = {}
    for name in names:
        metrics = list(dict.fromkeys(m for r in per_seed.values() for m in r.get(name, {})))
        table[name] = {}
        for m in metrics:
            seeds = {
                s: estimate(r[name][m], runs) for s, r in per_seed.items() if m in r.get(name, {})
            }
            table[name][m] = _cell_json(over_pretraining(seeds))
    extra = {**extra, "pretraining_seeds": sorted(per_seed)}
    return _write(out, key, table, extra)


def _load_cell(v: dict[str, Any], runs: int | None) -> Estimate:
    mean = math.nan if v.get("mean") is None else float(v["mean"])
    se = None if v.get("se") is None else float(v["se"])
    if "n" in v:
        seeds = v.get("seeds")
        per_seed = (
            {int(k): math.nan if x is None else float(x) for k, x in seeds.items()}
            if seeds
            else None
        )
        return Estimate(mean, se, int(v["n"]), str(v["spread"]), per_seed)
    # written before cells carried n and spread: over the table's head runs
    return Estimate(mean, se, runs or 1, head_runs_spread(runs) if runs else ONE)


def load(out: Path, key: str) -> tuple[Measured, dict[str, Any]]:
    """``(rows of estimates, extra)`` of a saved table; a missing mean reads as NaN."""
    payload = files.read_json(out / "results" / f"{key}.json")
    rows = payload.pop("rows")
    runs = payload.get("runs")
    table: Measured = {
        name: {m: _load_cell(v, runs) for m, v in metrics.items()} for name, metrics in rows.items()
    }
    return table, payload


def exists(out: Path, key: str) -> bool:
    """Whether table ``key`` was measured."""
    return (out / "results" / f"{key}.json").is_file()
