from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from movierep.models.factory import create_model
from movierep.models.slow_d import Bottleneck, SlowD, SlowDConfig, slow_d_r50, slow_d_tiny


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def expected_params(
    *,
    in_channels: int = 3,
    stem_width: int = 64,
    stem_tk: int = 5,
    depths: tuple[int, ...] = (3, 4, 6, 3),
    widths: tuple[int, ...] = (256, 512, 1024, 2048),
    tks: tuple[int, ...] = (1, 1, 3, 3),
    ratio: int = 4,
    num_classes: int = 0,
) -> int:
    """Parameter count of a Slow-only/Slow-D ResNet, from the architecture table alone."""
    total = in_channels * stem_width * stem_tk * 7 * 7 + 2 * stem_width  # conv1 + BN
    c_in = stem_width
    for depth, width, tk in zip(depths, widths, tks, strict=True):
        inner = width // ratio
        for j in range(depth):
            c = c_in if j == 0 else width
            total += c * inner * tk + 2 * inner  # Tk×1×1 conv + BN
            total += inner * inner * 9 + 2 * inner  # 1×3×3 conv + BN
            total += inner * width + 2 * width  # 1×1×1 conv + BN
            if j == 0:
                total += c * width + 2 * width  # projection shortcut + BN
        c_in = width
    if num_classes:
        total += widths[-1] * num_classes + num_classes
    return total


def test_paper_parameter_count_matches_slow_only_r50() -> None:
    # Slow-only R50 (Feichtenhofer et al. 2019) with a Kinetics-400 head: 32.45M parameters
    # (ResNet-50's 23.51M trunk + 8.13M for the 3×1×1 inflation of res4/res5 + 0.82M head).
    with torch.device("meta"):  # count without allocating or initialising weights
        slow_only = SlowD(SlowDConfig(stem_temporal_kernel=1, num_classes=400))
        paper = slow_d_r50()
        paper_400 = slow_d_r50(num_classes=400)
    assert n_params(slow_only) == expected_params(stem_tk=1, num_classes=400)
    assert abs(n_params(slow_only) - 32.45e6) < 0.01e6
    # Slow-D only widens conv1 from 1×7×7 to 5×7×7: + 4·3·64·49 parameters.
    assert n_params(paper) == expected_params() == 31_672_128
    assert n_params(paper_400) - n_params(slow_only) == 4 * 3 * 64 * 49


def test_paper_kernels_strides_and_widths() -> None:
    with torch.device("meta"):
        model = slow_d_r50()
    conv1 = model.stem[0]
    assert isinstance(conv1, nn.Conv3d)
    assert conv1.kernel_size == (5, 7, 7)
    assert conv1.stride == (1, 2, 2)
    pool = model.stem[3]
    assert isinstance(pool, nn.MaxPool3d)
    assert pool.stride == (2, 2, 2)
    stages = zip(("res2", "res3", "res4", "res5"), (3, 4, 6, 3), (1, 1, 3, 3), strict=True)
    for name, depth, tk in stages:
        blocks = list(model.stages[name])
        assert len(blocks) == depth
        for block in blocks:
            assert isinstance(block, Bottleneck)
            assert block.conv_a.kernel_size == (tk, 1, 1)
            assert block.conv_b.kernel_size == (1, 3, 3)
    assert model.feature_dim == 2048


@pytest.mark.slow
def test_paper_stage_shapes_at_16x64x64() -> None:
    model = slow_d_r50().eval()
    with torch.no_grad():
        out = model.forward_features(torch.randn(1, 3, 16, 64, 64))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "stem": (1, 64, 8, 16, 16),
        "res2": (1, 256, 8, 16, 16),
        "res3": (1, 512, 8, 8, 8),
        "res4": (1, 1024, 8, 4, 4),
        "res5": (1, 2048, 8, 2, 2),
    }


