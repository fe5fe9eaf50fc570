import pytest
import torch
from torch import nn

from movierep.losses.modist import modist_loss
from movierep.models.motion import motion_net_tiny
from movierep.models.slow_d import slow_d_tiny
from movierep.pretrain.modist import MoDist


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


def test_modist_feeds_its_projections_to_modist_loss():
    torch.manual_seed(0)
    objective = MoDist(MeanPool(3), MeanPool(2), proj_hidden_dim=16, proj_dim=8).eval()
    batch = make_batch()
    out = objective(batch)
    with torch.no_grad():
        v1 = objective.visual_projector(objective.backbone(batch["view1"]))
        v2 = objective.visual_projector(objective.backbone(batch["view2"]))
        m1 = objective.motion_projector(objective.motion(batch["flow1"]))
        m2 = objective.motion_projector(objective.motion(batch["flow2"]))
    ref = modist_loss(v1, v2, m1, m2, temperature=0.1)
    for name in ("loss", "vv", "mm", "vm", "mv"):
        assert out[name].item() == pytest.approx(ref[name].item(), rel=1e-5)


def test_modist_gradients_reach_both_pathways_on_slow_d_tiny():
    torch.manual_seed(0)
    backbone, motion = slow_d_tiny(), motion_net_tiny()
    objective = MoDist(backbone, motion, proj_hidden_dim=32, proj_dim=16)
    out = objective(make_batch(B=2, T=4, S=16))
    out["loss"].backward()
    assert backbone.stem[0].weight.grad is not None
    assert motion.trunk.stem[0].weight.grad is not None
    assert objective.motion_projector.mlp[0].weight.grad is not None
