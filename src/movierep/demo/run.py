"""``movierep demo``: both papers end to end on the embedded corpus, and the report.

Stages, in order (each the library call behind a ``movierep`` command; outputs under
``OUT/``; a finished stage is skipped on a rerun, see :mod:`movierep.demo.pipeline`):

==================  ===============================================================
corpus              synthetic movies, ground truth, VidSitu / LVU / MovieNet exports
shots, events       shot detection + keyframes, 2 s events of every movie
backbone-*          Slow-D: CVRL, MoDist (self-supervised), supervised (action labels)
event-features      every backbone's (and a random init's) feature of every event
txe-*               TxE mask prediction on CVRL's and MoDist's event features
vidsitu-*           hier-SSL Tables 4 (verbs), 3 (relations), 1 (roles, TxD)
instance-features   RoIAlign features of the LVU boxes; lvu-ot: Table 5 (OT, OT++)
image-encoder       E_fixed (CLIP's stand-in) and its shot features
scenes-<source>     Movies2Scenes per similarity source: shot adjacency, P_scene, MoCo
scene-features      every encoder over the movies and MovieNet's shots
m2s-*               Movies2Scenes Tables 2 (place retrieval), 3 (LVU), 4 and 5
                    (MovieNet), 6 (moderation)
diagnostics         shot F1 against the true cuts, masked-event retrieval
store               the embeddings store and its FAISS indexes (``movierep serve``)
report              report.html (self-contained), report.md, report.json
==================  ===============================================================

``--ablations`` adds hier-SSL Table 2 (TxE variants) and Movies2Scenes' ablation rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from movierep.corpus import make_corpus
from movierep.demo import catalog, diagnostics, hierarchy, scene_tasks, scenes
from movierep.demo.paths import Paths
from movierep.demo.pipeline import Pipeline, peak_memory_gb
from movierep.demo.presets import PRESETS, DemoPreset
from movierep.demo.stage_calls import check
from movierep.errors import UserError
from movierep.video.ingest import ingest_events, ingest_shots


def stages(
    p: Paths, preset: DemoPreset, seed: int, ablations: bool
) -> list[tuple[str, Callable[[], object]]]:
    """The demo's ``(name, function)`` stages in order."""
    corpus_opts: dict[str, Any] = dict(preset.corpus)
    corpus_preset = str(corpus_opts.pop("preset"))

    def corpus() -> None:
        root = make_corpus(
            p.corpus, preset=corpus_preset, seed=seed, workers=preset.workers, **corpus_opts
        )
        print(f"corpus written to {root}")

    def shots() -> None:
        report, _ = ingest_shots([p.corpus], p.shots, detector=preset.shot_detector)
        check(report, "shots")

    def events() -> None:
        report, _ = ingest_events([p.corpus], p.out / "events")
        check(report, "events")

    out: list[tuple[str, Callable[[], object]]] = [
        ("corpus", corpus),
        ("shots", shots),
        ("events", events),
    ]
    for method in ("cvrl", "modist", "supervised"):
        out.append(
            (f"backbone-{method}", partial(hierarchy.train_backbone, p, preset, method, seed))
        )
    out.append(("event-features", lambda: hierarchy.event_features(p, seed)))
    for backbone in hierarchy.SELF_SUPERVISED:
        out.append((f"txe-{backbone}", partial(hierarchy.train_txe, p, preset, backbone, seed)))
    out += [
        ("vidsitu-features", lambda: hierarchy.vidsitu_features(p)),
        ("vidsitu-verbs", lambda: hierarchy.vidsitu_verbs(p, preset, seed)),
        ("vidsitu-relations", lambda: hierarchy.vidsitu_relations(p, preset, seed)),
        ("vidsitu-roles", lambda: hierarchy.vidsitu_srl(p, preset, seed)),
    ]
    if ablations:
        out.append(("txe-ablations", lambda: hierarchy.txe_ablations(p, preset, seed)))
    if preset.lvu_ot or ablations:
        out += [
            ("instance-features", lambda: hierarchy.instance_features(p)),
            ("lvu-ot", lambda: hierarchy.lvu_ot(p, preset, seed)),
        ]
    out.append(("image-encoder", lambda: scenes.train_image_encoder(p, preset, seed)))
    for source in preset.sources:
        train = partial(scenes.train_scene_encoder, p, preset, seed, source, source)
        out.append((f"scenes-{source}", train))
    if ablations:
        for name, source, sim_sets, space, scene_sets in scenes.ABLATIONS:
            train = partial(
                scenes.train_scene_encoder, p, preset, seed, name, source, sim_sets, space,
                scene_sets,
            )  # fmt: skip
            out.append((f"scenes-{scenes.slug(name)[:24]}", train))

    def scene_features() -> None:
        names = ["fixed", *preset.sources]
        if ablations:
            names += [a[0] for a in scenes.ABLATIONS]
        for name in names:
            for k in range(1 if name == "fixed" else preset.seeds("scene", name)):
                scenes.embed_for_tasks(p, name, k)

    out += [
        # with --ablations these two stages cover the ablation encoders too, so they carry
        # another name: a rerun with --ablations after a plain run redoes them
        ("scene-features" + ("+ablations" if ablations else ""), scene_features),
        ("m2s-place-retrieval", lambda: scene_tasks.place_retrieval(p, preset)),
        (
            "m2s-lvu" + ("+ablations" if ablations else ""),
            partial(scene_tasks.lvu, p, preset, seed, ablations),
        ),
        ("m2s-movienet", lambda: scene_tasks.movienet(p, preset, seed)),
        ("m2s-moderation", lambda: scene_tasks.moderation(p, preset, seed)),
        ("diagnostics", partial(diagnostics.run, p)),
        ("store", lambda: catalog.build_store(p, preset)),
    ]
    return out


def run_demo(
    out: Path, preset: str = "demo", seed: int = 0, ablations: bool = False
) -> dict[str, Path]:
    """Run every stage into ``out`` and write the report; return the report's files.

    Raises:
        UserError: an unknown preset, an unwritable ``out``, or a failed stage (one line
            naming the stage; what finished is kept and a rerun continues).
    """
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    p = Paths(Path(out))
    todo = stages(p, PRESETS[preset], seed, ablations)
    pipe = Pipeline(p.out, [name for name, _ in todo] + ["report"])
    tic = time.monotonic()
    for name, fn in todo:
        pipe.stage(name, fn)
    written: dict[str, Path] = {}

    def write_report() -> None:
        from movierep.demo import report

        written.update(
            report.write(
                p, PRESETS[preset], preset_name=preset, seed=seed, ablations=ablations,
                timings=pipe.timings, wall=time.monotonic() - tic, peak_gb=peak_memory_gb(),
            )
        )  # fmt: skip

    (p.out / ".stages" / "report.json").unlink(missing_ok=True)  # the report is always rebuilt
    pipe.stage("report", write_report)
    return written