@pytest.mark.parametrize(
    ("stem_stride", "pool_stride"), [(1, 2), (2, 1)], ids=["pool-stride", "cvrl-conv1-stride"]
)
def test_tiny_shapes_and_temporal_stride(stem_stride: int, pool_stride: int) -> None:
    model = slow_d_tiny(stem_temporal_stride=stem_stride, temporal_pool_after_stem=pool_stride)
    out = model.forward_features(torch.randn(2, 3, 16, 64, 64))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "stem": (2, 8, 8, 16, 16),
        "res2": (2, 32, 8, 16, 16),
        "res3": (2, 64, 8, 8, 8),
        "res4": (2, 128, 8, 4, 4),
        "res5": (2, 256, 8, 2, 2),
    }
    assert model(torch.randn(2, 3, 16, 64, 64)).shape == (2, 256)


def test_forward_is_mean_of_res5_and_classifier_mode() -> None:
    torch.manual_seed(0)
    model = slow_d_tiny().eval()
    x = torch.randn(2, 3, 8, 32, 32)
    res5 = model.forward_features(x)["res5"]
    torch.testing.assert_close(model(x), res5.mean(dim=(2, 3, 4)))
    clf = slow_d_tiny(num_classes=7).eval()
    assert clf(x).shape == (2, 7)
    assert clf.features(x).shape == (2, 256)


def test_zero_init_residual_blocks_start_as_identity() -> None:
    model = slow_d_tiny(stage_depths=(2, 1, 1, 1)).eval()
    block = model.stages["res2"][1]  # identity shortcut: output = ReLU(0 + x) = x for x >= 0
    x = torch.rand(1, 32, 4, 8, 8)
    torch.testing.assert_close(block(x), x)
    plain = slow_d_tiny(stage_depths=(2, 1, 1, 1), zero_init_residual=False).eval()
    assert not torch.allclose(plain.stages["res2"][1](x), x)


def test_backward_reaches_every_parameter() -> None:
    model = slow_d_tiny(zero_init_residual=False)
    model(torch.randn(2, 3, 8, 32, 32)).pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_model_kwargs_rebuild_through_json_and_factory() -> None:
    model = slow_d_tiny(num_classes=5)
    kwargs = json.loads(json.dumps(model.model_kwargs))
    rebuilt = create_model("slow_d", **kwargs)
    assert isinstance(rebuilt, SlowD)
    rebuilt.load_state_dict(model.state_dict())
    assert n_params(rebuilt) == n_params(model)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        slow_d_tiny()(torch.randn(3, 8, 32, 32))
    with pytest.raises(ValueError, match="4 entries"):
        SlowD(SlowDConfig(stage_depths=(1, 1, 1)))


def test_frame_differences_cancel_a_still_background_and_keep_the_shape() -> None:
    from movierep.models.slow_d import frame_differences

    t = torch.arange(6.0).view(1, 1, 6, 1, 1)
    ramp = t * 2.0 + torch.randn(1, 3, 1, 4, 5)  # a still image plus a brightening
    d = frame_differences(ramp)
    assert d.shape == ramp.shape
    assert torch.allclose(d, torch.full_like(d, 2.0))
    with pytest.raises(ValueError, match="at least 2 frames"):
        frame_differences(ramp[:, :, :1])


def test_slow_d_on_frame_differences_ignores_what_does_not_move() -> None:
    torch.manual_seed(0)
    model = slow_d_tiny(input_difference=True).eval()
    clip = torch.randn(2, 3, 8, 32, 32)
    background = torch.randn(2, 3, 1, 32, 32)  # the same image added to every frame
    with torch.no_grad():
        assert torch.allclose(model(clip), model(clip + background), atol=1e-5)
        rgb = slow_d_tiny().eval()
        rgb.load_state_dict(model.state_dict())
        assert not torch.allclose(rgb(clip), rgb(clip + background), atol=1e-3)
    assert model.model_kwargs["input_difference"] is True
