"""The report's figures, drawn from this run's files (:mod:`movierep.report.plots`).

- pretraining loss curves of every training stage (``metrics.jsonl`` of each run),
- 2-D maps (t-SNE) of scene embeddings, E_fixed and E_scene, coloured by the scene's true
  place and by the movie's genre,
- keyframe grids of nearest-scene retrievals from the embeddings store's index,
- one test movie's timeline: true and detected shots, true scenes (places), and the scene
  boundaries the E_scene head predicts (Movies2Scenes Table 5's protocol).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from movierep import files, tables
from movierep.corpus.export.ids import imdb_ids
from movierep.data.corpus import Corpus
from movierep.demo import results
from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.scenes import m2s, slug
from movierep.demo.training_losses import loss_curve, training_runs
from movierep.report import Figure, plots
from movierep.store.index import StoreIndex
from movierep.store.layout import read_level

MAX_POINTS = 250


def loss_curves(p: Paths, preset: DemoPreset) -> Figure:
    """Every pretraining's loss against its step (:func:`training_runs` finds them)."""
    curves: dict[str, Sequence[tuple[int, float]]] = {}
    for name, run in training_runs(p, preset).items():
        curve = loss_curve(run)
        if curve:
            curves[name] = curve
    png = plots.loss_curves(curves, title="pretraining losses of this run")
    return Figure(
        "losses", "Pretraining loss curves", "Training loss against step for every "
        "pretraining stage of this run (logged every few steps).", png,
    )  # fmt: skip


def _place_at(scenes: dict[str, list[tuple[float, str]]], movie: str, t: float) -> str:
    starts = scenes.get(movie, [])
    place = starts[0][1] if starts else "?"
    for start, name in starts:
        if start <= t:
            place = name
    return place


def truth_places(p: Paths) -> dict[str, list[tuple[float, str]]]:
    """Per movie, ``(scene start time, place)`` in time order."""
    out: dict[str, list[tuple[float, str]]] = {}
    for r in Corpus(p.corpus).truth("scenes").to_pylist():
        out.setdefault(r["movie_id"], []).append((float(r["start_time"]), str(r["place"])))
    return {m: sorted(v) for m, v in out.items()}


def embedding_maps(p: Paths, preset: DemoPreset) -> list[Figure]:
    """t-SNE of E_fixed and E_scene embeddings of the movies' scenes, by place and genre."""
    places = truth_places(p)
    genre = {
        r["movie_id"]: r["genre"]
        for r in Corpus(p.corpus).catalog.select(["movie_id", "genre"]).to_pylist()
    }
    figures = []
    for name, key in (("E_fixed", "fixed"), (f"E_scene ({preset.sources[0]})", preset.sources[0])):
        table = tables.read_table(m2s(p) / "features" / f"movie_{slug(key)}.parquet")
        rng = np.random.default_rng(0)
        keep = np.sort(rng.permutation(table.num_rows)[:MAX_POINTS])
        table = table.take(keep)
        feats = tables.to_numpy_embeddings(table.column("feature"))
        movies = table.column("movie_id").to_pylist()
        middle = (
            np.asarray(table.column("start_time").to_pylist())
            + np.asarray(table.column("end_time").to_pylist())
        ) / 2
        labels: dict[str, Sequence[str]] = {
            "place (true scene)": [
                _place_at(places, m, t) for m, t in zip(movies, middle, strict=True)
            ],
            "genre (movie)": [str(genre.get(m, "?")) for m in movies],
        }
        png = plots.embedding_map(feats, labels, title=f"{name}: {len(movies)} items")
        figures.append(
            Figure(
                f"map_{slug(key)}", f"{name} embeddings in 2-D",
                f"t-SNE of {len(movies)} {'shots' if key == 'fixed' else 'scene windows'} of the "
                "movies, coloured by the true place of the scene they lie in and by the "
                "movie's genre. Places forming islands is what place retrieval measures.",
                png,
            )
        )  # fmt: skip
    return figures


