r"""Camera-motion compensation of optical flow: what a motion pathway should see.

Optical flow mixes two motions: the camera's (a pan moves every pixel, a zoom spreads
them from a centre, hand-held shake jitters the whole frame) and the actors'. A motion
pathway distilled into the visual backbone (MoDist) should be taught the actors' motion,
since that is what tells one verb from another; raw flow lets it instead recognise a
director's camera habits or a shot's pan. Two-stream practice removes the camera:
improved dense trajectories (Wang & Schmid, ICCV 2013, §2) fit a homography to matched
points between frames with RANSAC and compute flow on the warped frame; TSN (Wang et al.
2016, §3.2) feeds this "warped optical flow" to its temporal stream.

We take the same model one step cheaper, on the dense flow itself: per frame pair, a
6-parameter affine field (pan, zoom, rotation, shear; over a frame's short focal range a
homography differs little from it)

.. math::

    \hat u(x, y) = a_0 + a_1 x + a_2 y, \qquad \hat v(x, y) = b_0 + b_1 x + b_2 y

is fitted to every pixel's flow by least squares, refitted on the ``inlier_fraction`` of
the pixels it explains best (the moving actors are the outliers, as in RANSAC, but
without sampling), and subtracted: ``flow − (û, v̂)``. A static camera leaves flow
unchanged up to the fit's noise; a pure pan or zoom goes to zero; the actors' motion
relative to the background stays. The motion pathway applies it to its input
(:class:`movierep.models.motion.MotionNet` with ``camera_compensation``), batched on the
training device, in training and at feature extraction alike, so the flow caches keep
raw flow.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _design(h: int, w: int, like: Tensor) -> Tensor:
    """(H·W, 3) rows ``[1, x, y]`` with x, y in [-1, 1] (well-conditioned normal equations)."""
    ys = torch.linspace(-1.0, 1.0, h, device=like.device, dtype=torch.float32)
    xs = torch.linspace(-1.0, 1.0, w, device=like.device, dtype=torch.float32)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([torch.ones_like(gx), gx, gy], dim=-1).reshape(h * w, 3)


def _weighted_fit(design: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Weighted least squares per row of ``target``.

    Args:
        design: (P, 3).
        target: (N, P, 2) flow per pixel.
        weight: (N, P) pixel weights (0 or 1).

    Returns:
        (N, 3, 2) coefficients.
    """
    xw = design.unsqueeze(0) * weight.unsqueeze(-1)  # (N, P, 3)
    gram = xw.transpose(1, 2) @ design.unsqueeze(0)  # (N, 3, 3)
    gram = gram + 1e-6 * torch.eye(3, device=design.device, dtype=design.dtype)
    coef: Tensor = torch.linalg.solve(gram, xw.transpose(1, 2) @ target)
    return coef


def camera_motion(flow: Tensor, *, inlier_fraction: float = 0.5) -> Tensor:
    """The affine camera-motion field of each frame pair (see the module docstring).

    Args:
        flow: (..., 2, H, W) flow in pixels (channel 0: u = dx, 1: v = dy).
        inlier_fraction: share of pixels kept for the refit (those with the smallest
            residual of the first fit); 1 keeps the plain least-squares fit.

    Returns:
        The fitted field, same shape as ``flow``, float32.
    """
    if flow.dim() < 3 or flow.shape[-3] != 2:
        raise ValueError(f"flow must be (..., 2, H, W), got {tuple(flow.shape)}")
    if not 0.0 < inlier_fraction <= 1.0:
        raise ValueError(f"inlier_fraction must be in (0, 1], got {inlier_fraction}")
    *lead, _, h, w = flow.shape
    target = flow.float().reshape(-1, 2, h * w).transpose(1, 2)  # (N, P, 2)
    design = _design(h, w, target)
    weight = torch.ones(target.shape[:2], device=target.device)
    coef = _weighted_fit(design, target, weight)
    if inlier_fraction < 1.0:
        residual = (target - design @ coef).square().sum(-1)  # (N, P)
        keep = max(3, round(inlier_fraction * h * w))
        threshold = residual.kthvalue(keep, dim=1, keepdim=True).values
        coef = _weighted_fit(design, target, (residual <= threshold).float())
    fitted = design @ coef  # (N, P, 2)
    return fitted.transpose(1, 2).reshape(*lead, 2, h, w)


def remove_camera_motion(flow: Tensor, *, inlier_fraction: float = 0.5) -> Tensor:
    """Flow minus its affine camera motion, per frame pair.

    Args:
        flow: (B, 2, T, H, W) (a motion pathway's input) or (..., 2, H, W) flow in pixels.
        inlier_fraction: see :func:`camera_motion`.

    Returns:
        Compensated flow, same shape, float32.
    """
    if flow.dim() == 5:  # (B, 2, T, H, W): put the channel next to the pixels
        moved = flow.transpose(1, 2)
        return (moved.float() - camera_motion(moved, inlier_fraction=inlier_fraction)).transpose(
            1, 2
        )
    return flow.float() - camera_motion(flow, inlier_fraction=inlier_fraction)
