"""Every measurement of a demo run as ``OUT/results/<key>.json``: rows of mean ± s.e.

A protocol stage writes its table once (:func:`save`); the report reads them all back
(:func:`load`), so a rerun that skips finished stages still reports every number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from movierep import files

#: ``{row name: {metric: (mean, se)}}``
Rows = dict[str, dict[str, tuple[float, float]]]


def _finite(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def save(out: Path, key: str, rows: Rows, **extra: Any) -> Path:
    """Write ``rows`` (and any JSON-safe ``extra``) to ``out/results/<key>.json``."""
    payload = {
        "rows": {
            name: {m: {"mean": _finite(v[0]), "se": _finite(v[1])} for m, v in metrics.items()}
            for name, metrics in rows.items()
        },
        **extra,
    }
    return files.write_json(out / "results" / f"{key}.json", payload)


def load(out: Path, key: str) -> tuple[Rows, dict[str, Any]]:
    """``(rows, extra)`` of a saved table; a missing value reads as NaN."""
    payload = files.read_json(out / "results" / f"{key}.json")
    nan = float("nan")
    rows: Rows = {
        name: {
            m: (nan if v["mean"] is None else v["mean"], nan if v["se"] is None else v["se"])
            for m, v in metrics.items()
        }
        for name, metrics in payload.pop("rows").items()
    }
    return rows, payload


def exists(out: Path, key: str) -> bool:
    """Whether table ``key`` was measured."""
    return (out / "results" / f"{key}.json").is_file()
