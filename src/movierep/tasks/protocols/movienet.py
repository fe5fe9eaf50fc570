"""MovieNet scene tasks on frozen shot features: place tagging and scene-boundary detection.

Movies2Scenes Tables 4 and 5, following ../shared/benchmarks/lvu_movienet.md §B and the
"Decisions" of ../shared/benchmarks.md. Both read a ``shot_features`` table (``movie_id``
= imdb id, ``shot_index`` = MovieNet's shot index, ``feature``), e.g. E_fixed from
:func:`movierep.features.shot_features.extract_shot_features` over
:func:`movierep.data.benchmarks.movienet_shots.write_shots_folder`.

**Place tagging** (Table 4, §B.6): an item is an annotated scene segment of
``annotation/<imdb>.json`` (shot range inclusive) with at least one ``place_tag`` (segments
without tags are not annotated and are skipped); its feature is its own embedding in a
segment table (a scene encoder over :func:`place_segments`: Movies2Scenes tags places from
9-shot scenes, 12.13 mAP, against 9.37 from 4 shots) or the mean of its shots' features in a
shot table (the supplement's CLIP row: "features for each shot in the input scene, followed
by average pooling"). The vocabulary is the tags occurring at least ``min_count`` times
among the training segments, sorted (the real data keeps tags with ≥ 25 occurrences: 90
classes); test tags outside it are dropped. A multi-label MLP with 2 hidden layers (sigmoid
/ BCE) trains on ``train_split`` and is scored on ``test_split`` by
:func:`movierep.metrics.multilabel.mean_average_precision` (classes without a test positive
skipped). Real place tagging uses MovieNet's 1,100-movie split; on the corpus export (and
MovieNet-318) the splits are ``split318.json``'s: train → test.

**Scene-boundary detection** (Table 5, §B.3): every shot i < N−1 of a movie is evaluated (the
boundary after shot i, the ``label318`` rows, −1 counted as 1, as BaSSL scores every row);
its input is the features of shots ``i−1, i, i+1, i+2`` concatenated (4·D; indices clamped
to ``[0, N−1]`` at the movie's ends), and a binary MLP (2-way softmax) trained on the
``train_split`` movies' boundaries scores the ``test_split`` movies', evaluated by
:func:`movierep.metrics.scene_boundaries.sbd_metrics`. No model selection on val (as the
official code). Recall@3s uses ``fps``: 24 by default, as real MovieNet; the corpus export
does not record its frame rate, so pass the corpus' own rate (the catalog's ``fps``).

Both heads train their N seeded runs together as one ensemble
(:mod:`movierep.tasks.heads.ensemble`), then each run is scored on its own. Their ``paper``
profiles are the supplement's (§1.3: SGD, lr 5.0 / dropout 0.25 / 200 epochs / batch 512
for places, lr 0.03 / dropout 0.8 / 800 epochs / batch 4096 for boundaries); the ``cpu``
profiles keep the architecture with a short AdamW schedule of ours.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from movierep import tables
from movierep.data.benchmarks.movienet import (
    MovieNetMovie,
    load_movienet_movie,
    load_place_annotation,
    load_split318,
)
from movierep.errors import UserError
from movierep.metrics.multilabel import mean_average_precision
from movierep.metrics.scene_boundaries import MOVIENET_FPS, sbd_metrics
from movierep.tasks.heads.feature_classifier import (
    ClassifierConfig,
    ClassifierEnsemble,
    FeatureClassifier,
    class_scores,
    fit_classifier_ensemble,
)
from movierep.tasks.heads.protocol import ensemble_runs

#: Place tagging head, ``cpu`` profile: the supplement's 2 hidden layers of 512 and dropout
#: 0.25, with a short AdamW schedule of ours.
PLACE_CONFIG = ClassifierConfig(hidden=(512, 512), dropout=0.25, steps=500, batch_size=512)
#: Place tagging head, ``paper`` profile (M2S supplement §1.3 a): "MLP with two
#: 512-dimensional hidden layers optimized by SGD with learning rate of 5.0, drop out of
#: 0.25, epoch number of 200 and batch size of 512", BCEWithLogitsLoss (mean over labels).
#: Momentum and weight decay are not given: PyTorch's SGD defaults (none).
PLACE_PAPER = ClassifierConfig(
    hidden=(512, 512), dropout=0.25, batch_size=512, lr=5.0, weight_decay=0.0,
    optimizer="sgd", momentum=0.0, epochs=200,
)  # fmt: skip
#: Boundary head, ``cpu`` profile: 2 hidden layers of 512; dropout 0.8 with 800 SGD epochs
#: in the supplement, a milder 0.5 for our short AdamW schedule.
SBD_CONFIG = ClassifierConfig(hidden=(512, 512), dropout=0.5, steps=1000, batch_size=4096)
#: Boundary head, ``paper`` profile (M2S supplement §1.3 b): "MLP with two 512-dimensional
#: hidden layers optimized by SGD with learning rate of 0.03, drop out of 0.8, epoch number
#: of 800 and batch size of 4096" (2-way softmax; SGD defaults otherwise).
SBD_PAPER = ClassifierConfig(
    hidden=(512, 512), dropout=0.8, batch_size=4096, lr=0.03, weight_decay=0.0,
    optimizer="sgd", momentum=0.0, epochs=800,
)  # fmt: skip
#: ``--profile`` of ``movierep eval movienet-places`` / ``movienet-sbd``.
PLACE_PROFILES = {"cpu": PLACE_CONFIG, "paper": PLACE_PAPER}
SBD_PROFILES = {"cpu": SBD_CONFIG, "paper": SBD_PAPER}
#: Shot offsets of the 4-shot window of the boundary after shot i (LGSS: −1..+2).
WINDOW_OFFSETS = (-1, 0, 1, 2)


class ShotFeatures:
    """A shot-features table indexed by ``(movie_id, shot_index)``.

    Args:
        table: the table or its Parquet path (``movie_id``, ``shot_index``, ``feature``).
        name: how errors name the table (default: the path, or ``shot features table``).
    """

    def __init__(self, table: str | Path | pa.Table, name: str | None = None) -> None:
        if isinstance(table, pa.Table):
            self.name = name or "shot features table"
        else:
            self.name = name or str(table)
            table = tables.read_table(table, ["movie_id", "shot_index", "feature"])
        tables.require_columns(table, ["movie_id", "shot_index", "feature"], self.name)
        feats = tables.to_numpy_embeddings(table.column("feature"))
        self.dim = int(feats.shape[1])
        movies = np.asarray(table.column("movie_id").to_pylist(), dtype=object)
        shots = np.asarray(table.column("shot_index").to_numpy(zero_copy_only=False), np.int64)
        self._rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        order = np.argsort(movies.astype(str), kind="stable")
        bounds = np.flatnonzero(movies[order][1:] != movies[order][:-1]) + 1
        for chunk in np.split(order, bounds) if len(order) else []:
            movie = str(movies[chunk[0]])
            s = shots[chunk]
            if s.min() < 0:
                raise UserError(f"{self.name}: negative shot_index in movie {movie!r}")
            dense = np.zeros((int(s.max()) + 1, self.dim), np.float32)
            present = np.zeros(int(s.max()) + 1, bool)
            dense[s], present[s] = feats[chunk], True
            self._rows[movie] = (dense, present)

    def get(self, movie_id: str, shots: Sequence[int] | np.ndarray) -> np.ndarray:
        """Features of ``shots`` (any shape of indices) of a movie, shape ``shots.shape + (D,)``.

        Raises:
            UserError: the movie or a shot is missing, naming the table and the first one.
        """
        idx = np.asarray(shots, np.int64)
        if movie_id not in self._rows:
            first = int(idx.flat[0]) if idx.size else 0
            raise UserError(
                f"{self.name}: no features for movie {movie_id!r} (first missing: movie "
                f"{movie_id!r}, shot {first})"
            )
        dense, present = self._rows[movie_id]
        ok = (idx >= 0) & (idx < len(present))
        ok[ok] = present[idx[ok]]
        if not ok.all():
            first = int(idx[~ok].flat[0])
            raise UserError(
                f"{self.name}: no feature for movie {movie_id!r}, shot {first} (first missing)"
            )
        out: np.ndarray = dense[idx]
        return out


# ---------------------------------------------------------------- multi-label head


def fit_multilabel_ensemble(
    x: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, seeds: Sequence[int]
) -> ClassifierEnsemble:
    """One multi-label head per seed (C sigmoid outputs, BCE) on (N, D) → (N, C) 0/1, together.

    Features are standardised with the training set's statistics (kept in the module).
    """
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need (N, D) features and (N, C) targets, got {x.shape} and {y.shape}")
    return fit_classifier_ensemble(x, y, y.shape[1], cfg, seeds, loss="binary_cross_entropy")


def fit_multilabel(
    x: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, seed: int = 0
) -> FeatureClassifier:
    """Train a :class:`FeatureClassifier` with C sigmoid outputs and BCE on (N, D) → (N, C) 0/1.

    The 1-member :func:`fit_multilabel_ensemble`.
    """
    return fit_multilabel_ensemble(x, y, cfg, [seed]).member(0)


@torch.no_grad()
def multilabel_scores(head: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Sigmoid probabilities (N, C) of a trained multi-label head on features (N, D).

    An ensemble gives (R, N, C).
    """
    head.eval()
    out: np.ndarray = head(torch.as_tensor(x, dtype=torch.float32)).sigmoid().numpy()
    return out


