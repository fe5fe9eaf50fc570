"""The hierarchical SSL paper's stages of the demo: backbones, TxE, VidSitu, LVU with OT.

Every function is one stage: it calls the library function behind a ``movierep`` command
and writes under ``OUT``. The tables they measure (:mod:`movierep.demo.results`):

- ``hier_table1`` semantic roles (TxD; CIDEr, CIDEr-verb, CIDEr-arg, ROUGE-L, LEA),
- ``hier_table3`` event relations (Mean-Acc, Top-1),
- ``hier_table4`` verbs (Acc@1, Acc@5, Recall@5),
- ``hier_table5`` LVU with the Object Transformer, the scene pathway and OT++,
- ``hier_table2`` (``--ablations``) TxE mask-prediction variants scored on roles.

Backbones: ``random`` (initialisation), ``supervised`` (action labels of the corpus'
Kinetics-style clips: the papers' Sup-K400), ``cvrl`` and ``modist`` (self-supervised on
those clips and the movies: K400 + in-domain). TxE is pretrained by mask prediction on the
movies' event features (the corpus plays LVU's role); "TxE N" is the same TxE untrained.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from movierep import files, tables
from movierep.checkpoint import read_config, read_inputs, save_checkpoint
from movierep.data.benchmarks.vidsitu import load_vidsitu
from movierep.demo import results
from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.stage_calls import check, print_fit, train_sets
from movierep.demo.verdicts import Estimate
from movierep.features.contextualize import contextualize
from movierep.features.extract import events_from_corpus, extract_with_checkpoint
from movierep.features.instances import extract_instance_features
from movierep.models.factory import random_init_like
from movierep.recipes import cvrl, maskpred, modist, supervised
from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.protocols.lvu import task_summary
from movierep.tasks.protocols.lvu_ot import OTConfig, rank_summary, run_lvu_ot
from movierep.tasks.protocols.vidsitu_features import vidsitu_event_features
from movierep.tasks.protocols.vidsitu_relations import run_relation_task
from movierep.tasks.protocols.vidsitu_srl import CPU as SRL_CPU
from movierep.tasks.protocols.vidsitu_srl import run_srl_task
from movierep.tasks.protocols.vidsitu_verbs import run_verb_task

BACKBONES = ("random", "supervised", "cvrl", "modist")
SELF_SUPERVISED = ("cvrl", "modist")
LVU_REGRESSIONS = {"like_ratio", "view_count"}


def train_backbone(p: Paths, preset: DemoPreset, method: str, seed: int) -> None:
    """Level 1: Slow-D by CVRL, MoDist (self-supervised) or action labels (supervised)."""
    steps = preset.backbone_steps[method]
    out = p.out / "backbones" / method
    kinetics = p.corpus / "kinetics"
    cache = f"data.frame_cache={p.frame_cache}"
    if method == "supervised":  # Sup-K400: the action labels of the Kinetics-style clips
        sets = train_sets(steps, seed, "supervised.labels=class", cache)
        cfg = supervised.resolve("cpu", sets=sets)
        print_fit(supervised.run(cfg, data=[kinetics], out=out))
        return
    recipe: Any = {"cvrl": cvrl, "modist": modist}[method]
    cfg = recipe.resolve("cpu", sets=train_sets(steps, seed, cache))
    print_fit(recipe.run(cfg, data=[kinetics, p.corpus], out=out))


def head(preset: DemoPreset, cfg: ClassifierConfig | None = None) -> ClassifierConfig:
    """A task head with the preset's steps (``cfg``: the protocol's own head)."""
    cfg = cfg or ClassifierConfig()
    return cfg if preset.head_steps is None else dataclasses.replace(cfg, steps=preset.head_steps)


def random_copy(trained: Path, out: Path, seed: int) -> None:
    """A checkpoint with ``trained``'s architecture and run config, randomly initialised."""
    meta = read_config(trained)
    model = random_init_like(trained, seed)
    save_checkpoint(
        out, model, meta["arch"], meta["model_kwargs"],
        inputs=read_inputs(trained), run_config=meta["run_config"],
    )  # fmt: skip


