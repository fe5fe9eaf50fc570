"""The main job: the hierarchy end to end on the embedded synthetic corpus.

Stages, each a library call (the function behind a ``movierep`` command) whose output a
user can open (``OUT/<stage>/``):

1. ``corpus``      generate the synthetic movies, ground truth and benchmark exports
2. ``shots``       shot detection (TransNetV2) + keyframes over the catalog
3. ``events``      consecutive 2 s events over the catalog
4. ``backbone``    CVRL pretraining of Slow-D on the action clips and the movies (level 1)
5. ``features``    event features from the pretrained and from a randomly initialised backbone
6. ``txe``         TxE pretraining with event mask prediction (level 2)
7. ``context``     contextual event features from the pretrained and an untrained TxE
8. ``report``      measurements: shot F1, verb/place probes, masked-event retrieval, and
                   tasks that need context (verb from the neighbours, event relations)

A finished stage leaves ``OUT/.stages/<name>.json``; a rerun skips it. The VidSitu / LVU /
Movies2Scenes tasks and the full HTML report join this pipeline as they land.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from movierep import files, tables
from movierep.checkpoint import read_config, save_checkpoint
from movierep.corpus import make_corpus
from movierep.data.sequences import EventSequenceDataset
from movierep.errors import UserError
from movierep.features.contextualize import contextualize
from movierep.features.extract import events_from_corpus, extract_with_checkpoint
from movierep.jobs import JobReport
from movierep.metrics.boundaries import boundary_f1
from movierep.models import load_pretrained
from movierep.models.factory import random_init_like
from movierep.models.txe import TxE
from movierep.recipes import cvrl, maskpred
from movierep.tasks.context_probes import relation_probe, verb_from_context_probe
from movierep.tasks.event_probes import probe_event_features
from movierep.tasks.maskpred_retrieval import context_mean_predictor, masked_event_retrieval
from movierep.train.loop import FitResult
from movierep.video.ingest import ingest_events, ingest_shots


@dataclass(frozen=True)
class DemoPreset:
    """Sizes of one demo run: which corpus, how long each pretraining runs."""

    corpus: str
    backbone_steps: int
    txe_steps: int
    shot_detector: str = "transnetv2"


PRESETS = {
    "tiny": DemoPreset(corpus="tiny", backbone_steps=40, txe_steps=150),
    # TransNetV2 runs at ~6x real time on 2 CPU cores; the demo's 70 minutes of video take
    # PySceneDetect's fast path (>50x real time) instead.
    "demo": DemoPreset(
        corpus="demo", backbone_steps=300, txe_steps=1500, shot_detector="scenedetect"
    ),
}


def _check(report: JobReport, stage: str) -> None:
    """A per-video stage must finish every video: the demo's corpus has no bad file."""
    if report.failed:
        job_id, _path, kind, message = report.failed[0]
        raise UserError(
            f"stage {stage}: {len(report.failed)} videos failed ({job_id}: {kind}: {message})"
        )


class Pipeline:
    """Runs named stages once; a stage that finished before is skipped on a rerun."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.marks = out / ".stages"
        self.marks.mkdir(parents=True, exist_ok=True)
        self.timings: dict[str, float] = {}

    def stage(self, name: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` unless stage ``name`` finished before; record its wall time."""
        mark = self.marks / f"{name}.json"
        if mark.is_file():
            self.timings[name] = float(json.loads(mark.read_text())["seconds"])
            print(f"[demo] {name}: done before, skipped")
            return
        print(f"[demo] {name} ...")
        tic = time.monotonic()
        fn()
        seconds = time.monotonic() - tic
        self.timings[name] = seconds
        files.write_json(mark, {"seconds": round(seconds, 2)}, indent=None)


def _random_init_copy(trained: Path, out: Path, seed: int) -> None:
    """A checkpoint with the architecture and run config of ``trained``, randomly initialised."""
    meta = read_config(trained)
    model = random_init_like(trained, seed)
    save_checkpoint(out, model, meta["arch"], meta["model_kwargs"], run_config=meta["run_config"])


