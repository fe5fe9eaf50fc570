"""``movierep eval``: score features of the hierarchy on the benchmarks' own protocols.

``eval vidsitu-verbs``, ``vidsitu-srl`` and ``vidsitu-relations`` run Xiao et al.'s
Table 1, 3 and 4 protocols on a VidSitu folder (the real release or the corpus'
``vidsitu/`` export): event features from each ``--row NAME=BACKBONE[,TXE]``'s backbone
(and TxE), a head (a
classifier, or TxD for roles) trained on the train split N times with different seeds,
metrics as VidSitu's evaluator computes them, mean ± s.e. For roles, a row whose backbone
is ``none`` is the vision-blind decoder (the verb alone).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from movierep import files
from movierep.cli import evaluate_features, evaluate_ot
from movierep.cli.rows import add_row_arg, parse_rows
from movierep.data.benchmarks.vidsitu import load_vidsitu
from movierep.errors import UserError
from movierep.metrics.vidsitu import VERB_METRICS
from movierep.metrics.vidsitu_srl import SRL_METRICS
from movierep.tasks.protocols.vidsitu_features import vidsitu_event_features
from movierep.tasks.protocols.vidsitu_relations import RELATION_METRICS, run_relation_task
from movierep.tasks.protocols.vidsitu_srl import CPU, SRLConfig, run_srl_task
from movierep.tasks.protocols.vidsitu_verbs import run_verb_task

TASKS: dict[str, tuple[Callable[..., dict[str, Any]], tuple[str, ...]]] = {
    "vidsitu-verbs": (run_verb_task, VERB_METRICS),
    "vidsitu-srl": (run_srl_task, SRL_METRICS),
    "vidsitu-relations": (run_relation_task, RELATION_METRICS),
}
BLIND = "none"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eval`` and its benchmark commands."""
    parser = sub.add_parser(
        "eval",
        help="evaluate features on a benchmark protocol (VidSitu, LVU, MovieNet, moderation)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    kinds = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in TASKS:
        p = kinds.add_parser(
            name,
            help=f"{name.split('-')[1]} of VidSitu events: mean ± s.e. over N runs",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=(
                "example:\n"
                f"  movierep eval {name} --data corpus/vidsitu "
                "--row CVRL=runs/cvrl/last --row 'CVRL + TxE=runs/cvrl/last,runs/txe/last' "
                + ("--profile cpu " if name == "vidsitu-srl" else "")
                + f"--out runs/eval/{name}.json"
            ),
        )
        p.add_argument("--data", type=Path, required=True, help="VidSitu folder")
        add_row_arg(p, "BACKBONE[,TXE]", "its backbone checkpoint and optional TxE checkpoint")
        p.add_argument("--runs", type=int, default=10, help="seeded runs of the head (10)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--split", default="val", help="evaluation split (val)")
        p.add_argument("--device", default="auto")
        if name == "vidsitu-srl":
            p.add_argument(
                "--profile",
                choices=("paper", "cpu"),
                default="paper",
                help="TxD size and training: the paper's (default) or a CPU-sized one",
            )
            p.add_argument("--beam-size", type=int, default=1, help="1: greedy (VidSitu)")
            p.add_argument("--steps", type=int, default=None, help="TxD training steps")
        p.add_argument("--out", type=Path, default=Path(f"runs/eval/{name}.json"))
        p.add_argument(
            "--write-predictions",
            type=Path,
            metavar="FILE",
            help="the first row's first run in VidSitu's submission format (.json or .pkl)",
        )
        p.set_defaults(func=run_eval)
    evaluate_features.register(kinds)
    evaluate_ot.register(kinds)


def vidsitu_rows(specs: list[str]) -> list[tuple[str, Path, Path | None]]:
    """``--row NAME=BACKBONE[,TXE]`` values -> (name, backbone, txe) in order."""
    return [
        (name, Path(inputs[0]), Path(inputs[1]) if len(inputs) == 2 else None)
        for name, inputs in parse_rows(specs, 1, 2).items()
    ]


def _fmt(mean_se: tuple[float, float]) -> str:
    """``mean ± se`` ×100 (rates as %, CIDEr's ×10 scores as VidSitu's tables print them)."""
    mean, se = mean_se
    return f"{100 * mean:.1f} ± {100 * se:.1f}" if se == se else f"{100 * mean:.1f}"


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate every ``--row`` and print the table; see ``movierep eval TASK --help``."""
    if args.runs < 1:
        raise UserError(f"--runs must be at least 1, got {args.runs}")
    run, metrics = TASKS[args.task]
    rows = vidsitu_rows(args.row)
    train = load_vidsitu(args.data, "train")
    held = load_vidsitu(args.data, args.split)
    work = args.out.parent / "vidsitu_features"  # shared by the three tasks' runs
    results: dict[str, Any] = {}
    for i, (name, backbone, txe) in enumerate(rows):
        options: dict[str, Any] = {}
        if args.task == "vidsitu-srl":
            cfg = SRLConfig() if args.profile == "paper" else CPU
            cfg = dataclasses.replace(cfg, beam_size=args.beam_size)
            if args.steps is not None:
                cfg = dataclasses.replace(cfg, steps=args.steps)
            if str(backbone) == BLIND:
                cfg = dataclasses.replace(cfg, vision=False)
            options["cfg"] = cfg
        elif str(backbone) == BLIND:
            raise UserError(f"--row {name}: a vision-blind row exists for vidsitu-srl only")
        feats = {}
        for split, clips in (("train", train), (args.split, held)):
            if str(backbone) == BLIND:
                feats[split] = np.zeros((len(clips), 5, 1), np.float32)
                continue
            key = hashlib.sha1(f"{args.data.resolve()}|{backbone.resolve()}".encode()).hexdigest()
            cache = work / f"{backbone.parent.name}_{backbone.name}_{key[:10]}_{split}.parquet"
            feats[split] = vidsitu_event_features(
                clips, backbone, cache, contextualizer=txe, device=args.device
            )
        out = run(
            train, held, feats["train"], feats[args.split], runs=args.runs, seed=args.seed,
            **options,
        )  # fmt: skip
        if i == 0 and args.write_predictions is not None:
            write_predictions(args.write_predictions, out["predictions"])
        results[name] = {
            "backbone": str(backbone),
            "contextualizer": str(txe or ""),
            "summary": {m: list(v) for m, v in out["summary"].items()},
            "runs": out["runs"],
        }
    files.write_json(
        args.out,
        {"task": args.task, "split": args.split, "num_runs": args.runs, "rows": results},
    )
    lines = [f"| features | {' | '.join(metrics)} |", "|---|" + "---|" * len(metrics)]
    for name, r in results.items():
        cells = " | ".join(_fmt(tuple(r["summary"][m])) for m in metrics)
        lines.append(f"| {name} | {cells} |")
    print(f"{args.task} ({args.split}, {args.runs} runs, mean ± s.e., ×100)")
    print("\n".join(lines))
    print(f"written to {args.out}")
    return 0


def write_predictions(path: Path, predictions: list[dict[str, Any]]) -> None:
    """A submission as JSON or, for ``.pkl``, the pickle VidSitu's ``evl_fns.py`` loads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".pkl":
        path.write_bytes(pickle.dumps(predictions))
    elif path.suffix == ".json":
        path.write_text(json.dumps(predictions))
    else:
        raise UserError(f"{path}: predictions are written as .json or .pkl")
