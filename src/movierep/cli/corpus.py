"""``movierep corpus make`` and ``movierep corpus preview``: the embedded synthetic corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

MAKE_EXAMPLE = """example:
  movierep corpus make corpus/ --preset tiny --seed 0
  movierep corpus make corpus/ --preset demo --movies 24 --minutes 3 --width 160 --height 90"""
PREVIEW_EXAMPLE = """example:
  movierep corpus preview corpus/ --out corpus/contact_sheet.png"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``corpus`` command group."""
    group = sub.add_parser(
        "corpus",
        help="generate or preview the synthetic movie corpus",
        description="Generate or preview the synthetic movie corpus (see CORPUS.md).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=MAKE_EXAMPLE,
    )
    commands = group.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)

    make = commands.add_parser(
        "make",
        help="write a corpus: movies, catalog, watch log, ground truth, action clips",
        description="Write a synthetic corpus (deterministic for a seed and options).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=MAKE_EXAMPLE,
    )
    make.add_argument("out", type=Path, help="output folder")
    make.add_argument("--preset", default="tiny", help="tiny (tests) or demo (default: tiny)")
    make.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    make.add_argument("--movies", type=int, help="number of movies (preset default)")
    make.add_argument("--minutes", type=float, help="mean movie length in minutes")
    make.add_argument("--fps", type=int, help="frame rate (default 25)")
    make.add_argument("--width", type=int, help="frame width (default 128)")
    make.add_argument("--height", type=int, help="frame height (default 72)")
    make.add_argument("--users", type=int, help="simulated viewers in the watch log")
    make.add_argument(
        "--workers", type=int, default=1, help="movies rendered in parallel (default 1)"
    )
    make.set_defaults(func=run_make)

    preview = commands.add_parser(
        "preview",
        help="write a contact sheet PNG of a corpus's keyframes",
        description="Write a contact sheet: one row per movie, one keyframe per shot.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=PREVIEW_EXAMPLE,
    )
    preview.add_argument("corpus", type=Path, help="a corpus folder")
    preview.add_argument("--out", type=Path, help="PNG path (default: CORPUS/contact_sheet.png)")
    preview.add_argument("--movies", type=int, default=8, help="rows (default 8)")
    preview.add_argument("--shots", type=int, default=8, help="keyframes per row (default 8)")
    preview.set_defaults(func=run_preview)


def run_make(args: argparse.Namespace) -> int:
    """Generate the corpus and print where it went."""
    from movierep.corpus import make_corpus

    overrides = {
        name: getattr(args, name)
        for name in ("movies", "minutes", "fps", "width", "height", "users")
    }
    root = make_corpus(
        args.out, preset=args.preset, seed=args.seed, workers=args.workers, **overrides
    )
    print(f"corpus written to {root}")
    return 0


def run_preview(args: argparse.Namespace) -> int:
    """Write the contact sheet and print its path."""
    from movierep.corpus.preview import contact_sheet

    out = args.out or args.corpus / "contact_sheet.png"
    path = contact_sheet(args.corpus, out, movies=args.movies, shots=args.shots)
    print(f"contact sheet written to {path}")
    return 0