# ---------------------------------------------------------------- place tagging


@dataclass(frozen=True)
class PlaceItems:
    """Annotated scene segments of some movies: features, tags and ids."""

    features: np.ndarray  # (M, D) mean shot feature per segment
    tags: list[tuple[str, ...]]
    movie_ids: list[str]
    scene_ids: list[str]


def split_movies(split: Mapping[str, Sequence[str]], keys: str | Sequence[str]) -> list[str]:
    """The imdb ids of one ``split318.json`` key, or of several keys in order."""
    names = [keys] if isinstance(keys, str) else list(keys)
    unknown = [k for k in names if k not in split]
    if unknown:
        raise UserError(f"split318.json: no split named {unknown[0]!r} (has {', '.join(split)})")
    return [imdb for k in names for imdb in split[k]]


def _split_name(keys: str | Sequence[str]) -> str:
    return keys if isinstance(keys, str) else "+".join(keys)


class SegmentFeatures:
    """Segment embeddings: a ``scene_features`` table by ``(movie_id, start_shot, end_shot)``.

    One embedding per shot range (end exclusive), e.g. E_scene over :func:`place_segments`.

    Args:
        table: the table or its Parquet path.
        name: how errors name the table.
    """

    def __init__(self, table: str | Path | pa.Table, name: str | None = None) -> None:
        if isinstance(table, pa.Table):
            self.name = name or "scene features table"
        else:
            self.name = name or str(table)
            table = tables.read_table(table, ["movie_id", "start_shot", "end_shot", "feature"])
        tables.require_columns(table, ["movie_id", "start_shot", "end_shot", "feature"], self.name)
        self.features = tables.to_numpy_embeddings(table.column("feature"))
        self.dim = int(self.features.shape[1])
        keys = zip(
            table.column("movie_id").to_pylist(),
            table.column("start_shot").to_pylist(),
            table.column("end_shot").to_pylist(),
            strict=True,
        )
        self._row = {(str(m), int(a), int(b)): i for i, (m, a, b) in enumerate(keys)}

    def get(self, movie_id: str, start_shot: int, end_shot: int) -> np.ndarray:
        """The (D,) embedding of shots ``[start_shot, end_shot)`` of a movie.

        Raises:
            UserError: no row has that range, naming the table and the range.
        """
        row = self._row.get((movie_id, start_shot, end_shot))
        if row is None:
            raise UserError(
                f"{self.name}: no scene embedding of movie {movie_id!r}, shots "
                f"[{start_shot}, {end_shot}) (embed place_segments' ranges with "
                "`movierep extract scenes --ranges`)"
            )
        out: np.ndarray = self.features[row]
        return out


