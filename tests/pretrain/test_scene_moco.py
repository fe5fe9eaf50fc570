import copy

import torch
import torch.nn.functional as F
from torch import nn

from movierep.pretrain.scene_moco import SceneMoCo, SceneMoCoConfig


class MeanEncoder(nn.Module):
    """A tiny stand-in for the scene ViT: mean over frames and pixels, then a linear map."""

    def __init__(self, dim: int = 6) -> None:
        super().__init__()
        self.embed_dim = dim
        self.lin = nn.Linear(3, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.mean(dim=(1, 3, 4)))


def batch(b: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "query": torch.randn(b, 2, 3, 4, 4, generator=g),
        "key": torch.randn(b, 2, 3, 4, 4, generator=g),
    }


def test_key_encoder_starts_as_a_frozen_copy() -> None:
    moco = SceneMoCo(MeanEncoder(), SceneMoCoConfig(dim=5, queue_size=8))
    for q, k in zip(moco.query_params(), moco.key_params(), strict=True):
        assert torch.equal(q, k) and not k.requires_grad and q.requires_grad


def test_momentum_update_matches_the_formula() -> None:
    moco = SceneMoCo(MeanEncoder(), SceneMoCoConfig(dim=5, queue_size=8, momentum=0.9))
    with torch.no_grad():
        for p in moco.query_params():
            p.add_(1.0)
    before_k = [p.clone() for p in moco.key_params()]
    q = [p.clone() for p in moco.query_params()]
    moco.momentum_update()
    for k0, qq, k1 in zip(before_k, q, moco.key_params(), strict=True):
        torch.testing.assert_close(k1, 0.9 * k0 + 0.1 * qq)


def test_loss_and_queue_against_an_independent_computation() -> None:
    torch.manual_seed(0)
    moco = SceneMoCo(
        MeanEncoder(), SceneMoCoConfig(dim=5, queue_size=6, momentum=0.5, temperature=0.2)
    )
    with torch.no_grad():  # make θ_q ≠ θ_k so the momentum step shows
        for p in moco.query_params():
            p.mul_(2.0)
    ref = copy.deepcopy(moco)
    first, second = batch(4, 0), batch(4, 1)
    moco(first)  # fills 4 of the 6 queue slots
    out = moco(second)

    # independent: replay MoCo's Algorithm 1 by hand on the copy
    def encode(enc: nn.Module, fc: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(fc(enc(x)), dim=-1)

    def update() -> None:
        for k, q in zip(ref.key_params(), ref.query_params(), strict=True):
            k.data = 0.5 * k.data + 0.5 * q.data

    update()
    k1 = encode(ref.encoder_k, ref.fc_k, first["key"]).detach()
    update()
    q2 = encode(ref.encoder_q, ref.fc_q, second["query"])
    k2 = encode(ref.encoder_k, ref.fc_k, second["key"]).detach()
    logits = torch.cat([(q2 * k2).sum(-1, keepdim=True), q2 @ k1.T], dim=1) / 0.2
    expected = F.cross_entropy(logits, torch.zeros(4, dtype=torch.long))
    torch.testing.assert_close(out["loss"], expected)
    # FIFO: slots 0-3 held k1, the second batch wrote slots 4, 5 and then 0, 1
    queue = moco.queue.features
    torch.testing.assert_close(queue[4:6], k2[:2])
    torch.testing.assert_close(queue[0:2], k2[2:])
    torch.testing.assert_close(queue[2:4], k1[2:])
    assert int(moco.queue.filled) == 6 and int(moco.queue.ptr) == 2


def test_only_the_query_side_gets_gradients() -> None:
    moco = SceneMoCo(MeanEncoder(), SceneMoCoConfig(dim=5, queue_size=8))
    moco(batch())["loss"].backward()
    assert all(p.grad is not None for p in moco.query_params())
    assert all(p.grad is None for p in moco.key_params())