def event_features(p: Paths, seed: int) -> None:
    """The trained backbones' feature of every 2 s event of the movies (``extract events``).

    The random initialisation is saved too; only VidSitu (Table 4) reads it, on its clips.
    """
    random_copy(p.backbone("cvrl"), p.backbone("random"), seed)
    events = events_from_corpus(p.corpus)
    for name in ("supervised", *SELF_SUPERVISED):
        report = extract_with_checkpoint(
            p.backbone(name), events, p.events(name), source=p.corpus,
            frame_cache=str(p.frame_cache),
        )  # fmt: skip
        check(report, "event-features")


def train_txe(p: Paths, preset: DemoPreset, backbone: str, seed: int) -> None:
    """Level 2: TxE pretrained by mask prediction on ``backbone``'s event features.

    ``preset.pretrain_seeds["txe"]`` pretrainings (seeds ``seed``, ``seed + 1``, ...), each
    with its untrained twin (TxE N, a random initialisation of the same seed): the rows
    that compare TxE pretrainings report the spread over these seeds. The movies' event
    table gets the first seed's contextual features (``context_feature``).
    """
    for k in range(preset.seeds("txe")):
        if (p.txe(backbone, seed=k) / "model.safetensors").is_file():
            continue  # a rerun after a later seed failed
        sets = train_sets(preset.txe_steps, seed + k, *preset.overrides("txe"))
        cfg = maskpred.resolve("cpu", sets=sets)
        out = p.txe(backbone, seed=k).parent
        print_fit(maskpred.run(cfg, features=[p.events(backbone)], out=out))
        if not p.txe(backbone, trained=False, seed=k).is_dir():
            random_copy(p.txe(backbone, seed=k), p.txe(backbone, trained=False, seed=k), seed + k)
    table = tables.read_table(p.events(backbone))
    tables.write_table(p.events(backbone), contextualize(table, p.txe(backbone)))


# ------------------------------------------------------------------------------ VidSitu

#: Table rows: (name, backbone, TxE: None / "N" (untrained) / "MaskPred").
TABLE1_ROWS = (
    ("verb only (vision-blind TxD, GPT2's role)", None, None),
    ("Slow-D+TxD, Sup", "supervised", None),
    ("Slow-D+TxE+TxD, Sup, TxE N", "supervised", "N"),
    ("Slow-D+TxE+TxD, CVRL, TxE N", "cvrl", "N"),
    ("Slow-D+TxE+TxD, CVRL, MaskPred", "cvrl", "MaskPred"),
)
TABLE3_ROWS = (
    ("Slow-D, Supervised", "supervised", None),
    ("Slow-D, CVRL", "cvrl", None),
    ("Slow-D, MoDist", "modist", None),
    ("Slow-D+TxE, CVRL, TxE No", "cvrl", "N"),
    ("Slow-D+TxE, MoDist, TxE No", "modist", "N"),
    ("Slow-D+TxE, CVRL, MaskPred", "cvrl", "MaskPred"),
    ("Slow-D+TxE, MoDist, MaskPred", "modist", "MaskPred"),
)
TABLE4_ROWS = (
    ("Slow-D, -", "random", None),
    ("Slow-D, Sup", "supervised", None),
    ("Slow-D, CVRL", "cvrl", None),
    ("Slow-D, MoDist", "modist", None),
)


