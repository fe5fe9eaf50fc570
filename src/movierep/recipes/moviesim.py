"""Movie-similarity recipe (``train moviesim``): the shot-adjacency network of Fig. 2.

Computes the movie-similarity pseudo-labels S from the chosen sources
(:func:`movierep.similarity.movie_pairs.movie_pairs`: co-watch, synopsis, genre, or a
``+`` combination) over the training movies, writes them to ``out/pairs.parquet``, and
trains E_learnable and L_output with cross-entropy on similar pairs against as many
random dissimilar ones (:class:`movierep.data.movie_pair_data.MoviePairDataset`), on the
cached E_fixed shot features (``movierep extract shots``), read per movie pair from the
Parquet table (:class:`movierep.features.shot_store.ShotFeatureStore`: each data worker
opens the file itself and keeps a few recent movies), never loaded whole.

The ``paper`` profile is Fig. 2's sizes and the supplement's optimisation (§1.1 a): "we
used SGD to optimize with learning rate of 0.1, batch size of 256 and epoch number of 20
... The same set of hyper-parameters was applied to all three types of movie-level
information", with Eq. 1's bare inner product (``net.cosine=false``). The batch is global
(``train.global_batch_size``: 256 on any number of processes) and an epoch is one pass
over the similar pairs and their negatives. What the supplement leaves open is ours:
momentum 0.9 (MoCo's SGD), no weight decay, a cosine decay with no warm-up.

The ``cpu`` profile is derived from it: the movie scaled to 32 shots (a ``demo`` corpus
movie has ~12 detected shots, at most ~35) and the kernels to 4 / strides 2 (a scene is 4
shots, the length of a corpus scene; B is 15 × 15 and V 6 × 6); 300 steps of 32 pairs;
and two departures that earn their place on the corpus: cosine adjacency (with the bare
inner product A's entries are in the tens at initialisation, L_output saturates, and the
genre source did not learn: train accuracy 0.59 after 2,000 steps against 0.76 after
1,000 with cosine) and AdamW at 1e-3 without weight decay (the setting whose held-out
pair accuracy the demo reports; SGD's 0.1 belongs to 256-pair batches).

``pairs.catalog_fraction`` < 1 trains on a seeded fraction of the movies (Table 3's
ablation-scale).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from movierep import config, dist, files, tables
from movierep.data.corpus import Corpus
from movierep.data.movie_pair_data import MoviePairDataset
from movierep.data.sampling import seeded_loader
from movierep.errors import UserError
from movierep.features.shot_store import ShotFeatureStore
from movierep.models.shot_adjacency import (
    SHOT_ADJACENCY_CPU,
    ShotAdjacencyConfig,
    ShotAdjacencyNet,
)
from movierep.pretrain.moviesim import MovieSimilarity
from movierep.similarity.benchmark_overlap import benchmark_imdb_ids, exclude_benchmark_movies
from movierep.similarity.heldout import heldout_pair_accuracy
from movierep.similarity.movie_pairs import movie_pairs
from movierep.similarity.scene_pairs import pair_list
from movierep.train.loop import FitResult, TrainConfig, fit, seed_everything, sized_for

PAIRS_FILE = "pairs.parquet"
HELDOUT_FILE = "heldout.json"
OVERLAP_FILE = "benchmark_overlap.json"


@dataclass(frozen=True)
class PairsConfig:
    """Where S comes from, and how much of the catalog is used.

    Sources are ``cowatch``, ``synopsis``, ``genre``, or several joined by ``+``; ``k``
    similar movies per movie and source (3); the genre draw's seed; the co-watch window;
    negatives per similar pair; the share of the catalog used (ablation-scale); whether
    movies of LVU's and MovieNet's val/test sets are excluded by IMDb id (§4.3, on by
    default: :mod:`movierep.similarity.benchmark_overlap`).
    """

    sources: str = "cowatch"
    k: int = 3
    seed: int = 0
    cowatch_window: int = 1
    negatives_per_positive: int = 1
    catalog_fraction: float = 1.0
    exclude_benchmarks: bool = True


def _paper_train() -> TrainConfig:
    return TrainConfig(
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        weight_decay=0.0,
        global_batch_size=256,
        epochs=20,
        warmup_steps=0,
        log_every=50,
        ckpt_every=2000,
    )


@dataclass(frozen=True)
class MovieSimRun:
    """``train moviesim``: the network, the pseudo-labels, optimisation."""

    net: ShotAdjacencyConfig = field(default_factory=ShotAdjacencyConfig)
    pairs: PairsConfig = field(default_factory=PairsConfig)
    train: TrainConfig = field(default_factory=_paper_train)


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "cpu": {
        **config.preset_overrides("net", SHOT_ADJACENCY_CPU),
        "train.epochs": None,
        "train.global_batch_size": None,
        "train.steps": 300,
        "train.batch_size": 32,
        "train.optimizer": "adamw",
        "train.lr": 1e-3,
        "train.warmup_steps": 20,
        "train.log_every": 10,
        "train.ckpt_every": 100,
    },
}


def resolve(
    profile: str = "paper", config_file: Path | None = None, sets: Sequence[str] = ()
) -> MovieSimRun:
    """The resolved run config: defaults ← ``profile`` ← YAML file ← ``sets``."""
    return config.build(MovieSimRun, PROFILES, profile, config_file, sets)


def catalog_subset(movie_ids: Sequence[str], fraction: float, seed: int) -> list[str]:
    """A seeded ``fraction`` of the movies (all of them at 1.0), in their given order."""
    if not 0 < fraction <= 1:
        raise UserError(f"pairs.catalog_fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return list(movie_ids)
    keep = max(2, round(fraction * len(movie_ids)))
    chosen = set(np.random.default_rng(seed).choice(len(movie_ids), keep, replace=False).tolist())
    return [m for i, m in enumerate(movie_ids) if i in chosen]


def run(
    cfg: MovieSimRun,
    *,
    corpus: Path,
    shot_features: Path,
    out: Path,
    movie_ids: Sequence[str] | None = None,
    synopsis_encoder: Path | None = None,
    heldout_ids: Sequence[str] | None = None,
    lvu: Path | None = None,
    movienet: Path | None = None,
) -> FitResult:
    """Learn movie similarity; the export is ``out/last`` (arch ``shot_adjacency``).

    Args:
        cfg: the resolved run config.
        corpus: the catalog (``catalog.parquet`` with genres and synopses, ``watch_log.parquet``).
        shot_features: E_fixed features of the movies' shots (``movierep extract shots``).
        out: run folder; ``out/pairs.parquet`` holds S; resumes from ``out/last``.
        movie_ids: the movies to learn from (default: every movie with shot features).
        synopsis_encoder: a local sentence-transformers folder (default: the shipped MiniLM).
        heldout_ids: movies never trained on (e.g. the val and test splits): after
            training, the network classifies their similar pairs (same source and k) and
            as many dissimilar ones; the accuracy beside chance is written to
            ``out/heldout.json`` and added to the result's metrics as ``heldout_acc``
            (:func:`movierep.similarity.heldout.heldout_pair_accuracy`).
        lvu: LVU's folder whose val/test movies never pretrain (default: ``corpus/lvu``).
        movienet: MovieNet's root, likewise (default: ``corpus/movienet``); what was
            excluded is printed and written to ``out/benchmark_overlap.json``.
    """
    dist.init_from_env()
    out = Path(out)
    features = ShotFeatureStore(shot_features)
    ids = [m for m in (movie_ids or list(features)) if m in features]
    ids = catalog_subset(ids, cfg.pairs.catalog_fraction, cfg.pairs.seed)
    excluded = ""
    if cfg.pairs.exclude_benchmarks:
        overlap = exclude_benchmark_movies(
            Corpus(corpus).catalog, ids,
            benchmark_imdb_ids(lvu or Path(corpus) / "lvu", movienet or Path(corpus) / "movienet"),
        )  # fmt: skip
        ids = overlap.kept
        gone = len({m for ms in overlap.removed.values() for m in ms})
        excluded = f" after excluding {gone} benchmark val/test movies" if gone else ""
        if dist.is_main():
            print(overlap.summary())
            files.write_json(out / OVERLAP_FILE, {"summary": overlap.summary(), **asdict(overlap)})
    if len(ids) < 3:
        raise UserError(
            f"{shot_features}: {len(ids)} movies with shot features{excluded}; need 3 or more"
        )
    pairs = movie_pairs(
        corpus,
        cfg.pairs.sources,
        cfg.pairs.k,
        seed=cfg.pairs.seed,
        synopsis_encoder=synopsis_encoder,
        movie_ids=ids,
        window=cfg.pairs.cowatch_window,
    )
    if dist.is_main():
        tables.write_table(out / PAIRS_FILE, pairs)
    similar = pair_list(pairs)
    cfg = dataclasses.replace(cfg, net=dataclasses.replace(cfg.net, input_dim=features.dim))
    dataset = MoviePairDataset(
        features.subset(ids), similar, cfg.net.num_shots, cfg.pairs.negatives_per_positive
    )
    cfg = dataclasses.replace(cfg, train=sized_for(cfg.train, len(dataset), dist.world_size()))
    seed_everything(cfg.train.seed)
    net = ShotAdjacencyNet(cfg.net)
    objective = MovieSimilarity(net)
    loader = seeded_loader(
        dataset,
        batch_size=min(cfg.train.batch_size, len(dataset) // dist.world_size()),
        seed=cfg.train.seed,
        num_workers=cfg.train.num_workers,
        name=str(shot_features),
    )
    if dist.is_main():
        config.write_config(cfg, out)

    def export() -> tuple[nn.Module, str, dict[str, Any]]:
        return net, "shot_adjacency", net.model_kwargs

    result = fit(
        objective,
        loader,
        cfg.train,
        out,
        export=export,
        run_config=config.to_dict(cfg),
        title=f"movie similarity ({cfg.pairs.sources})",
    )
    held = [m for m in heldout_ids or () if m in features and m not in set(ids)]
    if held and dist.is_main():
        held_pairs = movie_pairs(
            corpus, cfg.pairs.sources, cfg.pairs.k, seed=cfg.pairs.seed,
            synopsis_encoder=synopsis_encoder, movie_ids=held, window=cfg.pairs.cowatch_window,
        )  # fmt: skip
        score = heldout_pair_accuracy(net, features.subset(held), held_pairs, seed=cfg.pairs.seed)
        files.write_json(out / HELDOUT_FILE, {"movies": len(held), **score.as_dict()})
        result.metrics["heldout_acc"] = score.accuracy
        print(
            f"held-out movie pairs ({len(held)} movies): accuracy {score.accuracy:.3f} ± "
            f"{score.se:.3f} over {score.pairs} pairs (chance {score.chance})"
        )
    return result
