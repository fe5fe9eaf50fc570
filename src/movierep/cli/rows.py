"""The one row syntax of every ``movierep eval`` command: ``--row NAME=INPUT[,INPUT]``.

A row is one line of a paper's table: a name and what it is computed from. Every
``eval`` command takes repeatable ``--row`` options in the same form; only the number and
meaning of the comma-separated inputs differ:

- ``vidsitu-verbs``, ``vidsitu-srl``, ``vidsitu-relations``: ``BACKBONE[,TXE]``, checkpoints,
  e.g. ``--row "CVRL + TxE=runs/cvrl/last,runs/txe/last"``;
- ``lvu``, ``place-retrieval``, ``movienet-places``, ``movienet-sbd``, ``moderation``:
  ``TABLE[#COLUMN]``, a feature table, e.g. ``--row E_scene=runs/scenes.parquet``;
- ``lvu-ot``: ``INSTANCES,SCENE``, two feature tables (``-``: not used), e.g.
  ``--row OT++=inst.parquet,events.parquet``.

``NAME=`` may be left out: the row is then named after its first input's file name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from movierep.errors import UserError


def add_row_arg(parser: argparse.ArgumentParser, inputs: str, what: str) -> None:
    """Add the repeatable ``--row NAME=INPUTS`` option.

    Args:
        parser: the command's parser.
        inputs: the inputs' metavar, e.g. ``BACKBONE[,TXE]``.
        what: what the inputs are, for the help line.
    """
    parser.add_argument(
        "--row",
        action="append",
        required=True,
        metavar=f"NAME={inputs}",
        help=f"a table row (repeatable): its name and {what}",
    )


def parse_rows(specs: list[str], least: int, most: int) -> dict[str, list[str]]:
    """``NAME=A[,B...]`` strings -> ``{name: [A, B, ...]}`` in the order given.

    Args:
        specs: the ``--row`` values.
        least: fewest inputs a row takes.
        most: most inputs a row takes.

    Raises:
        UserError: a row with too few or too many inputs, an empty input, or a name given twice.
    """
    rows: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if not sep:
            name, rest = "", spec
        inputs = rest.split(",")
        if not least <= len(inputs) <= most or not all(inputs):
            count = str(least) if least == most else f"{least} to {most}"
            raise UserError(f"--row {spec!r}: expected NAME= then {count} comma-separated inputs")
        name = name or Path(inputs[0].partition("#")[0]).stem
        if name in rows:
            raise UserError(f"--row: the name {name!r} is given twice")
        rows[name] = inputs
    return rows
