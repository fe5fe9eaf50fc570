"""``movierep eval lvu-ot``: LVU with the Object Transformer, OT++ and Table 5's rank summary.

Each ``--row NAME=INSTANCES,SCENE`` is one line of Hier-SSL Table 5: an instance-features
table (``movierep extract instances``) and an event-features table for the scene pathway
(``movierep extract events``, with ``--contextualizer`` for TxE features), ``-`` for a
pathway the row does not use. Every row is trained and scored on the nine tasks N times;
the table prints mean ± s.e. per task, then ``#top-1`` and ``mean rank`` across tasks.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from movierep import dist, files
from movierep.cli.evaluate_features import side_by_side
from movierep.cli.rows import add_row_arg, parse_rows
from movierep.data.benchmarks.lvu import REGRESSION_TASKS
from movierep.errors import UserError
from movierep.tasks.protocols.lvu_ot import PAPER, OTConfig, rank_summary, run_lvu_ot

EXAMPLE = (
    "movierep eval lvu-ot --data corpus/lvu --row OT-CVRL=runs/lvu_instances.parquet,- "
    "--row Ours=-,runs/lvu_events.parquet "
    "--row OT++=runs/lvu_instances.parquet,runs/lvu_events.parquet "
    "--profile cpu --runs 5 --out runs/eval/lvu_ot.json"
)


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eval lvu-ot``."""
    p = kinds.add_parser(
        "lvu-ot",
        help="LVU's nine tasks with the Object Transformer / OT++ (Hier-SSL Table 5)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"example:\n  {EXAMPLE}",
    )
    p.add_argument("--data", type=Path, required=True, help="LVU folder (lvu_1.0 inside)")
    add_row_arg(p, "INSTANCES,SCENE", "its instance and scene features ('-': not used)")
    p.add_argument("--tasks", nargs="+", default=None, help="default: all nine")
    p.add_argument("--runs", type=int, default=5, help="seeded runs per task (5, as Table 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--profile",
        choices=("cpu", "paper"),
        default="paper",
        help="OT size and schedule: the paper's (default) or a CPU-sized one",
    )
    p.add_argument("--epochs", type=float, default=None, help="passes of #train×10 spans")
    p.add_argument(
        "--pretrain-steps",
        type=int,
        default=None,
        help="masked-instance pretraining steps before fine-tuning (0: none)",
    )
    p.add_argument("--eval-stride", type=int, default=None, help="seconds between spans (1)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    p.set_defaults(func=run)


def _rows(args: argparse.Namespace) -> dict[str, tuple[Path | None, Path | None]]:
    rows: dict[str, tuple[Path | None, Path | None]] = {}
    for name, (inst, scene) in parse_rows(args.row, 2, 2).items():
        paths = tuple(None if p == "-" else Path(p) for p in (inst, scene))
        if paths == (None, None):
            raise UserError(f"--row {name}: give instance features, scene features or both")
        for path in paths:
            if path is not None and not path.is_file():
                raise UserError(f"{path}: no such feature table")
        rows[name] = (paths[0], paths[1])
    return rows


def run(args: argparse.Namespace) -> int:
    """Score every row, print Table 5 with its rank summary, write JSON with ``--out``."""
    base = PAPER if args.profile == "paper" else OTConfig()
    cfg = replace(
        base,
        device=str(dist.device(args.device)),
        epochs=base.epochs if args.epochs is None else args.epochs,
        pretrain_steps=base.pretrain_steps if args.pretrain_steps is None else args.pretrain_steps,
        eval_stride=base.eval_stride if args.eval_stride is None else args.eval_stride,
    )
    kw: dict[str, Any] = {"tasks": args.tasks} if args.tasks else {}
    table: dict[str, dict[str, tuple[float, float]]] = {}
    means: dict[str, dict[str, float]] = {}
    rows = _rows(args)
    for name, (inst, scene) in rows.items():
        res = run_lvu_ot(
            args.data, inst, scene, runs=args.runs, seed=args.seed, cfg=cfg, desc=name, **kw
        )
        table[name], means[name] = {}, {}
        for task, r in res.items():
            metric = r["metric"]
            mean, se = r["summary"][metric]
            scale = 1.0 if metric == "mse" else 100.0
            table[name][f"{task} ({metric})"] = (scale * mean, scale * se)
            means[name][task] = mean
    ranks = rank_summary(means, set(REGRESSION_TASKS))
    for name, r in ranks.items():
        table[name]["#top-1"] = (r["top1"], float("nan"))
        table[name]["mean rank"] = (r["mean_rank"], float("nan"))
    print(side_by_side(table))
    if args.out is not None:
        payload = {
            "protocol": "lvu-ot",
            "data": str(args.data),
            "runs": args.runs,  # a null s.e. is a metric of one run
            "config": {k: v for k, v in vars(cfg).items() if k != "masking"},
            "rows": {name: [str(p) if p else None for p in paths] for name, paths in rows.items()},
            "results": {
                name: {
                    row: {"mean": m, "se": None if s != s else s} for row, (m, s) in cells.items()
                }
                for name, cells in table.items()
            },
        }
        files.write_json(args.out, payload)
        print(f"wrote {args.out}")
    return 0
