from __future__ import annotations

import colorsys
import dataclasses
import math

import numpy as np
import pytest
import torch

from movierep.data.augment import (
    KINETICS_MEAN,
    KINETICS_STD,
    ClipAugment,
    ClipAugmentParams,
    eval_transform,
    gaussian_blur,
    shift_hue,
)


def still_clip(T: int = 6, H: int = 48, W: int = 64, seed: int = 0) -> torch.Tensor:
    """A clip whose frames are all the same random image, (T, H, W, 3) uint8."""
    g = torch.Generator().manual_seed(seed)
    frame = torch.randint(0, 256, (1, H, W, 3), generator=g, dtype=torch.uint8)
    return frame.expand(T, -1, -1, -1).contiguous()


def everything_on(params: ClipAugmentParams) -> ClipAugmentParams:
    return dataclasses.replace(params, jitter=True, grayscale=False, blur_sigma=1.5, flip=True)


@pytest.mark.parametrize("seed", range(5))
def test_one_draw_is_applied_identically_to_every_frame(seed: int) -> None:
    aug = ClipAugment(size=32, solarize_p=0.5)
    clip = still_clip(seed=seed)
    params = everything_on(aug.sample_params(torch.Generator().manual_seed(seed), 48, 64))
    out = aug.apply(clip, params)
    assert out.shape == (3, 6, 32, 32)
    assert out.dtype == torch.float32
    for t in range(1, 6):
        torch.testing.assert_close(out[:, t], out[:, 0], rtol=0, atol=1e-6)
    # And the frames did change: the output is not just the normalised resized input.
    plain = dataclasses.replace(params, jitter=False, blur_sigma=None, solarize=False)
    assert (aug.apply(clip, plain) - out).abs().max() > 0.05


def test_two_views_of_a_clip_differ_and_draws_are_reproducible() -> None:
    aug = ClipAugment(size=32)
    clip = still_clip()
    a = aug(clip, torch.Generator().manual_seed(1))
    b = aug(clip, torch.Generator().manual_seed(1))
    c = aug(clip, torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b)
    assert (a - c).abs().max() > 0.1


def test_crop_boxes_follow_cvrl_area_and_aspect_ranges() -> None:
    aug = ClipAugment(size=32)
    g = torch.Generator().manual_seed(0)
    H, W = 240, 320
    areas, aspects, flips, grays, jitters = [], [], [], [], []
    for _ in range(2000):
        p = aug.sample_params(g, H, W)
        top, left, h, w = p.crop
        assert top >= 0
        assert top + h <= H
        assert left >= 0
        assert left + w <= W
        areas.append(h * w / (H * W))
        aspects.append(w / h)
        flips.append(p.flip)
        grays.append(p.grayscale)
        jitters.append(p.jitter)
        assert sorted(p.jitter_order) == [0, 1, 2, 3]
        assert 0.2 <= p.brightness <= 1.8
        assert -0.2 <= p.hue <= 0.2
    assert min(areas) > 0.29
    assert max(areas) <= 1.0
    assert min(aspects) > 0.49
    assert max(aspects) < 2.01
    # Bernoulli rates within ~4 standard errors of CVRL's probabilities.
    for rate, p in ((np.mean(flips), 0.5), (np.mean(grays), 0.2), (np.mean(jitters), 0.8)):
        assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / 2000)


def test_flip_mirrors_the_frames() -> None:
    aug = ClipAugment(size=32)
    clip = torch.rand(3, 2, 32, 32)
    p = aug.sample_params(torch.Generator().manual_seed(0), 32, 32)
    p = dataclasses.replace(p, crop=(0, 0, 32, 32), jitter=False, grayscale=False, blur_sigma=None)
    straight = aug.apply(clip, dataclasses.replace(p, flip=False))
    mirrored = aug.apply(clip, dataclasses.replace(p, flip=True))
    torch.testing.assert_close(mirrored, straight.flip(-1))
    # Identity crop, no colour ops: the output is the normalised input.
    mean = torch.tensor(KINETICS_MEAN).view(3, 1, 1, 1)
    std = torch.tensor(KINETICS_STD).view(3, 1, 1, 1)
    torch.testing.assert_close(straight, (clip - mean) / std, rtol=0, atol=1e-5)


def test_grayscale_equalises_channels() -> None:
    aug = ClipAugment(size=16)
    p = aug.sample_params(torch.Generator().manual_seed(0), 48, 64)
    out = aug.apply(still_clip(), dataclasses.replace(p, grayscale=True))
    torch.testing.assert_close(out[0], out[1])
    torch.testing.assert_close(out[1], out[2])


@pytest.mark.parametrize("delta", [0.0, 0.13, -0.4, 0.5])
def test_hue_shift_matches_colorsys(delta: float) -> None:
    x = torch.rand(2, 3, 4, 5, dtype=torch.float64)
    x[0, :, 0, 0] = 0.5  # gray pixel: no hue, unchanged
    x[0, :, 0, 1] = torch.tensor([0.9, 0.9, 0.1])  # R/G tie
    x[0, :, 0, 2] = torch.tensor([0.2, 0.9, 0.9])  # G/B tie
    out = shift_hue(x, delta)
    for b in range(2):
        for i in range(4):
            for j in range(5):
                h, s, v = colorsys.rgb_to_hsv(*x[b, :, i, j].tolist())
                ref = colorsys.hsv_to_rgb((h + delta) % 1.0, s, v)
                assert out[b, :, i, j].tolist() == pytest.approx(ref, abs=1e-12)


