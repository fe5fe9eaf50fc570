"""CVRL's augmentation applied to a whole batch, as tensor ops on the training device.

:class:`~movierep.data.augment.ClipAugment` draws one :class:`ClipAugmentParams` per clip
(in the data-loader worker, from the item's seeded RNG, so a resumed run draws the same)
and applies it to that clip alone. Applied per clip in the workers, the small ops (a
blur, a hue rotation of an 8-frame 48² clip) cost more in dispatch than in arithmetic and
keep the CPU from the training step. Here the workers only gather the raw uint8 frames
and the draws (``(B, 17)`` vectors, :meth:`ClipAugmentParams.to_vector`); the training
process applies them to the batch at once, after the batch reached the training device:

1. crop + resize (+ flip) per clip: each clip has its own box, so this is a loop of
   ``F.interpolate`` calls on the crop only (bilinear, antialiased, as ``apply``);
2. colour jitter for the whole batch, one op position at a time: at position ``p`` each
   of the four ops (brightness, contrast, saturation, hue) runs on the clips whose random
   order puts it there, with their own factors; values are clamped after every position;
3. grayscale, Gaussian blur (one grouped separable convolution with each clip's own σ),
   solarisation, each on the clips that drew it; then the mean/std normalisation.

The result equals :meth:`ClipAugment.apply` clip by clip to float precision (a test
checks it), so the augmentation distribution is unchanged; only where and how it runs
changed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from movierep.data.augment import (
    BRIGHTNESS,
    CONTRAST,
    HUE,
    SATURATION,
    ClipAugment,
    rgb_to_gray,
    shift_hue,
)

# columns of ClipAugmentParams.to_vector
_CROP, _FLIP, _JITTER = slice(0, 4), 4, 5
_BRIGHT, _CONTR, _SAT, _HUE, _ORDER = 6, 7, 8, 9, slice(10, 14)
_GRAY, _SIGMA, _SOLAR = 14, 15, 16


def _crop_resize(frames: Tensor, params: Tensor, augment: ClipAugment) -> Tensor:
    """(B, T, H, W, 3) uint8 + (B, 17) -> (B, T, 3, S, W_view) float in [0, 1]."""
    out = []
    for clip, p in zip(frames, params.tolist(), strict=True):
        top, left, h, w = (int(v) for v in p[0:4])
        if top < 0 or left < 0 or top + h > clip.shape[1] or left + w > clip.shape[2]:
            raise ValueError(f"crop {(top, left, h, w)} lies outside frames of {clip.shape[1:3]}")
        x = clip[:, top : top + h, left : left + w].permute(0, 3, 1, 2).float().div_(255.0)
        x = F.interpolate(
            x, size=augment.view_size, mode="bilinear", align_corners=False, antialias=True
        )
        out.append(x.flip(-1) if p[_FLIP] else x)
    return torch.stack(out)


def _factor(params: Tensor, column: int, rows: Tensor, like: Tensor) -> Tensor:
    """Per-clip factors of ``rows`` as (n, 1, 1, 1, 1) in ``like``'s dtype and device."""
    return params[rows, column].to(like.dtype).view(-1, 1, 1, 1, 1)


def _jitter(x: Tensor, params: Tensor) -> Tensor:
    """Colour jitter of the clips whose ``jitter`` flag is set, each in its own op order."""
    order = params[:, _ORDER].long()
    on = params[:, _JITTER] > 0.5
    for position in range(4):
        for op in (BRIGHTNESS, CONTRAST, SATURATION, HUE):
            rows = torch.nonzero(on & (order[:, position] == op)).flatten()
            if rows.numel() == 0:
                continue
            y = x[rows]  # (n, T, 3, S, W)
            if op == BRIGHTNESS:
                y = y * _factor(params, _BRIGHT, rows, y)
            elif op == CONTRAST:
                c = _factor(params, _CONTR, rows, y)
                mean = rgb_to_gray(y).mean(dim=(1, 2, 3, 4), keepdim=True)
                y = c * y + (1.0 - c) * mean
            elif op == SATURATION:
                s = _factor(params, _SAT, rows, y)
                y = s * y + (1.0 - s) * rgb_to_gray(y)
            else:
                delta = params[rows, _HUE].to(y.dtype)
                moving = delta != 0.0  # apply() skips a zero shift (but still clamps)
                if bool(moving.any()):
                    y[moving] = shift_hue(y[moving], delta[moving].view(-1, 1, 1, 1))
            x[rows] = y.clamp(0.0, 1.0)
    return x


