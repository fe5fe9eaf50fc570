"""What a run leaves for people to read: ``metrics.jsonl``, ``summary.md`` and progress bars.

Only the main process writes and shows progress, so the same code is quiet on the other
ranks of a ``torchrun`` job.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from movierep import dist

T = TypeVar("T")


def progress(
    iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar on the main process (plain iteration elsewhere)."""
    if not dist.is_main():
        yield from iterable
        return
    yield from tqdm(
        iterable, desc=desc, total=total, unit=unit, dynamic_ncols=True, file=sys.stderr
    )


class MetricsLogger:
    """Append one JSON object per logged step to ``metrics.jsonl`` (main process only).

    Each record holds ``step``, ``time`` (seconds since the logger started) and the
    given scalars; a resumed run appends to the same file.
    """

    def __init__(self, out_dir: str | Path, filename: str = "metrics.jsonl") -> None:
        self.path = Path(out_dir) / filename
        self.start = time.monotonic()
        self.history: list[dict[str, Any]] = []
        if dist.is_main():
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, step: int, **scalars: float) -> None:
        """Record ``scalars`` at ``step``."""
        record: dict[str, Any] = {"step": step, "time": round(time.monotonic() - self.start, 3)}
        record.update({k: float(v) for k, v in scalars.items()})
        self.history.append(record)
        if dist.is_main():
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``metrics.jsonl`` file back as a list of records."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_summary(out_dir: str | Path, title: str, rows: dict[str, Any]) -> Path | None:
    """Write a short human summary ``summary.md`` (a title and a two-column table)."""
    if not dist.is_main():
        return None
    path = Path(out_dir) / "summary.md"
    lines = [f"# {title}", "", "| | |", "|---|---|"]
    for key, value in rows.items():
        if isinstance(value, float):
            value = f"{value:.4g}" if math.isfinite(value) else str(value)
        lines.append(f"| {key} | {value} |")
    path.write_text("\n".join(lines) + "\n")
    return path
