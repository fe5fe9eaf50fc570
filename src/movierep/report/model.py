"""The report's content as plain, frozen data: tables of numbers, figures, findings.

A :class:`Report` holds :class:`Section` s of prose, :class:`Table` s and :class:`Figure` s,
plus the :class:`Finding` s (one verdict per paper claim) and the run's facts. Nothing here
renders anything: :mod:`movierep.report.render` turns a report into HTML, Markdown and JSON.

A table compares this run's numbers (:class:`Cell`: mean ± standard error over seeded runs)
with the papers' printed numbers, kept verbatim as text (``"61.18 ± 1.48"``), since the
papers round and format them in their own ways.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

#: The verdicts a :class:`Finding` may carry, from best to worst news for the paper's claim
#: (``inconclusive``: the run is too small or too noisy to tell).
VERDICTS = ("reproduced", "not reproduced", "contradicted", "inconclusive")

#: Keys name files (``figures/<key>.png``) and HTML anchors, so they stay plain.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _check_key(kind: str, key: str) -> None:
    if not _KEY.fullmatch(key):
        raise ValueError(
            f"{kind} key {key!r}: use letters, digits, '_', '-' and '.' "
            "(starting with a letter or digit)"
        )


@dataclass(frozen=True)
class Cell:
    """One measured value: the mean over seeded runs and its standard error.

    Attributes:
        mean: The value (NaN when the run produced none, shown as ``n/a``).
        se: Standard error of the mean over the seeds; None (or NaN) for a single value.
    """

    mean: float
    se: float | None = None

    def has_se(self) -> bool:
        """Whether the cell carries a finite standard error."""
        return self.se is not None and math.isfinite(self.se)

    def text(self, digits: int = 1) -> str:
        """The value as printed: ``"57.5 ± 1.7"``, ``"57.5"`` without a standard error, ``"n/a"``.

        Args:
            digits: Digits after the decimal point, for the mean and the standard error alike.
        """
        if math.isnan(self.mean):
            return "n/a"
        text = f"{self.mean:.{digits}f}"
        if self.has_se():
            text += f" ± {self.se:.{digits}f}"
        return text


@dataclass(frozen=True)
class Row:
    """One row of a :class:`Table`: this run's values beside the paper's.

    Attributes:
        name: The row's label (a model, a setting), shown in the first column.
        cells: Column name -> this run's value; None (or a missing column): not measured.
        reference: Column name -> the paper's number as printed (``"61.18 ± 1.48"``).
        reference_name: The paper's row this one corresponds to, e.g.
            ``"Slow-D+TxE+TxD, CVRL-K400, MaskPred-LVU"``; empty when none.
        note: A short remark on the row (shown in a last column).
    """

    name: str
    cells: dict[str, Cell | None]
    reference: dict[str, str] = field(default_factory=dict)
    reference_name: str = ""
    note: str = ""

    def cell(self, column: str) -> Cell | None:
        """This run's value in ``column`` (None when not measured)."""
        return self.cells.get(column)


@dataclass(frozen=True)
class Table:
    """A table of measured numbers, each column optionally beside the paper's.

    Attributes:
        key: Short unique identifier (anchor ``table-<key>``; letters, digits, ``_-.``).
        title: Heading of the table.
        caption: What the numbers are (metric, split, seeds), shown under the title.
        columns: The measured columns, in order (the row name column is implicit).
        rows: The rows, in order.
        lower_is_better: Columns where a smaller value is better (errors, losses, EER).
        reference_label: Suffix of the reference columns' headers (``"C — <label>"``).
        digits: Digits after the decimal point when printing this run's values.
        highlight_best: Whether each column's best value is bold (off where no row is
            meant to win, e.g. a table of training losses).
    """

    key: str
    title: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    lower_is_better: frozenset[str] = frozenset()
    reference_label: str = "paper's reference"
    digits: int = 1
    highlight_best: bool = True

    def __post_init__(self) -> None:
        _check_key("table", self.key)
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"table {self.key}: duplicate column names in {self.columns}")
        known = set(self.columns)
        unknown = set(self.lower_is_better) - known
        for row in self.rows:
            unknown |= (set(row.cells) | set(row.reference)) - known
        if unknown:
            raise ValueError(f"table {self.key}: unknown columns {sorted(unknown)}")

    def finite(self) -> bool:
        """Whether every measured (non-None) cell has a finite mean."""
        cells = [cell for row in self.rows for cell in row.cells.values()]
        return all(cell is None or math.isfinite(cell.mean) for cell in cells)

    def best(self, column: str) -> str | None:
        """The name of the row with the best mean in ``column``, or None when none is finite.

        Best is the largest mean, or the smallest for columns in ``lower_is_better``;
        missing cells and non-finite means are ignored; ties go to the first row.
        """
        if column not in self.columns:
            raise ValueError(f"table {self.key}: no column {column!r}")
        sign = -1.0 if column in self.lower_is_better else 1.0
        best_name: str | None = None
        best_value = -math.inf
        for row in self.rows:
            cell = row.cell(column)
            if cell is None or not math.isfinite(cell.mean):
                continue
            if best_name is None or sign * cell.mean > best_value:
                best_name, best_value = row.name, sign * cell.mean
        return best_name

    def has_reference(self, column: str) -> bool:
        """Whether any row gives the paper's number for ``column``."""
        return any(row.reference.get(column, "") for row in self.rows)


@dataclass(frozen=True)
class Figure:
    """A rendered figure.

    Attributes:
        key: Short unique identifier; the file is ``figures/<key>.png``.
        title: Short title (also the image's alt text).
        caption: What the figure shows.
        png: The PNG file's bytes (see :mod:`movierep.report.plots`).
    """

    key: str
    title: str
    caption: str
    png: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key("figure", self.key)
        if not self.png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError(f"figure {self.key}: png is not a PNG file")


@dataclass(frozen=True)
class Finding:
    """One claim of a paper and whether this run bears it out.

    Attributes:
        paper: The paper (short name).
        claim: The claim, in a sentence.
        verdict: One of :data:`VERDICTS`.
        evidence: The numbers behind the verdict, in a sentence or two.
    """

    paper: str
    claim: str
    verdict: str
    evidence: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r}: expected one of {', '.join(VERDICTS)}")


@dataclass(frozen=True)
class Section:
    """A titled part of the report: prose (paragraphs split by blank lines), tables, figures."""

    title: str
    text: str = ""
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Report:
    """The whole report.

    Attributes:
        title: The page title.
        intro: Opening prose (paragraphs split by blank lines).
        sections: The sections, in order.
        findings: One verdict per paper claim, listed before the sections.
        facts: Run facts shown as a definition list (preset, seed, wall time, peak memory,
            machine...), in insertion order.
    """

    title: str
    intro: str
    sections: tuple[Section, ...]
    findings: tuple[Finding, ...] = ()
    facts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind, keys in (
            ("table", [t.key for s in self.sections for t in s.tables]),
            ("figure", [f.key for s in self.sections for f in s.figures]),
        ):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} keys: {', '.join(duplicates)}")
