"""Does scene contrast learn? Movies2Scenes on one corpus: E_fixed against E_scene per source.

Issue 19's measurement, on a corpus' shots folder (``movierep ingest shots``). Once:

1. E_fixed: the image ViT (``--encoder``: a CLIP file or a ViT checkpoint; default: train
   movierep's stand-in with ``train image-encoder --profile cpu`` on the train movies),
2. its features for every shot (``extract shots``).

Then for every similarity source (``--sources``: ``cowatch genre synopsis``) and seed:

3. movie-similarity learning on the train movies (``train moviesim --profile cpu``),
4. scene-pair selection (``select-pairs``; ``--ablations`` adds pairs chosen in E_fixed
   space, a third of the catalog, and 2-shot scenes),
5. scene MoCo from E_fixed's weights (``train scenes --profile cpu``),
6. place retrieval (Movies2Scenes Table 2's protocol) on the corpus' annotated scenes:
   held-out scenes (val and test movies) query the training scenes by L2,
   precision@1/5/10, and the same with the movie's genre and director as the label;
   scene features are E_scene over the scene's shots. Two E_fixed rows: the mean of its
   shots' features, and E_fixed itself given the scene's shots as one input (interpolated
   positions, no scene training: what scene MoCo starts from).

``genre+synopsis`` concatenates the two encoders' embeddings (Table 3). Each unit writes
``WORK/<name>_s<seed>/result.json``; a rerun skips finished units.

    python benchmarks/movies2scenes_learning.py --corpus corpus --shots runs/shots \\
        --work runs/m2s --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from movierep import files, tables
from movierep.data.corpus import Corpus
from movierep.features.image_encoder import shot_times
from movierep.features.scene_features import (
    concatenate_features,
    extract_scene_features,
    shot_ranges,
)
from movierep.features.shot_features import extract_shot_features, pool_shot_features
from movierep.recipes import image_encoder, moviesim, scenes
from movierep.similarity.scene_pairs import select_pairs
from movierep.tasks.heads.protocol import mean_and_se
from movierep.tasks.protocols.place_retrieval import corpus_scene_places, retrieval_by_split

ABLATIONS: dict[str, dict[str, Any]] = {
    "ablation-selection": {"source": "cowatch", "space": "fixed"},
    "ablation-scale": {"source": "cowatch", "sets": ["pairs.catalog_fraction=0.33"]},
    "cowatch-2shots": {"source": "cowatch", "scene_sets": ["data.shots_per_scene=2"]},
    # not the paper's: how much of the change comes from how far MoCo moves the weights
    "cowatch-lr1e-5": {"source": "cowatch", "scene_sets": ["train.lr=1e-5"]},
}


def _timed(times: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    tic = time.monotonic()
    out = fn()
    times[name] = round(time.monotonic() - tic, 1)
    return out


LABELS = ("place", "genre", "director")


def flat(result: dict[str, dict[int, float]], prefix: str = "") -> dict[str, float]:
    """``{"all": {1: p, ...}, place: ...}`` → ``{"P@1": p, ..., "office/P@1": ...}`` (×100)."""
    out = {f"{prefix}P@{k}": round(100 * v, 2) for k, v in result["all"].items()}
    if not prefix:
        for place, row in result.items():
            if place != "all":
                out.update({f"{place}/P@{k}": round(100 * v, 2) for k, v in row.items()})
    return out


#: Queries: the held-out movies' scenes (val and test: both unseen by every training
#: stage; the corpus' 24 val movies alone give ~76 queries, P@1 ± 6 points).
QUERIES = ("val", "test")


def retrieval(features: np.ndarray, items: Any) -> dict[str, float]:
    """Place retrieval (per place and overall) plus genre and director retrieval (overall)."""
    out = flat(retrieval_by_split(features, items, QUERIES))
    for label in LABELS[1:]:
        result = retrieval_by_split(features, items, QUERIES, label=label)
        out.update(flat(result, prefix=f"{label}:"))
    return out


def scene_features(encoder: Path, shots: Path, items: Any, out: Path) -> np.ndarray:
    """E_scene of every item (time range), in the items' order."""
    if not out.is_file():
        extract_scene_features(encoder, shots, out, ranges=items, show_progress=False)
    return ordered(tables.read_table(out), items, shots)