class VidSitu:
    """The corpus' VidSitu export with cached clip features per (backbone, TxE)."""

    def __init__(self, p: Paths) -> None:
        self.p = p
        self.root = p.corpus / "vidsitu"
        self.train = load_vidsitu(self.root, "train")
        self.val = load_vidsitu(self.root, "val")
        self.cache = p.out / "features" / "vidsitu"

    def features(
        self, backbone: str | None, txe: str | Path | None, seed: int = 0
    ) -> dict[str, np.ndarray]:
        """``{"train", "val"}``: (clips, 5, D) event features of every clip.

        ``txe``: None (the backbone's), ``"N"`` (untrained TxE), ``"MaskPred"`` (the TxE
        pretrained on ``backbone``'s features; ``seed``: which of its pretraining seeds) or
        a TxE checkpoint.
        """
        out = {}
        if isinstance(txe, Path) or txe is None:
            ctx = txe
        else:
            ctx = self.p.txe(str(backbone), trained=txe == "MaskPred", seed=seed)
        for split, clips in (("train", self.train), ("val", self.val)):
            if backbone is None:
                out[split] = np.zeros((len(clips), 5, 1), np.float32)
                continue
            out[split] = vidsitu_event_features(
                clips, self.p.backbone(backbone), self.cache / f"{backbone}_{split}.parquet",
                contextualizer=ctx, frame_cache=str(self.p.frame_cache),
            )  # fmt: skip
        return out


