import pytest
import torch
import torch.nn.functional as F

from movierep.models.shot_adjacency import ShotAdjacencyConfig, ShotAdjacencyNet, pooled_size


def test_pooling_shapes_at_paper_sizes() -> None:
    """1,024 shots, kernels 16, strides 8: B is 127 × 127, V is 14 × 14 = 196."""
    net = ShotAdjacencyNet()
    assert net.num_scenes == 127
    assert net.l_output.in_features == 196
    x1, x2 = torch.randn(2, 1024, 512), torch.randn(2, 1024, 512)
    lengths = torch.tensor([1024, 300]), torch.tensor([700, 1024])
    a = net.shot_adjacency(x1, x2, *lengths)
    assert a.shape == (2, 1024, 1024)
    b = net.scene_adjacency(a)
    assert b.shape == (2, 127, 127)
    logits, scenes = net(x1, x2, *lengths)
    assert logits.shape == (2, 2) and scenes.shape == (2, 127, 127)
    # the paper's parameter count: two 512-FC layers and a 196 -> 2 output layer
    assert sum(p.numel() for p in net.parameters()) == 525_706


def test_padded_shots_have_zero_adjacency() -> None:
    net = ShotAdjacencyNet(
        ShotAdjacencyConfig(
            input_dim=8,
            hidden_dim=16,
            num_shots=32,
            scene_kernel=4,
            scene_stride=2,
            pool_kernel=4,
            pool_stride=2,
        )
    ).eval()
    x = torch.randn(1, 32, 8)
    a = net.shot_adjacency(x, x, torch.tensor([10]), torch.tensor([20]))
    assert torch.all(a[0, 10:] == 0) and torch.all(a[0, :, 20:] == 0)
    assert torch.all(a[0, :10, :20] != 0)


def test_scene_adjacency_is_the_window_mean_and_v_its_max() -> None:
    """B[i, j] = mean of A over shots [2i, 2i+4) × [2j, 2j+4); V = max of B over 4 × 4 windows."""
    net = ShotAdjacencyNet(
        ShotAdjacencyConfig(
            input_dim=4,
            hidden_dim=4,
            num_shots=16,
            scene_kernel=4,
            scene_stride=2,
            pool_kernel=4,
            pool_stride=2,
        )
    )
    a = torch.randn(1, 16, 16)
    b = net.scene_adjacency(a)
    assert b.shape == (1, 7, 7)
    for i, j in [(0, 0), (3, 5), (6, 6)]:
        assert torch.isclose(b[0, i, j], a[0, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4].mean())
    v = F.max_pool2d(b[:, None], 4, 2).flatten(1)
    assert v.shape == (1, 4) and torch.isclose(v[0, 0], b[0, :4, :4].max())


def test_penultimate_is_e_learnable_without_its_last_layer() -> None:
    net = ShotAdjacencyNet(ShotAdjacencyConfig(
        input_dim=4, hidden_dim=6, num_shots=16, scene_kernel=4, scene_stride=2, pool_kernel=4,
        pool_stride=2,
    )).eval()  # fmt: skip
    x = torch.randn(5, 4)
    assert torch.allclose(net.penultimate(x), torch.relu(net.e_learnable[0](x)))
    net.cosine = True
    assert torch.allclose(net.penultimate(x).norm(dim=-1), torch.ones(5))


def test_pooled_size_rejects_a_kernel_longer_than_the_input() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        pooled_size(3, 4, 2)