def ordered(table: Any, items: Any, shots: Path) -> np.ndarray:
    """Rows of a scene-features table in the order of ``items`` (matched by shot range)."""
    feats = tables.to_numpy_embeddings(table.column("feature"))
    index = {
        (m, a, b): i
        for i, (m, a, b) in enumerate(
            zip(
                table.column("movie_id").to_pylist(),
                table.column("start_shot").to_pylist(),
                table.column("end_shot").to_pylist(),
                strict=True,
            )
        )
    }
    spans = item_spans(items, shots)
    return np.stack([feats[index[key]] for key in spans])


def item_spans(items: Any, shots: Path) -> list[tuple[str, int, int]]:
    """The shot range of every item, in order."""
    times = shot_times(shots)
    counts: dict[str, int] = {}
    for m, s in times:
        counts[m] = max(counts.get(m, 0), s + 1)
    per_movie = shot_ranges(items, counts, times, 1)
    cursor = dict.fromkeys(per_movie, 0)
    out = []
    for m in items.column("movie_id").to_pylist():
        a, b = per_movie[m][cursor[m]]
        cursor[m] += 1
        out.append((m, a, b))
    return out


def run_unit(
    name: str, seed: int, spec: dict[str, Any], fixed: dict[str, Path], args: Any
) -> dict[str, Any]:
    """Train and evaluate one (source or ablation, seed) unit."""
    unit = Path(args.work) / f"{name}_s{seed}"
    done = unit / "result.json"
    if done.is_file():
        return dict(json.loads(done.read_text()))
    times: dict[str, float] = {}
    c = Corpus(args.corpus)
    train_ids, held_ids = c.split_ids("train"), c.split_ids("val") + c.split_ids("test")
    sim_cfg = moviesim.resolve(
        "cpu", sets=[f"pairs.sources={spec['source']}", f"train.seed={seed}", *spec.get("sets", [])]
    )
    _timed(times, "moviesim", lambda: moviesim.run(
        sim_cfg, corpus=args.corpus, shot_features=fixed["features"], out=unit / "moviesim",
        movie_ids=train_ids, heldout_ids=held_ids,
    ))  # fmt: skip
    p_scene = unit / "p_scene.parquet"
    scene_cfg = scenes.resolve("cpu", sets=[f"train.seed={seed}", *spec.get("scene_sets", [])])
    selected = _timed(times, "select", lambda: select_pairs(
        unit / "moviesim", fixed["features"], p_scene, space=spec.get("space", "learned"),
        window=scene_cfg.data.shots_per_scene,
    ))  # fmt: skip
    if args.scene_steps:
        scene_cfg = scenes.resolve(
            "cpu",
            sets=[
                f"train.seed={seed}",
                f"train.steps={args.scene_steps}",
                *spec.get("scene_sets", []),
            ],
        )
    report: dict[str, Any] = {}
    if args.scene_sources is None or spec["source"] in args.scene_sources:
        result = _timed(times, "scenes", lambda: scenes.run(
            scene_cfg, pairs=p_scene, shots=args.shots, init=fixed["encoder"],
            out=unit / "scenes",
        ))  # fmt: skip
        items = corpus_scene_places(args.corpus)
        feats = _timed(times, "extract", lambda: scene_features(
            unit / "scenes" / "last", args.shots, items, unit / "scene_features.parquet",
        ))  # fmt: skip
        report["scene_last"] = {k: round(float(v), 4) for k, v in result.metrics.items()}
        report["place_retrieval"] = retrieval(feats, items)
    report = {
        "name": name,
        "seed": seed,
        "spec": spec,
        "pairs": sim_cfg.pairs.sources,
        "similar_pairs": tables.read_table(unit / "moviesim" / "pairs.parquet").num_rows,
        "scene_pairs": selected.num_rows,
        "moviesim_last": _last_metrics(unit / "moviesim"),
        "heldout_pairs": json.loads((unit / "moviesim" / "heldout.json").read_text()),
        **report,
        "seconds": times,
    }
    files.write_json(done, report, indent=2)
    return report


