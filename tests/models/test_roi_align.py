"""RoIAlign against a scalar transcription of torchvision's CPU kernel and a linear map."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from movierep.models.roi_align import roi_align, roi_features


def _bilinear_ref(fm: np.ndarray, y: float, x: float) -> float:
    """torchvision's ``bilinear_interpolate`` (roi_align_kernel.cpp), one point at a time."""
    h, w = fm.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_high = y_low = h - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_high = x_low = w - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (
        hy * hx * fm[y_low, x_low]
        + hy * lx * fm[y_low, x_high]
        + ly * hx * fm[y_high, x_low]
        + ly * lx * fm[y_high, x_high]
    )


def _roi_align_ref(fm, box, ph, pw, scale, ratio, aligned):
    off = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (v * scale - off for v in box)
    rw, rh = x2 - x1, y2 - y1
    if not aligned:
        rw, rh = max(rw, 1.0), max(rh, 1.0)
    bh, bw = rh / ph, rw / pw
    gh = ratio if ratio > 0 else math.ceil(rh / ph)
    gw = ratio if ratio > 0 else math.ceil(rw / pw)
    out = np.zeros((ph, pw))
    for p in range(ph):
        for q in range(pw):
            acc = 0.0
            for iy in range(gh):
                y = y1 + p * bh + (iy + 0.5) * bh / gh
                for ix in range(gw):
                    x = x1 + q * bw + (ix + 0.5) * bw / gw
                    acc += _bilinear_ref(fm, y, x)
            out[p, q] = acc / (gh * gw)
    return out


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("ratio", [2, 0])
def test_matches_torchvision_kernel(aligned, ratio):
    rng = np.random.default_rng(0)
    fm = rng.normal(size=(2, 3, 6, 9)).astype(np.float32)
    boxes = np.array(
        [
            [0, 3.0, 5.0, 60.0, 40.0],  # inside
            [1, -20.0, -12.0, 30.0, 20.0],  # over the top-left border
            [0, 70.0, 35.0, 95.0, 60.0],  # over the bottom-right border
            [1, 10.0, 10.0, 10.5, 10.5],  # under one cell
            [0, 100.0, 80.0, 120.0, 100.0],  # outside: zeros
        ],
        np.float32,
    )
    scale = 1 / 8
    got = roi_align(torch.from_numpy(fm), torch.from_numpy(boxes), (2, 3), scale, ratio, aligned)
    assert got.shape == (5, 3, 2, 3)
    for k, row in enumerate(boxes):
        for c in range(3):
            ref = _roi_align_ref(fm[int(row[0]), c], row[1:], 2, 3, scale, ratio, aligned)
            # the adaptive ratio is per box there, the largest over boxes here
            if ratio > 0 or k == 0:
                np.testing.assert_allclose(got[k, c].numpy(), ref, rtol=1e-5, atol=1e-6)
    assert got[4].abs().max() == 0


def test_linear_map_is_sampled_exactly_at_bin_centres():
    # f(y, x) = 2y + 3x + 1 on a 10 x 12 map: bilinear sampling is exact, and the samples of
    # a bin are symmetric about its centre, so each bin equals f at the bin centre.
    h, w = 10, 12
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    fm = (2 * yy + 3 * xx + 1)[None, None]
    box = torch.tensor([[0, 16.0, 8.0, 64.0, 56.0]])  # stride 8: cells 2..8 x 1..7, minus 0.5
    got = roi_align(fm, box, 4, spatial_scale=1 / 8, sampling_ratio=3)[0, 0]
    x1, y1, bw, bh = 2 - 0.5, 1 - 0.5, 6 / 4, 6 / 4
    for p in range(4):
        for q in range(4):
            cy, cx = y1 + (p + 0.5) * bh, x1 + (q + 0.5) * bw
            assert got[p, q].item() == pytest.approx(2 * cy + 3 * cx + 1, abs=1e-4)


def test_roi_features_average_time_and_bins():
    fm = torch.ones(1, 4, 3, 5, 5) * torch.arange(4.0)[None, :, None, None, None]
    boxes = torch.tensor([[0, 0.0, 0.0, 5.0, 5.0], [0, 1.0, 1.0, 2.0, 3.0]])
    got = roi_features(fm, boxes, spatial_scale=1.0)
    np.testing.assert_allclose(got.numpy(), np.tile(np.arange(4.0), (2, 1)), atol=1e-6)
    assert roi_features(fm, torch.zeros(0, 5), 1.0).shape == (0, 4)
