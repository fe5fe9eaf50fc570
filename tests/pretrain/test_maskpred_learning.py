"""Mask prediction learns to fill in masked events (slow: ~20-40 s on one CPU thread)."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader

from movierep.data.sequences import EventSequenceDataset
from movierep.models.txe import TxE, TxEConfig
from movierep.pretrain.maskpred import MaskPredConfig, MaskPredObjective
from movierep.tables import embedding_array
from movierep.tasks.diagnostics.maskpred_retrieval import (
    context_mean_predictor,
    masked_event_retrieval,
    nearest_visible_predictor,
)
from movierep.train.loop import TrainConfig, fit

V, D = 32, 64  # verb classes, feature size


def markov_videos(videos: int, events: int, seed: int) -> pa.Table:
    """Event features with temporal structure: context predicts the masked event.

    Each video walks a Markov chain over V "verbs" (next verb = a fixed permutation of the
    current one with probability 0.9, else random); an event's feature is its verb's
    prototype + a per-video style vector + noise. Prototypes and transitions are shared by
    all videos, so a TxE trained on some videos can fill in events of unseen ones.
    """
    protos = np.random.default_rng(77).normal(size=(V, D)) * 3 / np.sqrt(D)
    successor = np.random.default_rng(123).permutation(V)
    rng = np.random.default_rng(seed)
    ids, index, feats = [], [], []
    for v in range(videos):
        verb, style = rng.integers(V), rng.normal(size=D) * 1.5 / np.sqrt(D)
        for i in range(events):
            feats.append(protos[verb] + style + rng.normal(size=D) * 0.9 / np.sqrt(D))
            ids.append(f"video{v}")
            index.append(i)
            verb = successor[verb] if rng.random() < 0.9 else rng.integers(V)
    return pa.table(
        {
            "movie_id": ids,
            "event_index": pa.array(index, pa.int32()),
            "start_time": [2.0 * i for i in index],
            "end_time": [2.0 * i + 2 for i in index],
            "feature": embedding_array(np.asarray(feats, dtype=np.float32)),
        }
    )


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models run far faster on one thread on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_mask_prediction_beats_chance_untrained_and_copying_baselines(tmp_path: Path) -> None:
    torch.manual_seed(0)
    train = EventSequenceDataset(markov_videos(200, 20, seed=0), num_tokens=5)
    val = EventSequenceDataset(markov_videos(60, 30, seed=1), num_tokens=5)  # unseen videos

    def retrieval(predictor: object) -> float:
        res = masked_event_retrieval(
            predictor,  # type: ignore[arg-type]
            val.runs.features,
            val.windows,
            num_distractors=100,
            seed=0,
        )
        return res.accuracy

    txe = TxE(TxEConfig(input_dim=D, hidden_dim=64, num_layers=3, num_heads=4))
    untrained = retrieval(txe)
    context_mean = retrieval(context_mean_predictor)
    nearest = retrieval(nearest_visible_predictor)
    cfg = TrainConfig(
        steps=300, batch_size=64, lr=1e-3, warmup_steps=20, grad_clip=1.0,
        log_every=50, ckpt_every=10**6, device="cpu",
    )  # fmt: skip
    loader = DataLoader(train, batch_size=64, shuffle=True, drop_last=True)
    objective = MaskPredObjective(txe, MaskPredConfig(queue_size=1024))
    fit(objective, loader, cfg, tmp_path, export=lambda: (txe, "txe", {}), resume=False)
    trained = retrieval(txe)
    print(f"retrieval@100: untrained {untrained:.3f}, context mean {context_mean:.3f}, ", end="")
    print(f"nearest visible {nearest:.3f}, trained {trained:.3f}")
    assert untrained < 0.05  # chance is 1/101
    assert trained > 0.25
    assert trained > max(context_mean, nearest) + 0.1
