"""Probes that need context: an event's verb from its neighbours, the relation of two events.

Issue 17's test of the contextualizer: TxE features must beat backbone features on a task a
single event cannot answer. Two such tasks on the corpus' ground truth:

- **Verb from context.** Each event's verb is predicted from the events around it with the
  event itself hidden: the feature of event ``t`` is the predictor's output at ``t`` in a
  window of N events centred on ``t`` (:func:`movierep.features.contextualize.centred_windows`)
  with position ``t`` masked, i.e. exactly the mask-prediction query of Xiao et al. §3.3.
  The backbone's baseline is the mean of the visible events
  (:func:`movierep.tasks.diagnostics.maskpred_retrieval.context_mean_predictor`); a
  pretrained TxE wins only if it learned how events follow each other (the corpus' causal
  rules).
- **Event relations.** The VidSitu task (Sadhu et al. 2021 §3.3): given two events ``i`` and
  ``j = i + d`` (d ∈ {1, 2}, the distances of Ev3 to its neighbours), which of
  ``Causes / Reaction To / Enables / NoRel`` links them (``truth/event_links.parquet``;
  a pair without a link is ``NoRel``). The input is the two events' features concatenated.

Both are logistic-regression probes trained on the catalog's train movies and scored on the
others: accuracy and mean class accuracy (VidSitu's Mean-Acc for relations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from movierep.data.corpus import Corpus
from movierep.data.sequences import event_runs
from movierep.errors import UserError
from movierep.features.contextualize import centred_windows
from movierep.tables import to_numpy_embeddings
from movierep.tasks.diagnostics.probe import linear_probe_predict, mean_class_accuracy

#: A masked-event predictor: (x (B, N, D), mask (B, N) bool) -> (B, N, D).
Predictor = Callable[[Tensor, Tensor], Tensor]

#: The relation of a pair with no causal link, as VidSitu names it.
NO_RELATION = "NoRel"


@dataclass(frozen=True)
class ContextProbe:
    """Held-out accuracy and mean class accuracy of one probe, beside the majority rate."""

    task: str
    accuracy: float
    mean_class_accuracy: float
    majority: float
    num_train: int
    num_test: int


@torch.no_grad()
def masked_context_features(
    features: pa.Table, predictor: Predictor, num_tokens: int = 5, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every event's feature predicted from its neighbours, with the event itself masked.

    Args:
        features: an event-features table (``feature`` (D,)).
        predictor: a TxE or :func:`context_mean_predictor`; a module is put in eval mode.
        num_tokens: N, the window length (the TxE's ``num_tokens``).
        batch_size: windows per call.

    Returns:
        ``(x (E, D_out), movie_ids (E,), event_index (E,))`` in the table's sorted order;
        events of a video shorter than 2 events are left out.
    """
    runs = event_runs(features)
    if isinstance(predictor, torch.nn.Module):
        predictor.eval()
    steps = {str(m): 1 for m in np.unique(runs.movie_ids)}
    outs, kept = [], []
    for n, (rows, windows, position) in centred_windows(runs, num_tokens, steps).items():
        if n < 2:
            continue
        for i in range(0, len(rows), batch_size):
            win = torch.from_numpy(windows[i : i + batch_size])
            pos = torch.from_numpy(position[i : i + batch_size])
            x = torch.from_numpy(runs.features)[win]  # (b, n, D)
            mask = torch.zeros(win.shape, dtype=torch.bool)
            mask[torch.arange(len(win)), pos] = True
            out = predictor(x, mask)  # (b, n, D_out)
            outs.append(out[torch.arange(len(win)), pos].float().numpy())
            kept.append(rows[i : i + batch_size])
    if not outs:
        raise UserError("no video has two consecutive events: nothing to predict from context")
    order = np.concatenate(kept)
    return np.concatenate(outs), runs.movie_ids[order], runs.event_index[order]


def _split(movies: np.ndarray, corpus: Corpus) -> np.ndarray:
    split = dict(
        zip(
            corpus.catalog["movie_id"].to_pylist(), corpus.catalog["split"].to_pylist(), strict=True
        )
    )
    return np.array([split.get(str(m)) == "train" for m in movies])