def pair_content_agreement(p_scene: Any, corpus: Path, shots: Path) -> dict[str, float]:
    """Shares (%) of scene pairs whose two shot ranges play in one place class, and that
    share a character (same shape, colour and size).

    A range's scene is the annotated scene holding the middle of the range.
    """
    c = Corpus(corpus)
    middle = {key: (a + b) / 2 for key, (a, b) in shot_times(shots).items()}
    looks = {
        (r["movie_id"], r["character_id"]): r["description"]
        for r in c.truth("characters").to_pylist()
    }
    scenes: dict[str, list[tuple[float, str, frozenset[str]]]] = {}
    for r in c.truth("scenes").to_pylist():
        cast = frozenset(looks[(r["movie_id"], ch)] for ch in r["characters"])
        scenes.setdefault(r["movie_id"], []).append((r["start_time"], r["place"], cast))

    for rows_of_movie in scenes.values():
        rows_of_movie.sort(key=lambda x: x[0])

    def scene(movie: str, a: int, b: int) -> tuple[float, str, frozenset[str]]:
        t = float(np.mean([middle[(movie, s)] for s in range(a, b)]))
        ordered_scenes = scenes[movie]
        before = [x for x in ordered_scenes if x[0] <= t]
        return before[-1] if before else ordered_scenes[0]

    rows = p_scene.to_pylist()
    if not rows:
        return {"same_place": float("nan"), "same_character": float("nan")}
    place, cast = [], []
    for r in rows:
        _, pa_, ca = scene(r["movie_a"], r["a_start"], r["a_end"])
        _, pb, cb = scene(r["movie_b"], r["b_start"], r["b_end"])
        place.append(pa_ == pb)
        cast.append(bool(ca & cb))
    return {
        "same_place": round(100 * float(np.mean(place)), 2),
        "same_character": round(100 * float(np.mean(cast)), 2),
    }


