import pytest
import torch
import torch.nn.functional as F
from torch import nn

from movierep.pretrain.supervised import Supervised, SupervisedConfig


class MeanPool(nn.Module):
    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.feature_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3, 4))


def test_supervised_loss_is_cross_entropy_of_the_head():
    torch.manual_seed(0)
    objective = Supervised(MeanPool(3), num_classes=4).eval()  # eval: no dropout
    assert objective.classifier.dropout.p == SupervisedConfig().dropout == 0.5
    batch = {"clip": torch.randn(6, 3, 2, 4, 4), "label": torch.tensor([0, 1, 2, 3, 0, 1])}
    out = objective(batch)
    logits = objective.classifier(batch["clip"].mean(dim=(2, 3, 4)))
    assert out["loss"].item() == pytest.approx(F.cross_entropy(logits, batch["label"]).item())
    expected_acc = (logits.argmax(1) == batch["label"]).float().mean().item()
    assert out["acc"].item() == pytest.approx(expected_acc)


def test_supervised_learns_separable_classes():
    torch.manual_seed(0)
    objective = Supervised(MeanPool(3), num_classes=3, cfg=SupervisedConfig(dropout=0.0))
    centres = torch.eye(3) * 3
    opt = torch.optim.SGD(objective.parameters(), lr=0.5)
    for _ in range(50):
        labels = torch.randint(0, 3, (12,))
        clip = centres[labels].view(12, 3, 1, 1, 1) + 0.3 * torch.randn(12, 3, 2, 2, 2)
        out = objective({"clip": clip, "label": labels})
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert out["acc"].item() >= 0.9
