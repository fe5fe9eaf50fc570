from __future__ import annotations

import torch

from movierep.models.motion import MotionNet, motion_net_tiny


def test_flow_clip_shapes_and_feature_dim() -> None:
    net = motion_net_tiny()
    flow = torch.randn(2, 2, 15, 64, 64) * 5  # 16 frames give 15 flow fields
    assert net(flow).shape == (2, net.feature_dim) == (2, 256)
    conv1 = net.trunk.stem[0]
    assert isinstance(conv1, torch.nn.Conv3d)
    assert conv1.in_channels == 2
    assert conv1.kernel_size == (5, 7, 7)


def test_default_is_the_authors_flow_network_r50_at_one_eighth_width() -> None:
    with torch.device("meta"):
        net = MotionNet()
    assert net.feature_dim == 256  # 2048 / 8
    assert list(net.model_kwargs["stage_depths"]) == [3, 4, 6, 3]
    assert list(net.model_kwargs["stage_widths"]) == [32, 64, 128, 256]
    n = sum(p.numel() for p in net.parameters())
    # every 1x1 / 3x3 convolution shrinks 64x (both widths / 8), the 2-channel stem 8x:
    # about 31.7M / 64 for Slow-D R50, i.e. 0.5M
    assert n == 503_872


def test_flow_is_clipped_and_scaled_to_unit_range() -> None:
    net = motion_net_tiny(flow_clip=20.0)
    flow = torch.tensor([-50.0, -20.0, -10.0, 0.0, 10.0, 40.0])
    torch.testing.assert_close(
        net.normalize_flow(flow), torch.tensor([-1.0, -1.0, -0.5, 0.0, 0.5, 1.0])
    )
    # Flow beyond the bound gives the same feature as flow at the bound.
    net.eval()
    base = torch.full((1, 2, 4, 32, 32), 20.0)
    torch.testing.assert_close(net(base), net(base * 3))


def test_gradients_reach_the_motion_trunk() -> None:
    net = motion_net_tiny(zero_init_residual=False)
    net(torch.randn(2, 2, 8, 32, 32)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
