"""``movierep eval lvu | place-retrieval | movienet-places | movienet-sbd | moderation``.

The scene- and movie-level protocols of both papers take a frozen feature table (event,
contextual event, E_fixed shot or E_scene scene features: any Parquet with ``movie_id``,
optional ``start_time``/``end_time``, and ``feature``) and train a small head, N seeded runs.
Each ``--row NAME=PATH`` is one feature set; several are printed side by side, one column
per feature set, as the papers' tables do (mean ± s.e.). ``PATH#COLUMN`` reads another
embedding column of the table, e.g. ``events.parquet#context_feature`` for TxE's
contextual event features beside the backbone's ``feature``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pyarrow as pa

from movierep import files, tables
from movierep.cli.rows import add_row_arg, parse_rows
from movierep.errors import UserError
from movierep.tasks.protocols.lvu import PROFILES as LVU_PROFILES
from movierep.tasks.protocols.lvu import run_lvu, task_summary
from movierep.tasks.protocols.moderation import run_moderation
from movierep.tasks.protocols.movienet import (
    PLACE_PROFILES,
    SBD_PROFILES,
    run_place_tagging,
    run_sbd,
)
from movierep.tasks.protocols.place_retrieval import lvu_place_retrieval

EXAMPLES = {
    "lvu": "movierep eval lvu --data corpus/lvu --row CVRL=runs/lvu_events.parquet "
    "--row 'CVRL + TxE=runs/lvu_events.parquet#context_feature' --profile cpu --runs 5 "
    "--out runs/eval/lvu.json",
    "place-retrieval": "movierep eval place-retrieval --data corpus/lvu "
    "--row CVRL=runs/lvu_events.parquet --row 'CVRL + TxE=runs/lvu_events.parquet#context_feature'",
    "movienet-places": "movierep eval movienet-places --data corpus/movienet --profile cpu "
    "--row E_fixed=runs/mn_shots.parquet --row E_scene=runs/mn_place_scenes.parquet",
    "movienet-sbd": "movierep eval movienet-sbd --data corpus/movienet --fps 25 --profile cpu "
    "--row E_fixed=runs/mn_shots.parquet",
    "moderation": "movierep eval moderation --data corpus --row E_scene=runs/clips_scene.parquet",
}
HELP = {
    "lvu": "LVU's nine tasks with an MLP head (top-1; MSE for the two regressions)",
    "place-retrieval": "Movies2Scenes Table 2: val scenes retrieve train scenes by L2, P@1/5/10",
    "movienet-places": "MovieNet place tagging: multi-label MLP on segment embeddings (or "
    "mean shot features), mAP",
    "movienet-sbd": "MovieNet-318 scene boundaries: 4-shot windows, AP / mIoU / Recall@3s",
    "moderation": "moderation classes with an MLP head: AP per class and their mean",
}
#: The protocols whose head has a ``paper`` profile (the Movies2Scenes supplement's).
PROFILED = ("lvu", "movienet-places", "movienet-sbd")
WHERE = {
    "lvu": "LVU folder (lvu_1.0 inside)",
    "place-retrieval": "LVU folder (lvu_1.0 inside)",
    "movienet-places": "MovieNet folder (annotation, scene318, 240P_frames)",
    "movienet-sbd": "MovieNet folder (annotation, scene318, 240P_frames)",
    "moderation": "corpus folder (moderation.parquet, catalog.parquet)",
}


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the feature-table protocols to ``movierep eval``."""
    for name in EXAMPLES:
        p = kinds.add_parser(
            name,
            help=HELP[name],
            description=__doc__.split("\n\n")[1] if __doc__ else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=f"example:\n  {EXAMPLES[name]}",
        )
        p.add_argument("--data", type=Path, required=True, help=WHERE[name])
        add_row_arg(p, "PATH", "its feature table (PATH#COLUMN: another embedding column)")
        if name != "place-retrieval":
            p.add_argument("--runs", type=int, default=5, help="seeded runs of the head (5)")
            p.add_argument("--seed", type=int, default=0)
        if name in PROFILED:
            p.add_argument(
                "--profile",
                choices=("cpu", "paper"),
                default="paper",
                help="the head: paper (default: the Movies2Scenes supplement's SGD settings; "
                "LVU per task, Table 1) or cpu (a short AdamW schedule of ours)",
            )
        if name == "lvu":
            p.add_argument("--tasks", nargs="+", default=None, help="default: all nine")
        if name == "movienet-sbd":
            p.add_argument(
                "--fps", type=float, default=24.0, help="frame rate for Recall@3s (MovieNet: 24)"
            )
        p.add_argument("--out", type=Path, default=None, help="write the results as JSON")
        p.set_defaults(func=run, protocol=name)