def run_demo(out: Path, preset: str = "tiny", seed: int = 0) -> dict[str, Any]:
    """Run every stage into ``out`` and return the report (also written as JSON/Markdown)."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    p = PRESETS[preset]
    out.mkdir(parents=True, exist_ok=True)
    corpus, feats = out / "corpus", out / "features"
    pipe = Pipeline(out)
    pipe.stage(
        "corpus",
        lambda: print(f"corpus written to {make_corpus(corpus, preset=p.corpus, seed=seed)}"),
    )

    def shots() -> None:
        report, _ = ingest_shots([corpus], out / "shots", detector=p.shot_detector)
        _check(report, "shots")

    def events() -> None:
        report, _ = ingest_events([corpus], out / "events")
        _check(report, "events")

    pipe.stage("shots", shots)
    pipe.stage("events", events)
    backbone = out / "backbone"
    sets = [f"train.steps={p.backbone_steps}", f"train.seed={seed}"]
    pipe.stage(
        "backbone",
        lambda: _trained(
            cvrl.run(
                cvrl.resolve("cpu", sets=sets), data=[corpus / "kinetics", corpus], out=backbone
            )
        ),
    )

    def features() -> None:
        _random_init_copy(backbone / "last", out / "backbone_random", seed)
        events = events_from_corpus(corpus)
        for name, ckpt in (("cvrl", backbone / "last"), ("random", out / "backbone_random")):
            report = extract_with_checkpoint(ckpt, events, feats / f"{name}.parquet", source=corpus)
            _check(report, "features")

    pipe.stage("features", features)
    txe = out / "txe"
    txe_sets = [f"train.steps={p.txe_steps}", f"train.seed={seed}"]
    pipe.stage(
        "txe",
        lambda: _trained(
            maskpred.run(
                maskpred.resolve("cpu", sets=txe_sets), features=[feats / "cvrl.parquet"], out=txe
            )
        ),
    )

    def context() -> None:
        _random_init_copy(txe / "last", out / "txe_untrained", seed)
        table = tables.read_table(feats / "cvrl.parquet")
        for name, ckpt in (("maskpred", txe / "last"), ("untrained", out / "txe_untrained")):
            tables.write_table(feats / f"cvrl_txe_{name}.parquet", contextualize(table, ckpt))

    pipe.stage("context", context)
    report: dict[str, Any] = {}
    pipe.stage("report", lambda: report.update(_write_report(out, corpus, preset, seed, pipe)))
    if not report:
        report = json.loads((out / "report.json").read_text())
    return report


def _trained(result: FitResult) -> None:
    print(result.summary())


def _shot_f1(out: Path, corpus: Path) -> dict[str, float]:
    pred = tables.read_table(out / "shots" / "shots.parquet").to_pylist()
    true = tables.read_table(corpus / "truth" / "shots.parquet").to_pylist()

    def starts(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
        return [(r["movie_id"], int(r["start_frame"])) for r in rows if r["shot_index"] > 0]

    p, t = starts(pred), starts(true)
    # offset each movie by a gap larger than the tolerance so movies never match each other
    movies = sorted({m for m, _ in p + t})
    base = {m: i * 10**7 for i, m in enumerate(movies)}
    score = boundary_f1([base[m] + f for m, f in p], [base[m] + f for m, f in t], tolerance=2)
    return {"precision": score.precision, "recall": score.recall, "f1": score.f1}


def _retrieval(out: Path, feats: Path) -> dict[str, dict[str, float]]:
    data = EventSequenceDataset.from_parquet(feats / "cvrl.parquet", 5)
    runs, windows = data.runs.features, data.windows
    result: dict[str, dict[str, float]] = {}
    predictors: dict[str, Any] = {"context mean (no TxE)": context_mean_predictor}
    predictors["TxE untrained"] = load_pretrained(out / "txe_untrained")
    predictors["TxE MaskPred"] = load_pretrained(out / "txe" / "last")
    for name, predictor in predictors.items():
        with torch.no_grad():
            r = masked_event_retrieval(predictor, runs, windows, num_distractors=100, seed=0)
        result[name] = {"accuracy": r.accuracy, "chance": r.chance, "queries": r.num_queries}
    return result


def _context_tasks(out: Path, corpus: Path, feats: Path) -> dict[str, dict[str, float]]:
    """Tasks a single event cannot answer: its verb from its neighbours, two events' relation."""
    backbone = tables.read_table(feats / "cvrl.parquet")
    txe = load_pretrained(out / "txe" / "last")
    assert isinstance(txe, TxE)
    rows = {
        "verb from context: mean of the neighbours (no TxE)": verb_from_context_probe(
            backbone, corpus, context_mean_predictor, txe.num_tokens
        ),
        "verb from context: TxE MaskPred": verb_from_context_probe(
            backbone, corpus, txe, txe.num_tokens
        ),
        "relation: Slow-D CVRL": relation_probe(backbone, corpus),
        "relation: CVRL + TxE MaskPred": relation_probe(
            tables.read_table(feats / "cvrl_txe_maskpred.parquet"), corpus, "context_feature"
        ),
    }
    return {name: asdict(p) for name, p in rows.items()}