def _last_metrics(run: Path) -> dict[str, float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return {k: v for k, v in json.loads(lines[-1]).items() if isinstance(v, float)}


def prepare_fixed(args: Any) -> dict[str, Path]:
    """E_fixed (given or trained once) and its shot features."""
    work = Path(args.work)
    encoder = Path(args.encoder) if args.encoder else work / "image_encoder" / "last"
    if not args.encoder and not encoder.is_dir():
        cfg = image_encoder.resolve("cpu", sets=[f"train.steps={args.image_steps}"])
        ids = Corpus(args.corpus).split_ids("train")
        image_encoder.run(cfg, shots=args.shots, out=work / "image_encoder", movie_ids=ids)
    features = work / "shot_features.parquet"
    if not features.is_file():
        extract_shot_features(encoder, args.shots, features)
    return {"encoder": encoder, "features": features}


def fixed_baseline(fixed: dict[str, Path], args: Any) -> dict[str, float]:
    """E_fixed per scene: the mean of its shots' features."""
    items = corpus_scene_places(args.corpus)
    spans = item_spans(items, args.shots)
    pooled = pool_shot_features(tables.read_table(fixed["features"]), _group(spans))
    cursor = dict.fromkeys(pooled, 0)
    rows = []
    for m, _, _ in spans:
        rows.append(pooled[m][cursor[m]])
        cursor[m] += 1
    return retrieval(np.stack(rows), items)


def _group(spans: Sequence[tuple[str, int, int]]) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for m, a, b in spans:
        out.setdefault(m, []).append((a, b))
    return out


def concatenated(units: dict[str, dict[str, Any]], a: str, b: str, args: Any) -> dict[str, float]:
    """Place retrieval of two encoders' embeddings concatenated (Table 3's genre+synopsis)."""
    items = corpus_scene_places(args.corpus)
    parts = [tables.read_table(Path(args.work) / f"{u}" / "scene_features.parquet") for u in (a, b)]
    joined = concatenate_features(parts)
    return retrieval(ordered(joined, items, args.shots), items)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--shots", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--encoder", type=Path, default=None, help="E_fixed (default: train one)")
    parser.add_argument("--image-steps", type=int, default=400)
    parser.add_argument("--scene-steps", type=int, default=None)
    parser.add_argument("--sources", nargs="+", default=["cowatch", "genre", "synopsis"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--ablations", action="store_true")
    parser.add_argument(
        "--scene-sources",
        nargs="+",
        default=None,
        help="train E_scene only for these sources (default: all); the others stop after "
        "movie similarity and pair selection",
    )
    parser.add_argument("--ablation-seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/movies2scenes_learning.json")
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    fixed = prepare_fixed(args)
    specs: dict[str, dict[str, Any]] = {s: {"source": s} for s in args.sources}
    if args.ablations:
        specs.update(ABLATIONS)
    units: dict[str, dict[str, Any]] = {}
    for name, spec in specs.items():
        seeds = args.ablation_seeds if name in ABLATIONS else args.seeds
        for seed in seeds:
            units[f"{name}_s{seed}"] = run_unit(name, seed, spec, fixed, args)
    items = corpus_scene_places(args.corpus)
    as_scene = scene_features(
        fixed["encoder"], args.shots, items, args.work / "efixed_scene_features.parquet"
    )
    rows: dict[str, list[dict[str, float]]] = {
        "E_fixed (mean of shots)": [fixed_baseline(fixed, args)],
        "E_fixed (scene input)": [retrieval(as_scene, items)],
    }
    for key, unit in units.items():  # scored again: the protocol may change, not the models
        if (args.work / key / "scene_features.parquet").is_file():
            table = tables.read_table(args.work / key / "scene_features.parquet")
            unit["place_retrieval"] = retrieval(ordered(table, items, args.shots), items)
            rows.setdefault(unit["name"], []).append(unit["place_retrieval"])
        selected = tables.read_table(args.work / key / "p_scene.parquet")
        window = scenes.resolve("cpu", sets=unit["spec"].get("scene_sets", [])).data.shots_per_scene
        select_pairs(
            args.work / key / "moviesim", fixed["features"], args.work / key / "candidates.parquet",
            window=window, fraction=1.0, greedy=False,
        )  # fmt: skip
        select_pairs(
            args.work / key / "moviesim", fixed["features"], args.work / key / "p_fixed.parquet",
            window=window, space="fixed",
        )  # fmt: skip
        every = tables.read_table(args.work / key / "candidates.parquet")
        in_fixed = tables.read_table(args.work / key / "p_fixed.parquet")
        unit["pair_sharing"] = {
            "selected": pair_content_agreement(selected, args.corpus, args.shots),
            "selected_in_fixed_space": pair_content_agreement(in_fixed, args.corpus, args.shots),
            "all_candidates": pair_content_agreement(every, args.corpus, args.shots),
        }
    if {"genre", "synopsis"} <= set(rows):
        rows["genre+synopsis"] = [
            concatenated(units, f"genre_s{s}", f"synopsis_s{s}", args) for s in args.seeds
        ]
    summary = {
        name: {
            k: dict(zip(("mean", "se"), mean_and_se([r[k] for r in runs]), strict=True))
            for k in runs[0]
        }
        for name, runs in rows.items()
    }
    agreement: dict[str, list[dict[str, dict[str, float]]]] = {}
    for unit in units.values():
        agreement.setdefault(unit["name"], []).append(unit["pair_sharing"])
    same_place = {
        name: {
            which: {
                k: dict(zip(("mean", "se"), mean_and_se([r[which][k] for r in runs]), strict=True))
                for k in runs[0][which]
            }
            for which in runs[0]
        }
        for name, runs in agreement.items()
    }
    heldout: dict[str, list[float]] = {}
    for unit in units.values():
        heldout.setdefault(unit["name"], []).append(unit["heldout_pairs"]["accuracy"])
    heldout_summary = {
        name: dict(zip(("mean", "se"), mean_and_se(accs), strict=True), chance=0.5)
        for name, accs in heldout.items()
    }
    report = {
        "corpus": str(args.corpus),
        "pair_sharing": same_place,
        "heldout_pair_accuracy": heldout_summary,
        "machine": platform.platform(),
        "seeds": args.seeds,
        "units": units,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=2)
    for name, row in summary.items():
        keys = [f"P@{k}" for k in (1, 5, 10)] + [f"{lab}:P@1" for lab in LABELS[1:]]
        cells = "  ".join(f"{k} {row[k]['mean']:.1f}±{row[k]['se']:.1f}" for k in keys)
        print(f"{name:28s} {cells}")
    for name, row in same_place.items():
        cells = ", ".join(
            f"{which} place {r['same_place']['mean']:.1f}% / character "
            f"{r['same_character']['mean']:.1f}%"
            for which, r in row.items()
        )
        acc = heldout_summary[name]
        print(f"{name}: held-out pair acc {acc['mean']:.3f}±{acc['se']:.3f}; {cells}")
    return report


if __name__ == "__main__":
    main()