def retrieval_grid(p: Paths, queries: int = 5, k: int = 5) -> Figure:
    """Nearest scenes of other movies from the store's scene index, as keyframes."""
    store = p.out / "store"
    places = truth_places(p)
    held = set(Corpus(p.corpus).split_ids("test")) | set(Corpus(p.corpus).split_ids("val"))
    rows = read_level(store, "scene")
    movies = rows.column("movie_id").to_pylist()
    pick = [i for i, m in enumerate(movies) if m in held] or list(range(len(movies)))
    pick = pick[:: max(1, len(pick) // queries)][:queries]
    vectors = tables.to_numpy_embeddings(rows.column("embedding"))[pick]
    index = StoreIndex(store, "scene")
    found = index.search(vectors, k, exclude_movies=[movies[i] for i in pick]).to_pylist()

    def cell(r: dict[str, Any], score: float | None) -> tuple[Path, str]:
        middle = (float(r["start_time"]) + float(r["end_time"])) / 2
        place = _place_at(places, r["movie_id"], middle)
        text = f"{r['movie_id']} {place}" + ("" if score is None else f" {score:.2f}")
        return store / str(r["keyframe"]), text

    grid = []
    for qi, i in enumerate(pick):
        query = rows.slice(i, 1).to_pylist()[0]
        line = [cell(query, None)] + [cell(r, r["score"]) for r in found if r["query"] == qi]
        grid.append((f"query {qi + 1}", line))
    png = plots.keyframe_grid(grid, title="nearest scenes of other movies (E_scene, cosine)")
    return Figure(
        "retrievals", "Nearest-scene retrieval from the embeddings store",
        "Each row: a scene of a held-out movie (framed), then its nearest scenes of other "
        "movies in the store's scene index, with movie, true place and cosine similarity.",
        png,
    )  # fmt: skip


def timeline(p: Paths) -> Figure:
    """One MovieNet test movie: true and detected shots, true scenes, predicted boundaries."""
    corpus = Corpus(p.corpus)
    split = files.read_json(p.corpus / "movienet" / "scene318" / "meta" / "split318.json")
    to_imdb = imdb_ids(corpus.catalog.column("movie_id").to_pylist())
    to_movie = {v: k for k, v in to_imdb.items()}
    _, extra = results.load(p.out, "m2s_table5")
    predictions: list[dict[str, Any]] = next(
        (v for k, v in extra["predictions"].items() if k.startswith("E_scene")), []
    )
    imdb = next((i for i in split["test"] if any(r["movie_id"] == i for r in predictions)), None)
    if imdb is None:
        imdb = split["test"][0]
    movie = to_movie[imdb]
    true_shots = [r for r in corpus.truth("shots").to_pylist() if r["movie_id"] == movie]
    detected = [
        r
        for r in tables.read_table(p.shots / "shots.parquet").to_pylist()
        if r["movie_id"] == movie
    ]
    scenes = [r for r in corpus.truth("scenes").to_pylist() if r["movie_id"] == movie]
    ends = {int(r["shot_index"]): float(r["score"]) for r in predictions if r["movie_id"] == imdb}
    predicted: list[tuple[float, float, str]] = []
    start = 0.0
    shots_sorted = sorted(true_shots, key=lambda r: r["shot_index"])
    for r in shots_sorted:
        if ends.get(int(r["shot_index"]), 0.0) > 0.5 or r is shots_sorted[-1]:
            predicted.append((start, float(r["end_time"]), f"scene {len(predicted) + 1}"))
            start = float(r["end_time"])
    duration = max(float(r["end_time"]) for r in true_shots)
    # shots are numbered per track ("t3", "d3") so equal colours never suggest equal shots
    tracks = [
        (
            "true shots",
            [(r["start_time"], r["end_time"], f"t{r['shot_index']}") for r in shots_sorted],
        ),
        (
            "detected shots",
            [(r["start_time"], r["end_time"], f"d{r['shot_index']}") for r in detected],
        ),
        ("true scenes (place)", [(r["start_time"], r["end_time"], r["place"]) for r in scenes]),
        ("scenes from E_scene boundaries", predicted),
    ]
    png = plots.timeline(tracks, duration, title=f"{movie} ({imdb}), a MovieNet test movie")
    return Figure(
        "timeline", f"Timeline of {movie} against its ground truth",
        "Shots detected by the demo's shot detector against the true cuts, and the scenes the "
        "scene-boundary head on E_scene features predicts (boundary probability > 0.5 after a "
        "shot, first run) against the true scenes and their places.",
        png,
    )  # fmt: skip


def all_figures(p: Paths, preset: DemoPreset) -> list[Figure]:
    """Every figure of the report."""
    return [loss_curves(p, preset), *embedding_maps(p, preset), retrieval_grid(p), timeline(p)]