def tagged_segments(root: str | Path, imdb: str) -> list[tuple[str, int, int, tuple[str, ...]]]:
    """``(scene_id, start_shot, end_shot exclusive, place_tags)`` of a movie's tagged segments.

    Raises:
        UserError: a segment's shot range is reversed.
    """
    out = []
    for scene in load_place_annotation(Path(root), imdb):
        if not scene.place_tags:
            continue
        a, b = scene.shots
        if b < a:
            raise UserError(f"{root}/annotation/{imdb}.json: scene {scene.scene_id}: shots {a}>{b}")
        out.append((scene.scene_id, a, b + 1, tuple(scene.place_tags)))
    return out


def place_segments(root: str | Path, imdb_ids: Sequence[str] | None = None) -> pa.Table:
    """The tagged segments as a ranges table: ``movie_id, start_shot, end_shot`` (exclusive).

    What ``movierep extract scenes --ranges`` (or
    :func:`~movierep.features.scene_features.extract_scene_features`) embeds for place tagging
    from multi-shot scenes. Default: every movie of ``split318.json``.
    """
    if imdb_ids is None:
        imdb_ids = list(dict.fromkeys(m for ids in load_split318(Path(root)).values() for m in ids))
    rows = [(imdb, a, b) for imdb in imdb_ids for _, a, b, _ in tagged_segments(root, imdb)]
    return pa.table(
        {
            "movie_id": pa.array([r[0] for r in rows], pa.string()),
            "start_shot": pa.array([r[1] for r in rows], pa.int32()),
            "end_shot": pa.array([r[2] for r in rows], pa.int32()),
        }
    )


