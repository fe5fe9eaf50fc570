"""Does the hierarchy learn? Backbones and TxE on one corpus, probed on held-out movies, over seeds.

Issues 17 and 31's measurement. For every ``--seeds`` seed and ``--methods`` method it

1. trains a Slow-D backbone at the ``cpu`` profile (``random``: no training, the same
   network at initialisation; ``supervised``: verb labels of the train movies' events, the
   upper bound; ``supervised-k``: the action labels of the Kinetics-role clips, the
   papers' "Sup-K400" row; ``cvrl``, ``modist``: self-supervised on the Kinetics-role
   clips and the train movies, as the demo trains; ``modist-other``: MoDist with the
   cross-modal positive from the other view; ``modist-raw``: MoDist on flow that keeps the
   camera's motion),
2. extracts one feature per annotated 2 s event (for MoDist also the motion pathway's own
   features, probed the same way: ``motion_verb_knn`` / ``motion_verb_linear``),
3. probes them (:mod:`movierep.tasks.diagnostics.event_probes`: verb and place, leave-one-movie-out
   kNN and a train → held-out linear probe; :mod:`movierep.tasks.diagnostics.context_probes`: the
   relation of two events),
4. for the self-supervised backbones, pretrains TxE with mask prediction on the features
   and measures masked-event retrieval (TxE vs. the mean of the visible events), the verb
   of an event from its masked context (TxE vs. the same mean) and relations from
   contextual features.

Each (method, seed) unit writes ``WORK/<method>_s<seed>/result.json`` when it ends, so a rerun
skips finished units. The JSON report has every unit's numbers and stage times and, per
method, the mean ± standard error over seeds of every number.

    python benchmarks/hierarchy_learning.py --preset demo --work runs/learning \\
        --methods random cvrl modist modist-other supervised-k --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from movierep import config, files, tables
from movierep.checkpoint import save_checkpoint
from movierep.corpus import make_corpus
from movierep.data.sequences import EventSequenceDataset
from movierep.features.contextualize import contextualize
from movierep.features.extract import events_from_corpus, extract_with_checkpoint
from movierep.features.motion import extract_motion_features
from movierep.models import create_model, load_pretrained
from movierep.models.factory import arch_name
from movierep.recipes import cvrl, maskpred, modist, supervised
from movierep.tasks.diagnostics.context_probes import relation_probe, verb_from_context_probe
from movierep.tasks.diagnostics.event_probes import probe_event_features
from movierep.tasks.diagnostics.maskpred_retrieval import (
    context_mean_predictor,
    masked_event_retrieval,
)
from movierep.tasks.heads.protocol import mean_and_se
from movierep.train.loop import seed_everything

METHODS = ("random", "cvrl", "modist", "modist-other", "modist-raw", "supervised", "supervised-k")
#: MoDist's variants: the cross-modal positive from the other view; flow with camera motion.
MODIST_VARIANTS = {
    "modist": [],
    "modist-other": ["modist.cross_positive=other"],
    "modist-raw": ["modist.camera_compensation=false"],
}
SELF_SUPERVISED = ("cvrl", *MODIST_VARIANTS)


def _timed(times: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    tic = time.monotonic()
    out = fn()
    times[name] = round(time.monotonic() - tic, 1)
    return out


def train_backbone(method: str, corpus: Path, out: Path, seed: int, args: Any) -> Path:
    """Train (or, for ``random``, initialise) the backbone; return its checkpoint."""
    sets = [f"train.steps={args.backbone_steps}", f"train.seed={seed}", *args.set]
    if method == "random":
        cfg = cvrl.resolve("cpu", sets=sets)
        seed_everything(seed)
        model = create_model(cfg.model.arch, input_difference=cfg.model.input_difference)
        ckpt = out / "random"
        run_config = {**config.to_dict(cfg), "method": "random"}
        save_checkpoint(ckpt, model, arch_name(model), model.model_kwargs, run_config=run_config)
        return ckpt
    if method == "supervised":  # the movies' event verbs
        sup = supervised.resolve("cpu", sets=["supervised.labels=verb", *sets])
        supervised.run(sup, data=[corpus], out=out / "backbone")
    elif method == "supervised-k":  # the Kinetics-role clips' action labels
        supervised.run(supervised.resolve("cpu", sets=sets), data=[corpus / "kinetics"],
                       out=out / "backbone")  # fmt: skip
    elif method == "cvrl":
        cvrl.run(cvrl.resolve("cpu", sets=sets), data=[corpus / "kinetics", corpus],
                 out=out / "backbone")  # fmt: skip
    else:
        cfg = modist.resolve("cpu", sets=[*MODIST_VARIANTS[method], *sets])
        modist.run(cfg, data=[corpus / "kinetics", corpus], out=out / "backbone")
    return out / "backbone" / "last"


def contextual_numbers(
    feats: Path, corpus: Path, out: Path, seed: int, txe_steps: int, times: dict[str, float]
) -> dict[str, Any]:
    """TxE mask prediction on ``feats``; retrieval, verb from context and relations."""
    sets = [f"train.steps={txe_steps}", f"train.seed={seed}"]
    _timed(
        times,
        "txe",
        lambda: maskpred.run(maskpred.resolve("cpu", sets=sets), features=[feats], out=out / "txe"),
    )
    txe = load_pretrained(out / "txe" / "last")
    table = tables.read_table(feats)
    data = EventSequenceDataset.from_parquet(feats, txe.num_tokens)
    runs, windows = data.runs.features, data.windows
    result: dict[str, Any] = {}
    with torch.no_grad():
        for name, predictor in (("context_mean", context_mean_predictor), ("txe", txe)):
            r = masked_event_retrieval(predictor, runs, windows, num_distractors=100, seed=0)
            result[f"retrieval_{name}"] = r.accuracy
            v = verb_from_context_probe(table, corpus, predictor, txe.num_tokens)
            result[f"verb_from_context_{name}"] = v.accuracy
            result[f"verb_from_context_{name}_macro"] = v.mean_class_accuracy
    context = contextualize(table, txe)
    rel = relation_probe(context, corpus, "context_feature")
    result["relation_txe"] = rel.accuracy
    result["relation_txe_mean_class"] = rel.mean_class_accuracy
    return result


def run_unit(method: str, seed: int, corpus: Path, work: Path, args: Any) -> dict[str, Any]:
    """One (method, seed): train, extract, probe; cached in ``work/<method>_s<seed>``."""
    out = work / f"{method}_s{seed}"
    done = out / "result.json"
    if done.is_file():
        return dict(json.loads(done.read_text()))
    times: dict[str, float] = {}
    ckpt = _timed(times, "backbone", lambda: train_backbone(method, corpus, out, seed, args))
    feats = out / "features.parquet"
    _timed(
        times,
        "features",
        lambda: extract_with_checkpoint(
            ckpt, events_from_corpus(corpus), feats, source=corpus, batch_size=32
        ),
    )
    table = tables.read_table(feats)
    numbers: dict[str, Any] = {}
    for p in probe_event_features(table, corpus):
        numbers[f"{p.label}_knn"], numbers[f"{p.label}_linear"] = p.knn, p.linear
        numbers[f"{p.label}_majority"] = p.chance
    if method in MODIST_VARIANTS:  # what the motion pathway itself learned
        motion = out / "motion_features.parquet"
        _timed(times, "motion_features",
               lambda: extract_motion_features(ckpt, events_from_corpus(corpus), motion,
                                               source=corpus, show_progress=False))  # fmt: skip
        for p in probe_event_features(tables.read_table(motion), corpus):
            numbers[f"motion_{p.label}_knn"] = p.knn
            numbers[f"motion_{p.label}_linear"] = p.linear
    rel = relation_probe(table, corpus)
    numbers["relation"], numbers["relation_mean_class"] = rel.accuracy, rel.mean_class_accuracy
    numbers["relation_majority"] = rel.majority
    if method in SELF_SUPERVISED and args.txe_steps > 0:
        numbers.update(contextual_numbers(feats, corpus, out, seed, args.txe_steps, times))
    result = {"method": method, "seed": seed, "numbers": numbers, "seconds": times}
    files.write_json(done, result, indent=1)
    print(json.dumps(result))
    return result


def summarise(units: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per method and number: mean, standard error (ddof 1) and the number of seeds."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in dict.fromkeys(u["method"] for u in units):
        mine = [u["numbers"] for u in units if u["method"] == method]
        out[method] = {}
        for key in mine[0]:
            mean, se = mean_and_se([m[key] for m in mine])
            out[method][key] = {"mean": mean, "se": se, "n": len(mine)}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv``, run every unit, write and return the JSON report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, help="an existing corpus (default: make --preset)")
    p.add_argument("--preset", default="demo", help="corpus preset to make into WORK/corpus")
    p.add_argument("--corpus-seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=Path("runs/hierarchy_learning"))
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--backbone-steps", type=int, default=300)
    p.add_argument("--txe-steps", type=int, default=1500)
    p.add_argument("--set", action="append", default=[], help="backbone recipe override K=V")
    p.add_argument(
        "--only-finished", action="store_true", help="report the finished units, run none"
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/hierarchy_learning.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    corpus = args.corpus
    if corpus is None:
        corpus = args.work / "corpus"
        if not (corpus / "corpus.json").is_file():
            make_corpus(corpus, preset=args.preset, seed=args.corpus_seed)
    units = [
        run_unit(m, s, Path(corpus), args.work, args)
        for s in args.seeds
        for m in args.methods
        if not args.only_finished or (args.work / f"{m}_s{s}" / "result.json").is_file()
    ]
    report: dict[str, Any] = {
        "benchmark": "hierarchy_learning",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "torch": torch.__version__},
        "corpus": str(corpus),
        "settings": {k: v for k, v in vars(args).items() if k not in ("corpus", "out", "work")},
        "summary": summarise(units),
        "units": units,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=1, default=str)
    for method, numbers in report["summary"].items():
        row = ", ".join(
            f"{k} {100 * v['mean']:.1f}±{100 * v['se']:.1f}" for k, v in numbers.items()
        )
        print(f"{method}: {row}")
    return report


if __name__ == "__main__":
    main()