def _blur(x: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Separable Gaussian blur of each clip with its own σ (reflect padding), as ``apply``.

    Args:
        x: (n, T, C, S, W) clips.
        sigma: (n,) σ in pixels.
        kernel_size: kernel span (radius ``kernel_size // 2``, capped by the frame size).
    """
    n, T, C, S, W = x.shape
    radius = min(kernel_size // 2, W - 1, S - 1)
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(t**2) / (2 * sigma.to(x.dtype).view(-1, 1) ** 2))  # (n, k)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(T * C, dim=0)
    groups = n * T * C
    y = x.reshape(1, groups, S, W)
    y = F.conv2d(
        F.pad(y, (radius, radius, 0, 0), mode="reflect"),
        kernel.view(groups, 1, 1, -1),
        groups=groups,
    )
    y = F.conv2d(
        F.pad(y, (0, 0, radius, radius), mode="reflect"),
        kernel.view(groups, 1, -1, 1),
        groups=groups,
    )
    return y.view(n, T, C, S, W)


def augment_batch(frames: Tensor, params: Tensor, augment: ClipAugment) -> Tensor:
    """Apply each clip's drawn augmentation to a batch of raw clips.

    Args:
        frames: (B, T, H, W, 3) uint8 clips (padded to a common H × W: every crop box
            lies inside its own clip).
        params: (B, 17) draws, :meth:`ClipAugmentParams.to_vector` of each clip.
        augment: the augmentation whose ``sample_params`` drew them (output size,
            normalisation).

    Returns:
        (B, 3, T, S, W_view) float32 normalised views, equal to ``augment.apply`` per clip.
    """
    x = _crop_resize(frames, params, augment)  # (B, T, 3, S, W)
    x = _jitter(x, params)
    gray = torch.nonzero(params[:, _GRAY] > 0.5).flatten()
    if gray.numel():
        x[gray] = rgb_to_gray(x[gray]).expand(-1, -1, 3, -1, -1)
    sigma = params[:, _SIGMA]
    blur = torch.nonzero(~torch.isnan(sigma)).flatten()
    if blur.numel():
        x[blur] = _blur(x[blur], sigma[blur], kernel_size=augment.size // 10)
    solar = torch.nonzero(params[:, _SOLAR] > 0.5).flatten()
    if solar.numel():
        y = x[solar]
        x[solar] = torch.where(y < 0.5, y, 1.0 - y)
    x = x.clamp_(0.0, 1.0)
    mean = x.new_tensor(augment.mean).view(1, 1, 3, 1, 1)
    std = x.new_tensor(augment.std).view(1, 1, 3, 1, 1)
    return ((x - mean) / std).transpose(1, 2).contiguous()


def augment_flow_batch(flow: Tensor, params: Tensor, augment: ClipAugment) -> Tensor:
    """The geometric part of each clip's draw applied to its optical flow.

    Args:
        flow: (B, T−1, H, W, 2) flow in source pixels per frame (any float dtype).
        params: (B, 17) the draws of the matching RGB clips.
        augment: the augmentation that drew them.

    Returns:
        (B, 2, T−1, S, W_view) float32, equal to ``augment.apply_flow`` per clip.
    """
    out_h, out_w = augment.view_size
    views = []
    for clip, p in zip(flow, params.tolist(), strict=True):
        top, left, h, w = (int(v) for v in p[0:4])
        x = clip[:, top : top + h, left : left + w].permute(0, 3, 1, 2).float()
        x = F.interpolate(
            x, size=augment.view_size, mode="bilinear", align_corners=False, antialias=True
        )
        scale = x.new_tensor([out_w / w, out_h / h]).view(1, 2, 1, 1)
        if p[_FLIP]:
            x = x.flip(-1)
            scale[:, 0] *= -1.0
        views.append((x * scale).transpose(0, 1))
    return torch.stack(views).contiguous()