def _write_report(
    out: Path, corpus: Path, preset: str, seed: int, pipe: Pipeline
) -> dict[str, Any]:
    feats = out / "features"
    probes: dict[str, dict[str, Any]] = {}
    rows = [
        ("Slow-D random init", "random.parquet", "feature"),
        ("Slow-D CVRL", "cvrl.parquet", "feature"),
        ("CVRL + TxE untrained", "cvrl_txe_untrained.parquet", "context_feature"),
        ("CVRL + TxE MaskPred", "cvrl_txe_maskpred.parquet", "context_feature"),
    ]
    for name, file, column in rows:
        table = tables.read_table(feats / file)
        probes[name] = {p.label: asdict(p) for p in probe_event_features(table, corpus, column)}
    report = {
        "preset": preset,
        "seed": seed,
        "shot_detector": PRESETS[preset].shot_detector,
        "shot_detection": _shot_f1(out, corpus),
        "event_probes": probes,
        "masked_event_retrieval": _retrieval(out, feats),
        "context_tasks": _context_tasks(out, corpus, feats),
        "stage_seconds": {k: round(v, 1) for k, v in pipe.timings.items()},
    }
    files.write_json(out / "report.json", report)
    files.write_text(out / "report.md", _markdown(report))
    print(_markdown(report))
    return report


def _fmt(x: float) -> str:
    return "n/a" if isinstance(x, float) and math.isnan(x) else f"{100 * x:.1f}"


def _markdown(r: dict[str, Any]) -> str:
    s = r["shot_detection"]
    lines = [
        f"# movierep demo report (preset {r['preset']}, seed {r['seed']})",
        "",
        f"## Shot detection ({r['shot_detector']} vs. ground-truth cuts, ±2 frames)",
        "",
        f"precision {_fmt(s['precision'])} · recall {_fmt(s['recall'])} · F1 {_fmt(s['f1'])}",
        "",
        "## Event features: verb and place of 2 s events (accuracy %)",
        "",
        "kNN: leave-one-movie-out, k=10, cosine. Linear: logistic regression, train split → rest.",
        "",
        "| features | verb kNN | verb linear | place kNN | place linear |",
        "|---|---|---|---|---|",
    ]
    for name, p in r["event_probes"].items():
        v, pl = p["verb"], p["place"]
        lines.append(
            f"| {name} | {_fmt(v['knn'])} | {_fmt(v['linear'])} | {_fmt(pl['knn'])} | "
            f"{_fmt(pl['linear'])} |"
        )
    any_probe = next(iter(r["event_probes"].values()))
    lines += [
        f"| majority class | {_fmt(any_probe['verb']['chance'])} | | "
        f"{_fmt(any_probe['place']['chance'])} | |",
        "",
        "## Masked-event retrieval (true event among 100 distractors, accuracy %)",
        "",
        "| predictor | accuracy | chance |",
        "|---|---|---|",
    ]
    for name, m in r["masked_event_retrieval"].items():
        lines.append(f"| {name} | {_fmt(m['accuracy'])} | {_fmt(m['chance'])} |")
    lines += [
        "",
        "## Tasks that need context (linear probe, train split → held-out movies, %)",
        "",
        "Verb from context: the event is masked and predicted from the 4 around it. Relation:",
        "`Causes / Reaction To / Enables / NoRel` of events t and t + 1 or t + 2.",
        "",
        "| probe | accuracy | mean class accuracy | majority |",
        "|---|---|---|---|",
    ]
    for name, c in r.get("context_tasks", {}).items():
        lines.append(
            f"| {name} | {_fmt(c['accuracy'])} | {_fmt(c['mean_class_accuracy'])} | "
            f"{_fmt(c['majority'])} |"
        )
    lines += ["", "## Stage wall time (s)", ""]
    lines += [f"- {k}: {v}" for k, v in r["stage_seconds"].items()]
    return "\n".join(lines) + "\n"