def _probe(task: str, x: np.ndarray, y: np.ndarray, train: np.ndarray) -> ContextProbe:
    if not train.any() or train.all() or len(np.unique(y[train])) < 2:
        raise UserError(f"{task}: need train and held-out movies and two classes to probe")
    preds = linear_probe_predict(x[train], y[train], x[~train])
    majority = np.bincount(y[train]).argmax()
    return ContextProbe(
        task=task,
        accuracy=float(np.mean(preds == y[~train])),
        mean_class_accuracy=mean_class_accuracy(y[~train], preds),
        majority=float(np.mean(y[~train] == majority)),
        num_train=int(train.sum()),
        num_test=int((~train).sum()),
    )


def verb_from_context_probe(
    features: pa.Table, corpus: str | Path, predictor: Predictor, num_tokens: int = 5
) -> ContextProbe:
    """Linear probe of each event's verb on its masked-context prediction (see module doc)."""
    c = Corpus(corpus)
    x, movies, index = masked_context_features(features, predictor, num_tokens)
    truth = c.truth("events").select(["movie_id", "event_index", "verb"]).to_pylist()
    verb = {(r["movie_id"], r["event_index"]): r["verb"] for r in truth}
    keys = [(str(m), int(i)) for m, i in zip(movies, index, strict=True)]
    keep = np.array([k in verb for k in keys])
    if not keep.any():
        raise UserError(f"{corpus}: no feature row matches an annotated event")
    names = [verb[k] for k, ok in zip(keys, keep, strict=True) if ok]
    vocab = {v: i for i, v in enumerate(sorted(set(names)))}
    y = np.array([vocab[v] for v in names])
    return _probe("verb from context", x[keep], y, _split(movies[keep], c))


def event_pairs(corpus: str | Path, distances: tuple[int, ...] = (1, 2)) -> pa.Table:
    """Every pair ``(i, i + d)`` of annotated events of a movie with its relation label.

    Returns:
        A table ``movie_id, src_event, dst_event, relation`` (``NoRel`` where no link).
    """
    c = Corpus(corpus)
    links = {
        (r["movie_id"], r["src_event"], r["dst_event"]): r["relation"]
        for r in c.truth("event_links").to_pylist()
    }
    events = c.truth("events").select(["movie_id", "event_index"]).to_pylist()
    have = {(r["movie_id"], r["event_index"]) for r in events}
    rows = [
        {
            "movie_id": m,
            "src_event": i,
            "dst_event": i + d,
            "relation": links.get((m, i, i + d), NO_RELATION),
        }
        for m, i in sorted(have)
        for d in distances
        if (m, i + d) in have
    ]
    return pa.Table.from_pylist(rows)


def relation_probe(features: pa.Table, corpus: str | Path, column: str = "feature") -> ContextProbe:
    """Linear probe of the relation of two events on their concatenated ``column`` features."""
    c = Corpus(corpus)
    if column not in features.column_names:
        raise UserError(f"features table has no column {column!r}")
    x = to_numpy_embeddings(features[column])
    row = {
        (m, int(i)): k
        for k, (m, i) in enumerate(
            zip(features["movie_id"].to_pylist(), features["event_index"].to_pylist(), strict=True)
        )
    }
    pairs = [
        p
        for p in event_pairs(corpus).to_pylist()
        if (p["movie_id"], p["src_event"]) in row and (p["movie_id"], p["dst_event"]) in row
    ]
    if not pairs:
        raise UserError(f"{corpus}: no pair of annotated events has features")
    src = np.array([row[(p["movie_id"], p["src_event"])] for p in pairs])
    dst = np.array([row[(p["movie_id"], p["dst_event"])] for p in pairs])
    vocab = {v: i for i, v in enumerate(sorted({p["relation"] for p in pairs}))}
    y = np.array([vocab[p["relation"]] for p in pairs])
    movies = np.array([p["movie_id"] for p in pairs])
    return _probe("relation", np.concatenate([x[src], x[dst]], axis=1), y, _split(movies, c))