def feature_sets(args: argparse.Namespace) -> dict[str, str]:
    """``{name: PATH[#COLUMN]}`` from the ``--row`` options; every file must exist."""
    named = {name: inputs[0] for name, inputs in parse_rows(args.row, 1, 1).items()}
    for spec in named.values():
        path = Path(spec.partition("#")[0])
        if not path.is_file():
            raise UserError(f"{path}: no such feature table")
    return named


def read_features(spec: str) -> pa.Table:
    """The table at ``PATH``, or ``PATH#COLUMN`` with ``COLUMN`` read as its ``feature``."""
    path, _, column = spec.partition("#")
    table = tables.read_table(path)
    if column and column != "feature":
        tables.require_columns(table, [column], path)
        table = tables.as_feature(table, column)
    tables.require_columns(table, ["movie_id", "feature"], path)
    return table


def _score(args: argparse.Namespace, spec: str) -> dict[str, tuple[float, float]]:
    """One feature table's ``{row: (mean, se)}`` under the chosen protocol."""
    table = read_features(spec)
    file, _, column = spec.partition("#")
    # the protocols name a file in their errors; another column is handed over as a table
    path: Path | pa.Table = table if column and column != "feature" else Path(file)
    if args.protocol == "place-retrieval":
        result = lvu_place_retrieval(args.data, table, spec)
        return {
            f"{place} P@{k}": (100 * v, float("nan"))
            for place, row in result.items()
            for k, v in row.items()
        }
    if args.protocol == "lvu":
        kw: dict[str, Any] = {"tasks": args.tasks} if args.tasks else {}
        lvu = run_lvu(
            args.data, path, runs=args.runs, seed=args.seed, cfg=LVU_PROFILES[args.profile], **kw
        )
        return {f"{task} ({lvu[task]['metric']})": v for task, v in task_summary(lvu).items()}
    if args.protocol == "movienet-places":
        res = run_place_tagging(
            args.data, path, PLACE_PROFILES[args.profile], runs=args.runs, seed=args.seed
        )
        return {f"{k}": (100 * m, 100 * s) for k, (m, s) in res["summary"].items()}
    if args.protocol == "movienet-sbd":
        res = run_sbd(
            args.data, path, SBD_PROFILES[args.profile], runs=args.runs, seed=args.seed,
            fps=args.fps,
        )  # fmt: skip
        return {f"{k}": (100 * m, 100 * s) for k, (m, s) in res["summary"].items()}
    mod = run_moderation(args.data, path, runs=args.runs, seed=args.seed)
    return {f"AP {k}": (100 * m, 100 * s) for k, (m, s) in mod["summary"].items()}


def side_by_side(results: dict[str, dict[str, tuple[float, float]]]) -> str:
    """A Markdown table: one row per metric, one column per feature set."""
    names = list(results)
    rows = list(next(iter(results.values())))
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for row in rows:
        cells = []
        for name in names:
            mean, se = results[name][row]
            cells.append(f"{mean:.2f}" if se != se else f"{mean:.2f} ± {se:.2f}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _finite(x: float) -> float | None:
    """JSON has no NaN: a metric without a value (one run's s.e., a class absent) is null."""
    return None if x != x else x


def run(args: argparse.Namespace) -> int:
    """Score every feature set, print them side by side, write JSON with ``--out``."""
    results = {name: _score(args, path) for name, path in feature_sets(args).items()}
    print(side_by_side(results))
    if args.out is not None:
        payload = {
            "protocol": args.protocol,
            "data": str(args.data),
            "runs": getattr(args, "runs", 1),  # a null s.e. is a metric of one run
            "results": {
                name: {row: {"mean": _finite(m), "se": _finite(s)} for row, (m, s) in rows.items()}
                for name, rows in results.items()
            },
        }
        files.write_json(args.out, payload)
        print(f"wrote {args.out}")
    return 0
