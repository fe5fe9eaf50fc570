import pytest
import torch
import torch.nn.functional as F

from movierep.models.txe import TxE, TxEConfig
from movierep.pretrain.maskpred import MaskPredConfig, MaskPredObjective, token_discrepancy


def small_txe(dim: int = 8) -> TxE:
    return TxE(TxEConfig(input_dim=dim, hidden_dim=16, num_layers=2, num_heads=4, dropout=0.1))


def test_step_returns_scalars_and_trains_txe() -> None:
    torch.manual_seed(0)
    obj = MaskPredObjective(small_txe(), MaskPredConfig(queue_size=64))
    x = torch.randn(6, 5, 8)
    first = obj({"features": x})
    assert float(first["loss"].detach()) == 0.0  # empty queue: Eq. 1 has only the positive term
    out = obj({"features": torch.randn(6, 5, 8)})
    assert out["loss"].ndim == 0
    assert float(out["loss"].detach()) > 0
    assert 0.0 <= float(out["acc"]) <= 1.0
    assert float(out["queue_filled"]) == 30.0
    assert 0.2 <= float(out["mask_ratio"]) <= 0.6  # m/N for m in {1, 2, 3}
    out["loss"].backward()
    grads = [p.grad for p in obj.txe.parameters() if p.grad is not None]
    assert grads
    assert any(float(g.abs().sum()) > 0 for g in grads)


def test_queue_is_fifo_of_normalised_batch_features() -> None:
    torch.manual_seed(0)
    obj = MaskPredObjective(small_txe(), MaskPredConfig(queue_size=25))  # 2.5 batches of B*N = 10
    batches = [torch.randn(2, 5, 8) for _ in range(3)]
    for x in batches:
        obj({"features": x})
    flat = [F.normalize(x.reshape(10, 8), dim=-1) for x in batches]
    q = obj.queue.features
    assert int(obj.queue.filled) == 25
    assert int(obj.queue.ptr) == 5
    # rows 0..4 were overwritten by the newest batch's last 5; 5..9 by its first 5
    torch.testing.assert_close(q[10:20], flat[1])
    torch.testing.assert_close(q[20:25], flat[2][:5])
    torch.testing.assert_close(q[0:5], flat[2][5:])
    torch.testing.assert_close(q[5:10], flat[0][5:])  # the oldest survivors


def test_l2_loss_option_and_bad_options() -> None:
    obj = MaskPredObjective(small_txe(), MaskPredConfig(queue_size=16, loss="l2", mask_sizes=[1]))
    out = obj({"features": torch.randn(3, 5, 8)})
    assert 0.0 <= float(out["loss"].detach()) <= 4.0
    assert float(out["mask_ratio"]) == pytest.approx(1 / 5)
    with pytest.raises(ValueError, match="output_dim"):
        MaskPredObjective(TxE(TxEConfig(input_dim=8, hidden_dim=16, num_heads=4, output_dim=4)))
    with pytest.raises(ValueError, match="loss"):
        MaskPredObjective(small_txe(), MaskPredConfig(loss="mse"))  # type: ignore[arg-type]


def test_token_discrepancy_matches_one_run_per_token() -> None:
    torch.manual_seed(0)
    txe = small_txe().train()
    x = torch.randn(3, 5, 8)
    d = token_discrepancy(txe, x)
    assert txe.training  # restored
    txe.eval()
    with torch.no_grad():
        full = F.normalize(txe(x), dim=-1)
        for i in range(5):
            mask = torch.zeros(3, 5, dtype=torch.bool)
            mask[:, i] = True
            alone = F.normalize(txe(x, mask), dim=-1)[:, i]
            expected = 1 - (full[:, i] * alone).sum(-1)
            torch.testing.assert_close(d[:, i], expected, atol=1e-5, rtol=1e-4)


def test_max_discrepancy_sampling_masks_the_argmax_token() -> None:
    torch.manual_seed(0)
    obj = MaskPredObjective(small_txe(), MaskPredConfig(mask_sizes=[1], sampling="max_discrepancy"))
    x = torch.randn(7, 5, 8)
    mask = obj.sample_mask(x)
    expected = token_discrepancy(obj.txe, x).argmax(dim=1)
    assert mask.sum(1).tolist() == [1] * 7
    assert mask.float().argmax(1).tolist() == expected.tolist()
    assert float(obj({"features": x})["mask_ratio"]) == pytest.approx(0.2)
