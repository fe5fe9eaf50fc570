r"""RoIAlign (He et al., Mask R-CNN, ICCV 2017) in plain PyTorch: no torchvision.

The Object Transformer's instance tokens are backbone features pooled inside tracked person
boxes (LVU §4; its released features are RoI features of an AVA SlowFast head). This is the
pooling operator, written to give the numbers of ``torchvision.ops.roi_align`` (whose CPU
kernel we followed for the sampling and boundary rules) so that features pooled here and
there agree:

- a box ``(x1, y1, x2, y2)`` in input-image pixels is scaled by ``spatial_scale`` to
  feature-map coordinates; with ``aligned=True`` it is then shifted by −0.5 so that a pixel
  centre sits at the integer coordinate of its feature cell (Detectron2's "aligned"
  correction); with ``aligned=False`` a box is at least 1×1 cell;
- the box is cut into ``P_h × P_w`` bins; each bin averages ``s × s`` regularly spaced
  bilinear samples at the bin's sub-cell centres (``s = sampling_ratio``, or
  ``ceil(bin size)`` when ``sampling_ratio <= 0``, as torchvision's adaptive rule, here
  the largest over the boxes so the whole batch is one tensor program);
- a sample more than one cell outside the map (``y < −1`` or ``y > H``) contributes 0; one
  inside that margin is clamped onto the border; bilinear weights otherwise.

The Object Transformer then averages the ``P_h × P_w`` bins (and the clip's time axis) into
one vector per instance: :func:`roi_features`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _bilinear(feature: Tensor, y: Tensor, x: Tensor) -> Tensor:
    """Sample one map at many points with torchvision's boundary rules.

    Args:
        feature: (C, H, W).
        y: (...,) row coordinates in cells.
        x: (...,) column coordinates in cells, same shape.

    Returns:
        (C, ...) samples.
    """
    c, h, w = feature.shape
    outside = (y < -1.0) | (y > h) | (x < -1.0) | (x > w)
    y = y.clamp(min=0.0)
    x = x.clamp(min=0.0)
    y0 = y.floor().long().clamp(max=h - 1)
    x0 = x.floor().long().clamp(max=w - 1)
    y = torch.where(y0 >= h - 1, y0.to(y.dtype), y)
    x = torch.where(x0 >= w - 1, x0.to(x.dtype), x)
    y1 = (y0 + 1).clamp(max=h - 1)
    x1 = (x0 + 1).clamp(max=w - 1)
    ly, lx = y - y0, x - x0
    hy, hx = 1.0 - ly, 1.0 - lx
    flat = feature.reshape(c, h * w)

    def at(yy: Tensor, xx: Tensor) -> Tensor:
        return flat[:, (yy * w + xx).reshape(-1)].reshape(c, *yy.shape)

    out = (
        (hy * hx) * at(y0, x0)
        + (hy * lx) * at(y0, x1)
        + (ly * hx) * at(y1, x0)
        + (ly * lx) * at(y1, x1)
    )
    return out * (~outside).to(out.dtype)


def roi_align(
    features: Tensor,
    boxes: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> Tensor:
    """Pool a ``P_h × P_w`` grid from each box (``torchvision.ops.roi_align``'s result).

    Args:
        features: (B, C, H, W) feature maps.
        boxes: (K, 5) rows ``batch_index, x1, y1, x2, y2`` in input coordinates.
        output_size: ``P`` or ``(P_h, P_w)``.
        spatial_scale: feature cells per input pixel (1/32 for a stride-32 map).
        sampling_ratio: samples per bin side; ``<= 0`` for the adaptive ``ceil(bin size)``.
        aligned: shift by half a cell (pixel-centre model) and allow boxes under one cell.

    Returns:
        (K, C, P_h, P_w) pooled features (zeros for K = 0).
    """
    ph, pw = (output_size, output_size) if isinstance(output_size, int) else output_size
    if features.dim() != 4 or boxes.dim() != 2 or boxes.shape[-1] != 5:
        raise ValueError(
            f"roi_align expects features (B, C, H, W) and boxes (K, 5), "
            f"got {tuple(features.shape)} and {tuple(boxes.shape)}"
        )
    k, c = boxes.shape[0], features.shape[1]
    if k == 0:
        return features.new_zeros(0, c, ph, pw)
    boxes = boxes.to(features.dtype)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (boxes[:, i] * spatial_scale - offset for i in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    if sampling_ratio > 0:
        sh = sw = sampling_ratio
    else:
        sh = max(1, math.ceil(float(bin_h.max())))
        sw = max(1, math.ceil(float(bin_w.max())))
    # sample coordinates (K, P_h * s_h) and (K, P_w * s_w): bin p, sample i at
    # start + (p + (i + 0.5) / s) * bin
    fy = (torch.arange(ph * sh, device=features.device, dtype=features.dtype) + 0.5) / sh
    fx = (torch.arange(pw * sw, device=features.device, dtype=features.dtype) + 0.5) / sw
    ys = y1[:, None] + fy[None, :] * bin_h[:, None]
    xs = x1[:, None] + fx[None, :] * bin_w[:, None]
    out = features.new_empty(k, c, ph, pw)
    index = boxes[:, 0].long()
    for r in range(k):
        grid_y = ys[r][:, None].expand(-1, xs.shape[1])
        grid_x = xs[r][None, :].expand(ys.shape[1], -1)
        samples = _bilinear(features[index[r]], grid_y, grid_x)  # (C, P_h*s_h, P_w*s_w)
        out[r] = samples.reshape(c, ph, sh, pw, sw).mean(dim=(2, 4))
    return out


def roi_features(
    feature_map: Tensor,
    boxes: Tensor,
    spatial_scale: float,
    output_size: int = 7,
    sampling_ratio: int = 2,
) -> Tensor:
    """One vector per box: RoIAlign on the time-averaged map, then the mean of the bins.

    This is the AVA-head pooling behind LVU's instance features (temporal average pool,
    RoIAlign, spatial max in SlowFast's head; we average, which keeps small boxes on coarse
    maps from collapsing onto one cell's value).

    Args:
        feature_map: (B, C, T, H, W) backbone features (e.g. Slow-D ``res5``).
        boxes: (K, 5) rows ``batch_index, x1, y1, x2, y2`` in input pixels.
        spatial_scale: feature cells per input pixel.
        output_size: RoIAlign grid side.
        sampling_ratio: samples per bin side.

    Returns:
        (K, C) instance features.
    """
    pooled = roi_align(
        feature_map.mean(dim=2), boxes, output_size, spatial_scale, sampling_ratio, aligned=True
    )
    return pooled.mean(dim=(2, 3))
