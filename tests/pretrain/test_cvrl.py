import math

import numpy as np
import pytest
import torch
from torch import nn

from movierep.models.slow_d import slow_d_tiny
from movierep.pretrain.cvrl import CVRL, CVRLConfig, feature_dim, pair_stats


class MeanPool(nn.Module):
    """A backbone stand-in: (B, C, T, H, W) -> (B, C) mean, with a learnable scale."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.feature_dim = channels
        self.scale = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3, 4)) * self.scale


def simclr_reference(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    """NT-Xent by loops: each of the 2B views against the other 2B-1 (SimCLR Eq. 1)."""
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    B = len(z1)
    total = 0.0
    for i in range(2 * B):
        pos = (i + B) % (2 * B)
        logits = [z[i] @ z[j] / tau for j in range(2 * B) if j != i]
        total += -(z[i] @ z[pos] / tau - math.log(sum(math.exp(v) for v in logits)))
    return total / (2 * B)


def test_cvrl_loss_matches_simclr_formula_on_projections():
    torch.manual_seed(0)
    objective = CVRL(MeanPool(3), CVRLConfig(temperature=0.1, proj_hidden_dim=16, proj_dim=8))
    objective.eval()  # fixed batch-norm statistics so projections are reproducible
    batch = {"view1": torch.randn(5, 3, 2, 4, 4), "view2": torch.randn(5, 3, 2, 4, 4)}
    out = objective(batch)
    with torch.no_grad():
        z1 = objective.embed(batch["view1"]).numpy()
        z2 = objective.embed(batch["view2"]).numpy()
    assert out["loss"].item() == pytest.approx(simclr_reference(z1, z2, 0.1), rel=1e-5)


def test_cvrl_trains_backbone_and_separates_videos():
    torch.manual_seed(0)
    objective = CVRL(MeanPool(3), CVRLConfig(temperature=0.1, proj_hidden_dim=32, proj_dim=16))
    base = torch.randn(8, 3, 1, 1, 1)  # 8 "videos": a colour each
    opt = torch.optim.Adam(objective.parameters(), lr=3e-2)
    losses = []
    for _ in range(30):
        batch = {
            "view1": base + 0.1 * torch.randn(8, 3, 2, 4, 4),
            "view2": base + 0.1 * torch.randn(8, 3, 2, 4, 4),
        }
        out = objective(batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert objective.backbone.scale.grad is not None
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert out["pair_acc"].item() == 1.0


def test_cvrl_on_slow_d_tiny_shapes_and_gradient():
    torch.manual_seed(0)
    backbone = slow_d_tiny()
    objective = CVRL(backbone, CVRLConfig(proj_hidden_dim=32, proj_dim=16))
    B = 4
    batch = {"view1": torch.randn(B, 3, 8, 32, 32), "view2": torch.randn(B, 3, 8, 32, 32)}
    out = objective(batch)
    assert feature_dim(backbone) == 256
    assert out["loss"].shape == ()
    assert math.isfinite(out["loss"].item())
    out["loss"].backward()
    assert backbone.stem[0].weight.grad is not None


def test_pair_stats_perfect_and_swapped():
    z = torch.eye(4)
    assert pair_stats(z, z)["pair_acc"].item() == 1.0
    assert pair_stats(z, z)["pos_sim"].item() == pytest.approx(1.0)
    assert pair_stats(z, z.flip(0))["pair_acc"].item() == 0.0
