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

from movierep import dist, files

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
    given scalars. A resumed run (``after_step``: the step it resumes from) first drops
    the records past that step, which a killed run logged after its last checkpoint, and
    then appends: the file reads as if the run had never stopped.
    """

    def __init__(
        self, out_dir: str | Path, filename: str = "metrics.jsonl", *, after_step: int = 0
    ) -> None:
        self.path = Path(out_dir) / filename
        self.start = time.monotonic()
        self.history: list[dict[str, Any]] = []
        if dist.is_main():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_file():
                kept = [r for r in _records(self.path) if r["step"] <= after_step]
                files.write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def log(self, step: int, **scalars: float) -> None:
        """Record ``scalars`` at ``step``."""
        record: dict[str, Any] = {"step": step, "time": round(time.monotonic() - self.start, 3)}
        record.update({k: float(v) for k, v in scalars.items()})
        self.history.append(record)
        if dist.is_main():
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The whole records of a metrics file (a line cut by a killed run is skipped)."""
    for line in path.read_text().splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


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
    files.write_text(path, "\n".join(lines) + "\n")
    return path
