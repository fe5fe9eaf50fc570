"""TxD: causal decoding, the vision-blind variant, the loss, greedy and beam decoding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from movierep.models.txd import TxD, TxDConfig, sinusoidal_positions

EOS, PAD = 2, 0


def small(vision: bool = True, seed: int = 0) -> TxD:
    torch.manual_seed(seed)
    return TxD(TxDConfig(
        30, 8, hidden_dim=32, num_layers=2, num_heads=4, ffn_dim=64, output_dim=16,
        dropout=0.0, max_len=24, pad_id=PAD, vision=vision,
    )).eval()  # fmt: skip


def test_positions_are_vaswanis_sinusoids() -> None:
    p = sinusoidal_positions(10, 6)
    assert p[3, 0] == pytest.approx(torch.sin(torch.tensor(3.0)).item())
    assert p[3, 1] == pytest.approx(torch.cos(torch.tensor(3.0)).item())
    assert p[3, 4] == pytest.approx(torch.sin(torch.tensor(3.0 / 10000 ** (4 / 6))).item())


def test_logits_at_t_ignore_later_tokens() -> None:
    m = small()
    x = torch.randint(3, 30, (2, 9))
    mem = torch.randn(2, 1, 8)
    y = x.clone()
    y[:, 5:] = torch.randint(3, 30, (2, 4))
    torch.testing.assert_close(m(x, mem)[:, :5], m(y, mem)[:, :5])
    assert not torch.allclose(m(x, mem)[:, 5:], m(y, mem)[:, 5:])


def test_vision_blind_decoder_ignores_the_memory() -> None:
    x = torch.randint(3, 30, (2, 6))
    blind, seeing = small(vision=False), small(vision=True)
    a, b = torch.randn(2, 1, 8), torch.randn(2, 1, 8)
    torch.testing.assert_close(blind(x, a), blind(x, b))
    torch.testing.assert_close(blind(x), blind(x, a))
    assert not torch.allclose(seeing(x, a), seeing(x, b))
    with pytest.raises(ValueError, match="memory"):
        seeing(x)


def test_loss_is_shifted_cross_entropy_without_padding() -> None:
    m = small()
    x = torch.tensor([[5, 6, 7, 8, EOS, PAD, PAD], [9, 10, 11, 12, 13, 14, EOS]])
    mem = torch.randn(2, 1, 8)
    logits = m(x[:, :-1], mem)
    keep = x[:, 1:] != PAD
    expected = F.cross_entropy(logits[keep], x[:, 1:][keep])
    assert m.loss(x, mem).item() == pytest.approx(expected.item(), rel=1e-5)


def sequence_score(m: TxD, prefix: list[int], tokens: list[int], mem: torch.Tensor) -> float:
    """Length-normalised log-probability of ``tokens + [EOS]`` after ``prefix``."""
    seq = torch.tensor([prefix + tokens + [EOS]])
    with torch.no_grad():
        logp = m(seq[:, :-1], mem).log_softmax(-1)[0]
    targets = seq[0, len(prefix) :]
    steps = logp[len(prefix) - 1 :].gather(1, targets[:, None])[:, 0]
    return float(steps.sum() / len(targets))


def test_overfits_four_sequences_from_their_visual_tokens_and_beam_is_no_worse() -> None:
    torch.manual_seed(0)
    targets = [[10, 11, 12], [13, 14], [15, 16, 17, 18], [19]]
    verb = 5  # every event has the same verb: only the memory tells them apart
    mem = torch.randn(4, 1, 8)
    batch = torch.full((4, 6), PAD)
    for i, t in enumerate(targets):
        batch[i, : len(t) + 2] = torch.tensor([verb, *t, EOS])
    results = {}
    for vision in (True, False):
        m = small(vision=vision).train()
        opt = torch.optim.Adam(m.parameters(), lr=3e-3)
        for _ in range(150):
            loss = m.loss(batch, mem)
            opt.zero_grad()
            loss.backward()
            opt.step()
        prefix = torch.full((4, 1), verb)
        results[vision] = m.generate(prefix, mem, eos_id=EOS, max_new_tokens=8)
        if vision:
            assert results[vision] == targets
            beam = m.generate(prefix, mem, eos_id=EOS, max_new_tokens=8, beam_size=3)
            for i in range(4):
                assert sequence_score(m.eval(), [verb], beam[i], mem[i : i + 1]) >= (
                    sequence_score(m, [verb], results[vision][i], mem[i : i + 1]) - 1e-6
                )
    # the blind decoder sees only the verb: one sequence for every event
    assert all(r == results[False][0] for r in results[False])
