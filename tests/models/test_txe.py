import pytest
import torch

from movierep.models.factory import create_model
from movierep.models.txe import TxE, TxEConfig


def small_txe(**kw: object) -> TxE:
    args: dict[str, object] = dict(input_dim=12, hidden_dim=16, num_layers=2, num_heads=4)
    args.update(kw)
    return TxE(TxEConfig(**args))  # type: ignore[arg-type]


def test_paper_defaults_and_shapes() -> None:
    txe = TxE()
    assert (txe.input_dim, txe.hidden_dim, txe.num_tokens, txe.output_dim) == (2048, 1024, 5, 2048)
    assert len(txe.encoder.layers) == 3
    assert txe.encoder.layers[0].self_attn.num_heads == 16
    assert txe.pos_embed.shape == (5, 1024)
    out = small_txe()(torch.randn(3, 5, 12), torch.zeros(3, 5, dtype=torch.bool))
    assert out.shape == (3, 5, 12)
    assert small_txe(output_dim=7)(torch.randn(2, 5, 12)).shape == (2, 5, 7)


def test_shorter_sequences_and_too_long() -> None:
    txe = small_txe().eval()
    assert txe(torch.randn(2, 3, 12)).shape == (2, 3, 12)
    with pytest.raises(ValueError, match="longer"):
        txe(torch.randn(2, 6, 12))


@pytest.mark.parametrize("norm_first", [True, False])
def test_masked_inputs_do_not_leak(norm_first: bool) -> None:
    torch.manual_seed(0)
    txe = small_txe(norm_first=norm_first).eval()
    x = torch.randn(4, 5, 12, requires_grad=True)
    mask = torch.tensor([[False, True, True, False, False]] * 4)
    out = txe(x, mask)
    # changing the masked inputs changes no output at all (masked or not)
    x2 = x.detach().clone()
    x2[mask] = torch.randn(int(mask.sum()), 12) * 100
    torch.testing.assert_close(txe(x2, mask), out.detach())
    # and no gradient flows to them
    out[mask].sum().backward()
    assert x.grad is not None
    assert torch.all(x.grad[mask] == 0)
    assert torch.any(x.grad[~mask] != 0)


def test_mask_changes_outputs_and_positions_matter() -> None:
    torch.manual_seed(0)
    txe = small_txe().eval()
    x = torch.randn(1, 5, 12)
    mask = torch.tensor([[False, False, True, False, False]])
    assert not torch.allclose(txe(x, mask), txe(x))
    # identical tokens get different outputs: the learned position embedding
    same = torch.randn(1, 1, 12).expand(1, 5, 12)
    out = txe(same)
    assert not torch.allclose(out[0, 0], out[0, 1])


def test_factory_rebuilds_txe() -> None:
    model = create_model("txe", input_dim=12, hidden_dim=16, num_layers=1, num_heads=2)
    assert isinstance(model, TxE)
    assert model.output_dim == 12