def _x100(summary: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {m: (100 * a, 100 * b) for m, (a, b) in summary.items()}


def vidsitu_features(p: Paths) -> None:
    """The VidSitu clips' event features under every backbone (cached for the tasks)."""
    data = VidSitu(p)
    for name in BACKBONES:
        data.features(name, None)


def per_txe_seed(
    preset: DemoPreset, specs: Any, measure: Any, runs: int
) -> dict[int, dict[str, dict[str, Estimate]]]:
    """``{TxE seed: rows}`` for :func:`movierep.demo.results.save_seeds`.

    Rows with a TxE (N or MaskPred) are measured under every TxE pretraining seed with one
    head run each (the seeds' spread holds the heads'), or with ``runs`` head runs when the
    preset trains one TxE seed; the others (one backbone pretraining) under the first seed
    only, with ``runs`` head runs. ``measure(name, backbone, txe, k, runs)`` gives a row's
    ``{metric: (mean, se)}`` over its runs.
    """
    seeds = preset.seeds("txe")
    per_seed: dict[int, dict[str, dict[str, Estimate]]] = {}
    for k in range(seeds):
        per_seed[k] = {}
        for name, backbone, txe in specs:
            if k > 0 and txe is None:
                continue
            r = 1 if txe is not None and seeds > 1 else runs
            cells = measure(name, backbone, txe, k, r)
            per_seed[k][name] = {m: results.estimate(v, r) for m, v in cells.items()}
    return per_seed


def _classification_table(
    p: Paths, preset: DemoPreset, seed: int, key: str, specs: Any, task: Any
) -> None:
    """A VidSitu classification protocol (verbs, relations) over rows of features."""
    data = VidSitu(p)

    def measure(name: str, backbone: str, txe: str | None, k: int, runs: int) -> Any:
        x = data.features(backbone, txe, k)
        res = task(
            data.train, data.val, x["train"], x["val"], runs=runs, head=head(preset),
            seed=seed + k,
        )  # fmt: skip
        return _x100(res["summary"])

    per_seed = per_txe_seed(preset, specs, measure, preset.runs["vidsitu"])
    results.save_seeds(p.out, key, per_seed, runs=preset.runs["vidsitu"], clips=len(data.val))


def vidsitu_verbs(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Hier-SSL Table 4: verbs of 2 s events (Acc@1, Acc@5, Recall@5), a linear head."""
    _classification_table(p, preset, seed, "hier_table4", TABLE4_ROWS, run_verb_task)


def vidsitu_relations(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Hier-SSL Table 3: event relations (Mean-Acc, Top-1), backbone or TxE features."""
    _classification_table(p, preset, seed, "hier_table3", TABLE3_ROWS, run_relation_task)


def srl_rows(
    p: Paths, preset: DemoPreset, seed: int, specs: Any
) -> dict[int, dict[str, dict[str, Estimate]]]:
    """TxD on every ``(name, backbone, txe)`` row's features: roles as VidSitu scores them.

    Returns ``{TxE seed: rows}`` (:func:`per_txe_seed`); ``txe`` may also be a list of
    TxE checkpoints, one per seed (Table 2's variants).
    """
    data = VidSitu(p)

    def measure(name: str, backbone: str | None, txe: Any, k: int, runs: int) -> Any:
        x = data.features(backbone, txe[k] if isinstance(txe, list) else txe, k)
        cfg = dataclasses.replace(SRL_CPU, steps=preset.srl_steps, vision=backbone is not None)
        res = run_srl_task(
            data.train, data.val, x["train"], x["val"], runs=runs, cfg=cfg, seed=seed + k
        )
        return _x100(res["summary"])

    return per_txe_seed(preset, specs, measure, preset.runs["srl"])


def vidsitu_srl(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Hier-SSL Table 1: semantic roles with TxD (CIDEr, CIDEr-verb/-arg, ROUGE-L, LEA)."""
    per_seed = srl_rows(p, preset, seed, TABLE1_ROWS)
    results.save_seeds(p.out, "hier_table1", per_seed, runs=preset.runs["srl"])


#: Hier-SSL Table 2's variants: (name, mask sizes, token stride in seconds, loss, sampling).
#: The corpus' events are 2 s apart, so the stride row is 4 s (the paper's 1 s and 3 s
#: need events cut at those strides).
ABLATIONS = (
    ("mask {1}", [1], 2.0, "infonce", "uniform"),
    ("mask {1,2}", [1, 2], 2.0, "infonce", "uniform"),
    ("mask {1,2,3}, 2 s, uniform, contrastive", [1, 2, 3], 2.0, "infonce", "uniform"),
    ("mask {1,2,3,4}", [1, 2, 3, 4], 2.0, "infonce", "uniform"),
    ("stride 4 s", [1, 2, 3], 4.0, "infonce", "uniform"),
    ("L2 loss", [1, 2, 3], 2.0, "l2", "uniform"),
    ("max discrepancy sampling", [1, 2, 3], 2.0, "infonce", "max_discrepancy"),
)


def txe_ablations(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Hier-SSL Table 2 (``--ablations``): TxE variants, each scored on roles (CVRL)."""
    specs = []
    for i, (name, sizes, stride, loss, sampling) in enumerate(ABLATIONS):
        checkpoints = []
        for k in range(preset.seeds("txe")):
            out = p.out / "ablations" / "txe" / (f"variant{i}" + (f"_s{k}" if k else ""))
            sets = train_sets(preset.ablation_txe_steps, seed + k, f"maskpred.mask_sizes={sizes}")
            sets += [f"data.token_stride={stride}", f"maskpred.loss={loss}"]
            sets += [f"maskpred.sampling={sampling}", *preset.overrides("txe")]
            if not (out / "last" / "model.safetensors").is_file():
                cfg = maskpred.resolve("cpu", sets=sets)
                print_fit(maskpred.run(cfg, features=[p.events("cvrl")], out=out))
            checkpoints.append(out / "last")
        specs.append((name, "cvrl", checkpoints))

    per_seed = srl_rows(p, preset, seed, specs)
    results.save_seeds(p.out, "hier_table2", per_seed, runs=preset.runs["srl"])


# ------------------------------------------------------------------------ LVU with OT


def cut_rows(table: pa.Table, sources: list[dict[str, Any]]) -> pa.Table:
    """A movie-level feature table re-keyed to the LVU videos cut from those movies.

    The corpus' LVU videos are cuts ``[start_time, end_time)`` of its movies
    (``lvu/clip_sources.json``), so a movie's rows whose middle lies in the cut are the
    cut's rows, times shifted to the cut's clock and ``movie_id`` set to its video id.
    """
    movie = np.asarray(table.column("movie_id").to_pylist(), dtype=object)
    start = table.column("start_time").to_numpy(zero_copy_only=False)
    end = table.column("end_time").to_numpy(zero_copy_only=False)
    middle = (start + end) / 2
    parts = []
    for src in sources:
        keep = np.flatnonzero(
            (movie == src["movie_id"]) & (middle >= src["start_time"]) & (middle < src["end_time"])
        )
        part = table.take(pa.array(keep, pa.int64()))
        shift = float(src["start_time"])
        cols = {name: part.column(name) for name in part.column_names}
        cols["movie_id"] = pa.array([src["youtube_id"]] * len(keep), pa.string())
        cols["start_time"] = pa.array(start[keep] - shift, pa.float64())
        cols["end_time"] = pa.array(end[keep] - shift, pa.float64())
        parts.append(pa.table(cols))
    return pa.concat_tables(parts, promote_options="permissive") if parts else table.slice(0, 0)


def lvu_sources(p: Paths) -> list[dict[str, Any]]:
    """The corpus' LVU videos: ``youtube_id``, ``movie_id``, ``start_time``, ``end_time``."""
    sources: list[dict[str, Any]] = files.read_json(p.lvu / "clip_sources.json")
    return sources


def instance_features(p: Paths) -> None:
    """Instance features of the LVU videos' boxes under each backbone (``extract instances``)."""
    for name in ("supervised", "cvrl", "modist"):
        out = p.out / "features" / f"instances_{name}.parquet"
        report = extract_instance_features(
            p.backbone(name), p.lvu / "videos", p.lvu / "instance_meta.json", out,
            frame_cache=str(p.frame_cache),
        )  # fmt: skip
        check(report, "instance-features")


#: Table 5's rows: (name, instance backbone, instance pretraining, scene features).
TABLE5_ROWS = (
    ("OT (Sup + masked-instance pretraining), -", "supervised", True, None),
    ("CVRL, -", "cvrl", False, None),
    ("MoDist, -", "modist", False, None),
    ("-, Sup", None, False, ("supervised", "feature")),
    ("-, Ours (CVRL + TxE MaskPred)", None, False, ("cvrl", "context_feature")),
    ("OT++: OT, Ours", "supervised", True, ("cvrl", "context_feature")),
)


def lvu_ot(p: Paths, preset: DemoPreset, seed: int) -> None:
    """Hier-SSL Table 5: LVU's nine tasks with the Object Transformer, its scene pathway, OT++."""
    sources = lvu_sources(p)
    scenes: dict[tuple[str, str], pa.Table] = {}  # (backbone, column) -> cut table, built once
    rows, means = {}, {}
    for name, inst, pretrain, scene in TABLE5_ROWS:
        instances = None if inst is None else p.out / "features" / f"instances_{inst}.parquet"
        if scene is not None and scene not in scenes:
            backbone, column = scene
            table = tables.as_feature(tables.read_table(p.events(backbone)), column)
            extra = [c for c in table.column_names if c == "context_feature"]
            scenes[scene] = cut_rows(table.drop_columns(extra), sources)
        cfg = OTConfig(
            epochs=preset.ot_epochs, pretrain_steps=preset.ot_pretrain_steps if pretrain else 0
        )
        res = run_lvu_ot(
            p.lvu, instances, None if scene is None else scenes[scene], runs=preset.runs["ot"],
            seed=seed, cfg=cfg, desc=name,
        )  # fmt: skip
        rows[name] = task_summary(res)
        means[name] = {t: v[0] for t, v in rows[name].items()}
        items = {t: len(r["predictions"]) for t, r in res.items()}
    ranks = rank_summary(means, LVU_REGRESSIONS)
    nan = float("nan")
    for name in rows:
        rows[name]["#top-1"] = (ranks[name]["top1"], nan)
        rows[name]["mean rank"] = (ranks[name]["mean_rank"], nan)
    results.save(p.out, "hier_table5", rows, runs=preset.runs["ot"], eval_items=items)
