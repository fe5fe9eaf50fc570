import pytest
import torch
import torch.nn.functional as F
from torch import nn

from movierep.losses.modist import modist_loss
from movierep.models.motion import motion_net_tiny
from movierep.models.slow_d import slow_d_tiny
from movierep.pretrain.modist import MoDist, MoDistConfig


class MeanPool(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.feature_dim = channels
        self.scale = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3, 4)) * self.scale


def make_batch(B: int = 6, T: int = 4, S: int = 8) -> dict[str, torch.Tensor]:
    return {
        "view1": torch.randn(B, 3, T, S, S),
        "view2": torch.randn(B, 3, T, S, S),
        "flow1": torch.randn(B, 2, T - 1, S, S),
        "flow2": torch.randn(B, 2, T - 1, S, S),
    }


def objective(**kwargs) -> MoDist:
    torch.manual_seed(0)
    return MoDist(MeanPool(3), MeanPool(2), MoDistConfig(proj_hidden_dim=16, proj_dim=8, **kwargs))


def test_queries_meet_the_other_views_momentum_keys_and_the_queues():
    obj = objective(queue_size=32, momentum=0.9)
    first = make_batch()
    obj(first)  # fills each queue with the 12 keys of the first batch
    assert int(obj.visual_queue.filled) == int(obj.motion_queue.filled) == 12
    queue_v, queue_m = obj.visual_queue.negatives(), obj.motion_queue.negatives()
    batch = make_batch()
    key_weights = [p.clone() for p in obj.visual_projector_k.parameters()]
    query_weights = [p.clone() for p in obj.visual_projector.parameters()]
    out = obj(batch)
    # momentum step: θ_k ← 0.9 θ_k + 0.1 θ_q, before the keys are encoded
    for k_old, q, k_new in zip(
        key_weights, query_weights, obj.visual_projector_k.parameters(), strict=True
    ):
        assert torch.allclose(k_new, 0.9 * k_old + 0.1 * q)
    with torch.no_grad():
        views = torch.cat([batch["view1"], batch["view2"]])
        flows = torch.cat([batch["flow1"], batch["flow2"]])
        q_v = obj.visual_projector(obj.backbone(views))
        q_m = obj.motion_projector(obj.motion(flows))
        k_v = F.normalize(obj.visual_projector_k(obj.backbone_k(views)), dim=-1)
        k_m = F.normalize(obj.motion_projector_k(obj.motion_k(flows)), dim=-1)
        ref = modist_loss(q_v, k_v, q_m, k_m, queue_v, queue_m)
    for name in ("loss", "vv", "vm", "mv"):
        assert out[name].item() == pytest.approx(ref[name].item(), rel=1e-5)
    assert "mm" not in out  # the flow-flow term is off by default, as in the release
    assert int(out["queue_filled"]) == 24


def test_key_encoders_are_not_trained_and_only_the_visual_backbone_is_exported():
    obj = objective()
    obj(make_batch())["loss"].backward()
    assert obj.backbone.scale.grad is not None and obj.motion.scale.grad is not None
    assert all(p.grad is None for p in obj.backbone_k.parameters())
    assert all(not p.requires_grad for p in obj.motion_projector_k.parameters())
    heads = [m for m in obj.visual_projector.mlp if isinstance(m, nn.Linear)]
    assert len(heads) == 2  # 2 layers, no batch norm
    assert not any(isinstance(m, nn.BatchNorm1d) for m in obj.visual_projector.mlp)


def test_modist_gradients_reach_both_pathways_on_slow_d_tiny():
    torch.manual_seed(0)
    backbone, motion = slow_d_tiny(), motion_net_tiny()
    obj = MoDist(backbone, motion, MoDistConfig(proj_hidden_dim=32, proj_dim=16, queue_size=8))
    out = obj(make_batch(B=2, T=4, S=16))
    out["loss"].backward()
    assert backbone.stem[0].weight.grad is not None
    assert motion.trunk.stem[0].weight.grad is not None
    assert obj.motion_projector.mlp[0].weight.grad is not None
