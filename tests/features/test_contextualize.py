from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from movierep.checkpoint import save_checkpoint
from movierep.errors import UserError
from movierep.features.contextualize import contextualize
from movierep.models.txe import TxE, TxEConfig
from movierep.tables import embedding_array, to_numpy_embeddings

D = 6


def table(lengths: dict[str, int], hop: float = 2.0) -> pa.Table:
    rows = [(m, i) for m, n in lengths.items() for i in range(n)]
    rows = [rows[j] for j in np.random.default_rng(0).permutation(len(rows))]  # unsorted
    feats = np.random.default_rng(1).normal(size=(len(rows), D)).astype(np.float32)
    return pa.table(
        {
            "movie_id": [m for m, _ in rows],
            "event_index": pa.array([i for _, i in rows], pa.int32()),
            "start_time": [i * hop for _, i in rows],
            "end_time": [i * hop + 2 for _, i in rows],
            "feature": embedding_array(feats),
        }
    )


def txe() -> TxE:
    torch.manual_seed(0)
    return TxE(
        TxEConfig(input_dim=D, hidden_dim=8, num_layers=1, num_heads=2, output_dim=None)
    ).eval()


def movie_features(t: pa.Table, movie: str) -> np.ndarray:
    feats = to_numpy_embeddings(t["feature"])
    ids, idx = t["movie_id"].to_pylist(), t["event_index"].to_pylist()
    order = sorted((i, r) for r, (m, i) in enumerate(zip(ids, idx, strict=True)) if m == movie)
    return feats[[r for _, r in order]]


def context_of(t: pa.Table, movie: str, index: int) -> np.ndarray:
    ids, idx = t["movie_id"].to_pylist(), t["event_index"].to_pylist()
    row = next(r for r, (m, i) in enumerate(zip(ids, idx, strict=True)) if (m, i) == (movie, index))
    return to_numpy_embeddings(t["context_feature"])[row]


def test_centred_windows_and_row_order_preserved() -> None:
    t = table({"long": 9, "short": 3})
    model = txe()
    out = contextualize(t, model, batch_size=4)
    assert out.num_rows == t.num_rows
    assert out.column_names[:5] == t.column_names
    assert out["movie_id"].to_pylist() == t["movie_id"].to_pylist()
    f = torch.from_numpy(movie_features(t, "long"))
    with torch.no_grad():
        for i, (start, pos) in {0: (0, 0), 1: (0, 1), 4: (2, 2), 7: (4, 3), 8: (4, 4)}.items():
            want = model(f[start : start + 5][None])[0, pos].numpy()
            np.testing.assert_allclose(context_of(out, "long", i), want, rtol=1e-4, atol=1e-5)
        short = torch.from_numpy(movie_features(t, "short"))
        want = model(short[None])[0, 1].numpy()  # a 3-event video: one 3-token window
        np.testing.assert_allclose(context_of(out, "short", 1), want, rtol=1e-4, atol=1e-5)
    again = contextualize(out, model)
    assert again.column_names == out.column_names  # replaced, not duplicated


def test_checkpoint_token_stride_is_used(tmp_path: Path) -> None:
    t = table({"m": 12}, hop=1.0)
    model = txe()
    ckpt = save_checkpoint(
        tmp_path / "ckpt",
        model,
        "txe",
        {"input_dim": D, "hidden_dim": 8, "num_layers": 1, "num_heads": 2},
        run_config={"data": {"token_stride": 2.0}},
    )
    out = contextualize(t, ckpt)
    f = torch.from_numpy(movie_features(t, "m"))
    with torch.no_grad():
        # event 5 (odd chain 1,3,5,7,9,11): centred window 1,3,5,7,9, position 2
        want = model(f[[1, 3, 5, 7, 9]][None])[0, 2].numpy()
    np.testing.assert_allclose(context_of(out, "m", 5), want, rtol=1e-4, atol=1e-5)


def test_wrong_feature_size_is_a_user_error() -> None:
    model = TxE(TxEConfig(input_dim=D + 1, hidden_dim=8, num_layers=1, num_heads=2))
    with pytest.raises(UserError, match="expects 7"):
        contextualize(table({"m": 5}), model)
