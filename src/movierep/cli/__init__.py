"""The ``movierep`` command: one subcommand per user task.

Every command is a function of ``argv`` so tests call ``main([...])`` directly, and the
same code runs under ``python -m movierep`` and ``torchrun -m movierep``. User errors
(:class:`movierep.errors.UserError`) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from movierep.errors import UserError
from movierep.version import __version__


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every command group registered."""
    from movierep.cli import (
        corpus,
        demo,
        evaluate,
        extract,
        ingest,
        serve,
        similarity,
        store,
        train,
    )

    parser = argparse.ArgumentParser(
        prog="movierep",
        description="Self-supervised representations of movies: events, shots, scenes, movies.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"movierep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (corpus, ingest, train, extract, similarity, evaluate, store, serve, demo):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit status (0 ok, 2 user error)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"movierep: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("movierep: interrupted", file=sys.stderr)
        return 130
