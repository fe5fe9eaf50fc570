from __future__ import annotations

import torch
from torch import nn

from movierep.models.heads import ClassifierHead, ProjectionHead
from movierep.pretrain.cvrl import CVRLConfig


def test_cvrl_projection_head_layout_and_size() -> None:
    c = CVRLConfig()
    head = ProjectionHead(2048, c.proj_hidden_dim, c.proj_dim, c.proj_layers)
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    norms = [m for m in head.modules() if isinstance(m, nn.BatchNorm1d)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (2048, 2048),
        (2048, 2048),
        (2048, 128),
    ]
    assert len(norms) == 2
    # hidden linears carry no bias (BN follows); the output layer has one.
    expected = 2 * (2048 * 2048 + 2 * 2048) + 2048 * 128 + 128
    assert sum(p.numel() for p in head.parameters()) == expected
    assert head(torch.randn(4, 2048)).shape == (4, 128)


def test_projection_head_variants() -> None:
    linear = ProjectionHead(input_dim=16, hidden_dim=32, output_dim=8, num_layers=1)
    assert [type(m) for m in linear.mlp] == [nn.Linear]
    no_bn = ProjectionHead(
        input_dim=16, hidden_dim=32, output_dim=8, num_layers=2, batch_norm=False
    )
    assert [type(m) for m in no_bn.mlp] == [nn.Linear, nn.ReLU, nn.Linear]
    assert no_bn(torch.randn(3, 16)).shape == (3, 8)


def test_projection_head_matches_its_formula() -> None:
    torch.manual_seed(0)
    head = ProjectionHead(input_dim=6, hidden_dim=5, output_dim=3, num_layers=2).eval()
    v = torch.randn(4, 6)
    lin1, bn, _, lin2 = head.mlp
    h = lin1.weight @ v.T  # (5, B)
    mean, var = bn.running_mean[:, None], bn.running_var[:, None]
    h = torch.relu((h - mean) / torch.sqrt(var + bn.eps) * bn.weight[:, None] + bn.bias[:, None])
    expected = (lin2.weight @ h + lin2.bias[:, None]).T
    torch.testing.assert_close(head(v), expected)


def test_classifier_head_is_dropout_then_linear() -> None:
    head = ClassifierHead(10, 4, dropout=0.5)
    v = torch.randn(3, 10)
    head.eval()
    torch.testing.assert_close(head(v), v @ head.linear.weight.T + head.linear.bias)
    head.train()
    torch.manual_seed(0)
    assert not torch.allclose(head(v), head.eval()(v))
