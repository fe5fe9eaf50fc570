"""CVRL learning on the synthetic corpus: kNN accuracy of event features, trained vs random init.

Trains the Slow-D backbone with CVRL (``--profile cpu`` by default) on every movie of a
corpus, extracts one feature per annotated 2 s event for the trained backbone and for the
same network at initialisation, and scores place and verb labels with a leave-one-movie-out
cosine 5-NN classifier (:func:`movierep.tasks.diagnostics.probe.event_knn_accuracy`). Writes JSON.

    python benchmarks/cvrl_learning.py --corpus runs/demo_corpus --steps 400 --out cvrl.json
    python benchmarks/cvrl_learning.py --preset tiny --movies 10 --steps 150 --out cvrl.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from movierep import files, tables
from movierep.checkpoint import read_config, save_checkpoint
from movierep.cli import main
from movierep.models import create_model
from movierep.tasks.diagnostics.probe import event_knn_accuracy
from movierep.train.loop import seed_everything


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(args.work or tempfile.mkdtemp(prefix="cvrl_learning_"))
    corpus = args.corpus
    if corpus is None:
        from movierep.corpus import make_corpus

        corpus = make_corpus(
            work / "corpus", preset=args.preset, seed=args.seed, movies=args.movies
        )
    train = [
        "train", "backbone", "--method", "cvrl", "--data", str(corpus), "--profile", args.profile,
        "--set", "data.split=all", "--steps", str(args.steps), "--seed", str(args.seed),
        "--out", str(work / "cvrl"), *[a for s in args.set for a in ("--set", s)],
    ]  # fmt: skip
    tic = time.monotonic()
    assert main(train) == 0
    train_s = time.monotonic() - tic
    meta = read_config(work / "cvrl" / "last")
    seed_everything(args.seed)
    random_init = create_model(meta["run_config"]["model"]["arch"])
    save_checkpoint(
        work / "random", random_init, "slow_d", random_init.model_kwargs,
        run_config=meta["run_config"],
    )  # fmt: skip
    truth = tables.read_table(Path(corpus) / "truth" / "events.parquet")
    scores: dict[str, dict[str, float]] = {}
    for name, ckpt in (("cvrl", work / "cvrl" / "last"), ("random_init", work / "random")):
        out = work / f"{name}.parquet"
        argv = ["extract", "events", "--backbone", str(ckpt), "--corpus", str(corpus)]
        assert main([*argv, "--out", str(out)]) == 0
        feats = tables.read_table(out)
        scores[name] = {c: event_knn_accuracy(feats, truth, c) for c in ("place", "verb")}
    metrics = [json.loads(x) for x in (work / "cvrl" / "metrics.jsonl").read_text().splitlines()]
    return {
        "corpus": str(corpus),
        "steps": args.steps,
        "profile": args.profile,
        "train_seconds": round(train_s, 1),
        "first_loss": metrics[0]["loss"],
        "last_loss": metrics[-1]["loss"],
        "knn_leave_one_movie_out": scores,
    }


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--movies", type=int, default=None)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("cvrl_learning.json"))
    args = parser.parse_args()
    result = run(args)
    files.write_json(args.out, result, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main_cli()
