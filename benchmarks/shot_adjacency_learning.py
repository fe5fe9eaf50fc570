"""Does the shot-adjacency network learn movie similarity that holds on unseen movies?

Issue 31's diagnosis of movie-similarity learning (Movies2Scenes §3.1, Fig. 2). On one
corpus and one set of E_fixed shot features, for every similarity source, seed and
variant (a list of ``train moviesim`` overrides on the ``cpu`` profile) it trains the
network on the train movies' pairs and scores held-out pair accuracy: the similar pairs
of the val and test movies (same source and k) against as many random pairs, chance 0.5
(:mod:`movierep.similarity.heldout`). Two references need no training:

- ``fixed_cosine``: a logistic regression on the cosine of the two movies' mean E_fixed
  features, fitted on the train movies' pairs, scored on the held-out pairs;
- ``fixed_max``: the same on the largest cosine between any shot of one movie and any shot
  of the other (the signal the network's max pooling can find without learning).

Writes a JSON report (per source and variant: mean ± s.e. over seeds of the held-out and
final training accuracy) and prints a table.

    python benchmarks/shot_adjacency_learning.py --corpus C --shot-features F \\
        --work runs/sa --seeds 0 1 2 --variant cpu= --variant lr3e-4=train.lr=3e-4
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from movierep import files, tables
from movierep.data.corpus import Corpus
from movierep.features.shot_features import movie_features
from movierep.recipes import moviesim
from movierep.similarity.movie_pairs import movie_pairs, negative_pairs
from movierep.similarity.scene_pairs import pair_list
from movierep.tasks.heads.protocol import mean_and_se

RESULTS = Path(__file__).parent / "results" / "shot_adjacency_learning.json"


def _pair_scores(feats: dict[str, torch.Tensor], pairs: list[tuple[str, str]]) -> np.ndarray:
    """(P, 2): cosine of the mean features and the largest shot-to-shot cosine."""
    out = []
    for a, b in pairs:
        fa, fb = F.normalize(feats[a], dim=-1), F.normalize(feats[b], dim=-1)
        mean = float(F.cosine_similarity(feats[a].mean(0), feats[b].mean(0), dim=0))
        out.append([mean, float((fa @ fb.T).max())])
    return np.array(out)


def _balanced(
    corpus: Path, source: str, ids: list[str], seed: int
) -> tuple[list[tuple[str, str]], np.ndarray]:
    similar = movie_pairs(corpus, source, 3, seed=0, movie_ids=ids)
    positives = sorted(set(pair_list(similar)))
    negatives = negative_pairs(similar, ids, len(positives), seed=seed)
    return positives + negatives, np.array([1] * len(positives) + [0] * len(negatives))


def fixed_references(
    corpus: Path, feats: dict[str, torch.Tensor], source: str, seed: int
) -> dict[str, float]:
    """Held-out accuracy of a logistic regression on E_fixed similarities (no training).

    It depends on the source and the negatives' seed only, not on a variant: computed once
    per (source, seed) by :func:`main`.
    """
    c = Corpus(corpus)
    train = [m for m in c.split_ids("train") if m in feats]
    held = [m for m in c.split_ids("val") + c.split_ids("test") if m in feats]
    x_pairs, y = _balanced(corpus, source, train, seed)
    h_pairs, h_y = _balanced(corpus, source, held, seed)
    x, hx = _pair_scores(feats, x_pairs), _pair_scores(feats, h_pairs)
    out = {}
    for k, name in enumerate(("fixed_cosine", "fixed_max")):
        clf = LogisticRegression().fit(x[:, [k]], y)
        out[name] = float((clf.predict(hx[:, [k]]) == h_y).mean())
    return out


def run_unit(
    source: str, variant: str, sets: list[str], seed: int, args: Any, fixed: dict[str, float]
) -> dict[str, Any]:
    """Train one network and score it; cached in ``WORK/<source>_<variant>_s<seed>``."""
    out = Path(args.work) / f"{source}_{variant}_s{seed}"
    done = out / "result.json"
    if done.is_file():
        return dict(json.loads(done.read_text()))
    c = Corpus(args.corpus)
    cfg = moviesim.resolve(
        "cpu", sets=[f"pairs.sources={source}", f"train.seed={seed}", f"pairs.seed={seed}", *sets]
    )
    tic = time.monotonic()
    result = moviesim.run(
        cfg,
        corpus=args.corpus,
        shot_features=args.shot_features,
        out=out,
        movie_ids=c.split_ids("train"),
        heldout_ids=c.split_ids("val") + c.split_ids("test"),
    )
    lines = (out / "metrics.jsonl").read_text().splitlines()
    last = [json.loads(line) for line in lines[-5:]]
    report = {
        "source": source,
        "variant": variant,
        "sets": sets,
        "seed": seed,
        "heldout_acc": result.metrics["heldout_acc"],
        "train_acc_last": float(np.mean([r["acc"] for r in last if "acc" in r])),
        "fixed": fixed,
        "seconds": round(time.monotonic() - tic, 1),
    }
    files.write_json(done, report, indent=1)
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv``, run every unit, write and return the report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--shot-features", type=Path, required=True, help="E_fixed shot features")
    p.add_argument("--work", type=Path, default=Path("runs/shot_adjacency"))
    p.add_argument("--sources", nargs="+", default=["cowatch", "genre", "synopsis"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variant", action="append", default=[], help="NAME=set1,set2 (cpu=: none)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    variants = {}
    for v in args.variant or ["cpu="]:
        name, _, sets = v.partition("=")
        variants[name] = [s for s in sets.split(",") if s]
    feats = movie_features(tables.read_table(args.shot_features))
    units = []
    for source in args.sources:
        for seed in args.seeds:
            fixed = fixed_references(Path(args.corpus), feats, source, seed)
            units += [run_unit(source, n, sets, seed, args, fixed) for n, sets in variants.items()]
    summary: dict[str, Any] = {}
    for source in args.sources:
        for name in variants:
            mine = [u for u in units if u["source"] == source and u["variant"] == name]
            row = {}
            for key, get in (
                ("heldout_acc", lambda u: u["heldout_acc"]),
                ("train_acc_last", lambda u: u["train_acc_last"]),
                ("fixed_cosine", lambda u: u["fixed"]["fixed_cosine"]),
                ("fixed_max", lambda u: u["fixed"]["fixed_max"]),
            ):
                mean, se = mean_and_se([get(u) for u in mine])
                row[key] = {"mean": mean, "se": se, "n": len(mine)}
            summary[f"{source}/{name}"] = row
    report = {
        "benchmark": "shot_adjacency_learning",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "torch": torch.__version__},
        "corpus": str(args.corpus),
        "chance": 0.5,
        "variants": variants,
        "summary": summary,
        "units": units,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=1)
    print("| source / variant | held-out acc | train acc | E_fixed mean-cos | E_fixed max-cos |")
    print("|---|---:|---:|---:|---:|")
    for key, row in summary.items():
        cells = " | ".join(
            f"{100 * row[k]['mean']:.1f} ± {100 * row[k]['se']:.1f}"
            for k in ("heldout_acc", "train_acc_last", "fixed_cosine", "fixed_max")
        )
        print(f"| {key} | {cells} |")
    return report


if __name__ == "__main__":
    main()