def place_items(
    root: str | Path, imdb_ids: Sequence[str], features: ShotFeatures | SegmentFeatures
) -> PlaceItems:
    """The tagged scene segments of ``imdb_ids`` and their features.

    A segment's feature is its own embedding in a :class:`SegmentFeatures` table (a scene
    encoder's multi-shot input, as Movies2Scenes tags places), or the mean of its shots'
    features in a :class:`ShotFeatures` table (the supplement's CLIP rows, "followed by
    average pooling").

    Raises:
        UserError: a segment's shot range is reversed, or a shot or segment has no feature.
    """
    feats, tags, movies, scenes = [], [], [], []
    for imdb in imdb_ids:
        for scene_id, a, b, place_tags in tagged_segments(root, imdb):
            if isinstance(features, SegmentFeatures):
                feats.append(features.get(imdb, a, b))
            else:
                feats.append(features.get(imdb, np.arange(a, b)).mean(0))
            tags.append(place_tags)
            movies.append(imdb)
            scenes.append(scene_id)
    x = np.stack(feats) if feats else np.zeros((0, features.dim), np.float32)
    return PlaceItems(x, tags, movies, scenes)


def place_features(table: str | Path | pa.Table) -> ShotFeatures | SegmentFeatures:
    """Shot features (a ``shot_index`` column) or segment embeddings (``start_shot``...)."""
    name = None if isinstance(table, pa.Table) else str(table)
    if not isinstance(table, pa.Table):
        table = tables.read_table(table)
    if "shot_index" in table.column_names:
        return ShotFeatures(table, name)
    if {"start_shot", "end_shot"} <= set(table.column_names):
        return SegmentFeatures(table, name)
    raise UserError(
        f"{name or 'feature table'}: neither shot features (shot_index) nor segment "
        "embeddings (start_shot, end_shot)"
    )


def place_vocabulary(tags: Sequence[Sequence[str]], min_count: int = 1) -> list[str]:
    """Tags occurring at least ``min_count`` times (once per segment), sorted."""
    counts = Counter(t for ts in tags for t in set(ts))
    return sorted(t for t, c in counts.items() if c >= min_count)


