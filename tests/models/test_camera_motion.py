from __future__ import annotations

import pytest
import torch

from movierep.models.camera_motion import camera_motion, remove_camera_motion


def affine_field(h: int, w: int, a: tuple[float, ...], b: tuple[float, ...]) -> torch.Tensor:
    """(2, H, W) flow u = a0 + a1 x + a2 y, v = b0 + b1 x + b2 y on x, y in [-1, 1]."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    return torch.stack([a[0] + a[1] * xs + a[2] * ys, b[0] + b[1] * xs + b[2] * ys])


def test_a_pan_and_zoom_is_removed_exactly_and_an_actor_moving_against_it_is_kept() -> None:
    h, w = 18, 32
    camera = affine_field(h, w, (1.5, 0.8, 0.0), (-0.5, 0.0, 0.8))  # pan right-up + zoom in
    actor = torch.zeros(2, h, w)
    actor[0, 6:12, 10:16] = 3.0  # a 6x6 patch (6% of the frame) moving 3 px to the right
    flow = (camera + actor).unsqueeze(0)
    fitted = camera_motion(flow)
    assert torch.allclose(fitted, camera.unsqueeze(0), atol=1e-4)  # the actor is an outlier
    left = remove_camera_motion(flow)[0]
    assert torch.allclose(left, actor, atol=1e-4)
    # the plain least-squares fit (no refit on inliers) is pulled by the actor
    assert not torch.allclose(camera_motion(flow, inlier_fraction=1.0), fitted, atol=1e-2)


def test_clip_layout_and_a_static_camera() -> None:
    torch.manual_seed(0)
    flow = torch.zeros(2, 2, 3, 8, 10)  # (B, 2, T, H, W)
    flow[:, :, :, 2:4, 3:5] = torch.randn(2, 2, 3, 2, 2)  # only small movers
    out = remove_camera_motion(flow)
    assert out.shape == flow.shape
    assert torch.allclose(out, flow, atol=1e-5)  # nothing of the camera to remove
    panned = flow + torch.tensor([2.0, -1.0]).view(1, 2, 1, 1, 1)
    assert torch.allclose(remove_camera_motion(panned), flow, atol=1e-4)


def test_bad_shapes_and_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="2, H, W"):
        camera_motion(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="inlier_fraction"):
        camera_motion(torch.zeros(2, 4, 4), inlier_fraction=0.0)


def test_the_motion_pathway_reads_camera_compensated_flow() -> None:
    from movierep.models.motion import motion_net_tiny

    torch.manual_seed(0)
    net = motion_net_tiny(camera_compensation=True).eval()
    flow = torch.randn(2, 2, 3, 16, 16)
    panned = flow + torch.tensor([3.0, -2.0]).view(1, 2, 1, 1, 1)
    with torch.no_grad():
        assert torch.allclose(net(flow), net(panned), atol=1e-4)  # a pan changes nothing
    assert net.model_kwargs["camera_compensation"] is True
