from __future__ import annotations

import dataclasses

import pytest
import torch

from movierep.data.augment import ClipAugment, ClipAugmentParams
from movierep.data.batch_augment import augment_batch, augment_flow_batch


def draws(aug: ClipAugment, n: int, H: int, W: int, seed: int = 0) -> list[ClipAugmentParams]:
    g = torch.Generator().manual_seed(seed)
    return [aug.sample_params(g, H, W) for _ in range(n)]


@pytest.mark.parametrize("view_aspect", [1.0, 16 / 9])
def test_batch_equals_clip_by_clip(view_aspect: float) -> None:
    aug = ClipAugment(size=40, solarize_p=0.3, view_aspect=view_aspect)
    B, T, H, W = 24, 5, 54, 96
    frames = torch.randint(0, 256, (B, T, H, W, 3), generator=torch.Generator().manual_seed(1),
                           dtype=torch.uint8)  # fmt: skip
    params = draws(aug, B, H, W)
    # every op and every jitter order at least once in the batch
    params[0] = dataclasses.replace(params[0], jitter=True, grayscale=True, blur_sigma=1.7)
    params[1] = dataclasses.replace(params[1], jitter=True, hue=0.0, solarize=True)
    assert len({p.jitter_order for p in params if p.jitter}) > 5
    assert any(p.blur_sigma for p in params) and not all(p.blur_sigma for p in params)
    vectors = torch.stack([p.to_vector() for p in params])
    out = augment_batch(frames, vectors, aug)
    expected = torch.stack([aug.apply(f, p) for f, p in zip(frames, params, strict=True)])
    assert out.shape == expected.shape == (B, 3, T, 40, round(40 * view_aspect))
    torch.testing.assert_close(out, expected, rtol=0, atol=2e-5)


def test_flow_batch_equals_clip_by_clip() -> None:
    aug = ClipAugment(size=32)
    B, T, H, W = 6, 4, 40, 64
    flow = torch.randn(B, T - 1, H, W, 2, generator=torch.Generator().manual_seed(2)).half()
    params = draws(aug, B, H, W, seed=3)
    vectors = torch.stack([p.to_vector() for p in params])
    out = augment_flow_batch(flow, vectors, aug)
    expected = torch.stack(
        [aug.apply_flow(f.float(), p) for f, p in zip(flow, params, strict=True)]
    )
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_params_vector_round_trip() -> None:
    for p in draws(ClipAugment(size=32, solarize_p=0.5), 20, 72, 128):
        v = p.to_vector()
        assert v.shape == (ClipAugmentParams.VECTOR_SIZE,)
        assert ClipAugmentParams.from_vector(v) == p


def test_padded_frames_leave_each_crop_unchanged() -> None:
    aug = ClipAugment(size=24)
    small = torch.randint(0, 256, (3, 40, 50, 3), dtype=torch.uint8)
    p = draws(aug, 1, 40, 50)[0]
    padded = torch.zeros(1, 3, 72, 96, 3, dtype=torch.uint8)
    padded[0, :, :40, :50] = small
    out = augment_batch(padded, p.to_vector()[None], aug)[0]
    torch.testing.assert_close(out, aug.apply(small, p), rtol=0, atol=2e-5)