def test_hue_shift_rotates_primary_colours() -> None:
    aug = ClipAugment(size=8)
    red = torch.zeros(3, 1, 8, 8)
    red[0] = 1.0
    p = aug.sample_params(torch.Generator().manual_seed(0), 8, 8)
    p = dataclasses.replace(
        p, crop=(0, 0, 8, 8), flip=False, jitter=True, brightness=1.0, contrast=1.0,
        saturation=1.0, hue=1 / 3, grayscale=False, blur_sigma=None, solarize=False,
    )  # fmt: skip
    out = aug.apply(red, p) * torch.tensor(KINETICS_STD).view(3, 1, 1, 1)
    out = out + torch.tensor(KINETICS_MEAN).view(3, 1, 1, 1)
    torch.testing.assert_close(out[:, 0, 4, 4], torch.tensor([0.0, 1.0, 0.0]), atol=1e-5, rtol=0)


def test_gaussian_blur_preserves_constants_and_mass() -> None:
    const = torch.full((2, 3, 20, 20), 0.7)
    torch.testing.assert_close(gaussian_blur(const, sigma=1.5, kernel_size=7), const)
    impulse = torch.zeros(1, 1, 21, 21)
    impulse[0, 0, 10, 10] = 1.0
    blurred = gaussian_blur(impulse, sigma=1.0, kernel_size=7)
    assert float(blurred.sum()) == pytest.approx(1.0, abs=1e-6)
    t = torch.arange(-3, 4, dtype=torch.float32)
    g = torch.exp(-(t**2) / 2)
    g = g / g.sum()
    torch.testing.assert_close(blurred[0, 0, 7:14, 7:14], torch.outer(g, g))


def test_flow_follows_crop_resize_and_flip() -> None:
    aug = ClipAugment(size=64)
    flow = torch.zeros(3, 100, 120, 2)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    p = aug.sample_params(torch.Generator().manual_seed(0), 100, 120)
    p = dataclasses.replace(p, crop=(10, 20, 50, 80), flip=False)
    out = aug.apply_flow(flow, p)
    assert out.shape == (2, 3, 64, 64)
    torch.testing.assert_close(out[0], torch.full((3, 64, 64), 2.0 * 64 / 80))
    torch.testing.assert_close(out[1], torch.full((3, 64, 64), -1.0 * 64 / 50))
    flipped = aug.apply_flow(flow.permute(3, 0, 1, 2), dataclasses.replace(p, flip=True))
    torch.testing.assert_close(flipped[0], -out[0])
    torch.testing.assert_close(flipped[1], out[1])


def test_eval_transform_resizes_short_side_and_centre_crops() -> None:
    clip = torch.zeros(4, 60, 100, 3, dtype=torch.uint8)
    clip[:, :, 45:55] = 255  # a white vertical band in the middle
    out = eval_transform(clip, 30)
    assert out.shape == (3, 4, 30, 30)
    white = (1.0 - KINETICS_MEAN[0]) / KINETICS_STD[0]
    assert float(out[0, 0, 15, 15]) == pytest.approx(white, abs=1e-4)
    assert float(out[0, 0, 15, 0]) < 0
    assert eval_transform(clip, 32, short_side=40).shape == (3, 4, 32, 32)


def test_wide_views_keep_the_whole_frame_and_scale_the_crop_aspect() -> None:
    aug = ClipAugment(size=18, view_aspect=16 / 9)
    assert aug.view_size == (18, 32)
    g = torch.Generator().manual_seed(0)
    aspects = []
    for _ in range(500):
        _, _, h, w = aug.sample_params(g, 180, 320).crop
        aspects.append(w / h)
    # the box aspect is CVRL's (0.5, 2) range times the view's 16/9, clipped by the frame
    assert min(aspects) > 0.5 * 16 / 9 - 0.02
    assert max(aspects) < 2 * 16 / 9 + 0.02
    assert np.median(aspects) == pytest.approx(16 / 9, rel=0.25)
    clip = still_clip(T=2, H=36, W=64)
    assert aug(clip, g).shape == (3, 2, 18, 32)
    flow = aug.apply_flow(
        torch.ones(2, 36, 64, 2),
        dataclasses.replace(aug.sample_params(g, 36, 64), crop=(0, 0, 36, 64), flip=False),
    )
    torch.testing.assert_close(flow[0], torch.full((2, 18, 32), 32 / 64))
    torch.testing.assert_close(flow[1], torch.full((2, 18, 32), 18 / 36))
    # evaluation at 16/9: the whole 16:9 frame, its left and right edges included
    edges = torch.zeros(1, 36, 64, 3, dtype=torch.uint8)
    edges[:, :, :4] = 255
    square, wide = eval_transform(edges, 18), eval_transform(edges, 18, view_aspect=16 / 9)
    assert square.shape == (3, 1, 18, 18)
    assert wide.shape == (3, 1, 18, 32)
    assert float(square[0, 0, 9, 0]) < 0  # the square centre crop lost the white edge
    assert float(wide[0, 0, 9, 0]) == pytest.approx(
        (1.0 - KINETICS_MEAN[0]) / KINETICS_STD[0], abs=1e-3
    )


def test_rejects_bad_clips() -> None:
    aug = ClipAugment(size=16)
    with pytest.raises(ValueError, match="uint8 clips"):
        aug(torch.zeros(4, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="float clips"):
        aug(torch.zeros(4, 16, 16, 3))