def multi_hot(tags: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> np.ndarray:
    """(M, C) 0/1 targets; tags outside the vocabulary are dropped."""
    index = {t: c for c, t in enumerate(vocabulary)}
    y = np.zeros((len(tags), len(vocabulary)), np.int64)
    for i, ts in enumerate(tags):
        for t in ts:
            if t in index:
                y[i, index[t]] = 1
    return y


def run_place_tagging(
    root: str | Path,
    features_table: str | Path | pa.Table,
    cfg: ClassifierConfig = PLACE_CONFIG,
    runs: int = 5,
    seed: int = 0,
    *,
    train_split: str = "train",
    test_split: str | Sequence[str] = "test",
    min_count: int = 1,
) -> dict[str, Any]:
    """MovieNet place tagging (M2S Table 4): one feature per tagged segment, MLP, test mAP.

    Args:
        root: the MovieNet folder (``annotation/``, ``scene318/meta/split318.json``).
        features_table: shot features (path or table) keyed by imdb id and shot index,
            mean-pooled per segment; or segment embeddings keyed by ``start_shot`` /
            ``end_shot`` (a scene encoder over :func:`place_segments`).
        cfg: the head (2 hidden layers by default).
        runs: seeded runs (``seed .. seed + runs − 1``).
        seed: first seed.
        train_split: the ``split318.json`` key trained on.
        test_split: the ``split318.json`` key scored, or several keys scored together
            (the demo's ``("val", "test")``).
        min_count: vocabulary threshold on training occurrences.

    Returns:
        :func:`~movierep.tasks.heads.protocol.ensemble_runs`'s dict (metric ``mAP``) plus
        ``vocabulary``, ``num_train``, ``num_test``, ``evaluated_classes`` (classes with a
        test positive) and ``splits``.

    Raises:
        UserError: missing files or features, no training segments, or no test positive.
    """
    root = Path(root)
    split = load_split318(root)
    features = place_features(features_table)
    train = place_items(root, split[train_split], features)
    test = place_items(root, split_movies(split, test_split), features)
    vocab = place_vocabulary(train.tags, min_count)
    if not vocab or not len(test.features):
        raise UserError(f"{root}: no tagged segments to train on or to test")
    y_train, y_test = multi_hot(train.tags, vocab), multi_hot(test.tags, vocab)
    evaluated = [vocab[c] for c in range(len(vocab)) if y_test[:, c].any()]
    if not evaluated:
        raise UserError(f"{root}: no test segment carries a training tag: mAP is undefined")

    def train_all(seeds: list[int]) -> list[np.ndarray]:
        heads = fit_multilabel_ensemble(train.features, y_train, cfg, seeds)
        return list(multilabel_scores(heads, test.features))  # R × (M, C)

    def score_run(scores: np.ndarray) -> tuple[dict[str, float], list[dict[str, Any]]]:
        m_ap, _ = mean_average_precision(y_test, scores)
        preds = [
            {"movie_id": m, "scene_id": sc, "place_tag": list(t), "scores": row.tolist()}
            for m, sc, t, row in zip(test.movie_ids, test.scene_ids, test.tags, scores, strict=True)
        ]
        return {"mAP": m_ap}, preds

    result = ensemble_runs(train_all, score_run, runs, seed, ["mAP"])
    result.update(
        vocabulary=vocab,
        num_train=len(train.features),
        num_test=len(test.features),
        evaluated_classes=evaluated,
        splits={"train": train_split, "test": _split_name(test_split)},
    )
    return result


# ---------------------------------------------------------------- scene boundaries


def sbd_windows(num_shots: int) -> np.ndarray:
    """(N−1, 4) shot indices ``i−1, i, i+1, i+2`` per boundary i < N−1, clamped to [0, N−1]."""
    if num_shots < 2:
        return np.zeros((0, len(WINDOW_OFFSETS)), np.int64)
    i = np.arange(num_shots - 1)[:, None] + np.asarray(WINDOW_OFFSETS)[None, :]
    out: np.ndarray = np.clip(i, 0, num_shots - 1).astype(np.int64)
    return out


def sbd_inputs(movie: MovieNetMovie, features: ShotFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N−1, 4·D) (window features concatenated in shot order) and 0/1 labels (N−1,)."""
    windows = sbd_windows(len(movie.shots))
    x = features.get(movie.imdb_id, windows).reshape(len(windows), -1)
    return x, np.asarray(movie.boundaries, np.int64)


def run_sbd(
    root: str | Path,
    features_table: str | Path | pa.Table,
    cfg: ClassifierConfig = SBD_CONFIG,
    runs: int = 5,
    seed: int = 0,
    *,
    fps: float = MOVIENET_FPS,
    train_split: str = "train",
    test_split: str | Sequence[str] = "test",
) -> dict[str, Any]:
    """MovieNet-318 scene-boundary detection (M2S Table 5): 4-shot windows, binary MLP.

    Args:
        root: the MovieNet folder (``scene318/``).
        features_table: shot features (path or table) keyed by imdb id and shot index.
        cfg: the head.
        runs: seeded runs.
        seed: first seed.
        fps: frame rate for Recall@3s (24: real MovieNet; the corpus' own rate otherwise).
        train_split: the ``split318.json`` key trained on.
        test_split: the ``split318.json`` key scored, or several keys scored together.

    Returns:
        :func:`~movierep.tasks.heads.protocol.ensemble_runs`'s dict over ``AP``, ``mIoU``,
        ``Recall@3s`` (and the other :func:`sbd_metrics` values), plus ``num_train``,
        ``num_test`` (boundaries), ``fps`` and ``splits``.

    Raises:
        UserError: missing files or features, or no boundary to train on.
    """
    root = Path(root)
    split = load_split318(root)
    features = ShotFeatures(features_table)
    train_x, train_y = [], []
    for imdb in split[train_split]:
        x, y = sbd_inputs(load_movienet_movie(root, imdb), features)
        train_x.append(x)
        train_y.append(y)
    test_movies = [load_movienet_movie(root, imdb) for imdb in split_movies(split, test_split)]
    test_movies = [m for m in test_movies if len(m.shots) > 1]
    test = [sbd_inputs(m, features) for m in test_movies]
    if not train_x or not sum(len(y) for y in train_y) or not test:
        raise UserError(f"{root}: no shot boundaries to train on or to test")
    x_train, y_train = np.concatenate(train_x), np.concatenate(train_y)
    frames = [np.array([(s.start_frame, s.end_frame) for s in m.shots]) for m in test_movies]
    names = ["AP", "AP-movie", "mIoU", "Recall", "Recall@3s", "F1", "F1-pooled"]

    sizes = [len(y) for _, y in test]

    def train_all(seeds: list[int]) -> list[list[np.ndarray]]:
        heads = fit_classifier_ensemble(x_train, y_train, 2, cfg, seeds)
        p = class_scores(heads, np.concatenate([x for x, _ in test]))[..., 1]  # (R, ΣN)
        return [np.split(row, np.cumsum(sizes)[:-1]) for row in p]  # per movie

    def score_run(scores: list[np.ndarray]) -> tuple[dict[str, float], list[dict[str, Any]]]:
        metrics = sbd_metrics([y for _, y in test], scores, frames, fps)
        preds = [
            {"movie_id": m.imdb_id, "shot_index": i, "label": int(lab), "score": float(sc)}
            for m, (_, y), score in zip(test_movies, test, scores, strict=True)
            for i, (lab, sc) in enumerate(zip(y, score, strict=True))
        ]
        return metrics, preds

    result = ensemble_runs(train_all, score_run, runs, seed, names)
    result.update(
        num_train=len(y_train),
        num_test=sum(len(y) for _, y in test),
        fps=fps,
        splits={"train": train_split, "test": _split_name(test_split)},
    )
    return result
