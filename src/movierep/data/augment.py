"""CVRL's temporally consistent spatial augmentation of video clips, in plain torch ops.

Qian et al., "Spatiotemporal Contrastive Video Representation Learning" (CVRL, CVPR
2021), "temporally consistent spatial augmentation": strong image augmentations (random
resized crop, horizontal flip, colour jitter, grayscale, Gaussian blur) are applied to a
clip with the *same* randomly drawn parameters for all its frames, so the clip keeps its
motion while the two views of a video differ.
Values follow CVRL's release (TF Model Garden ``video_ssl``): crop area (0.3, 1) of the
frame and aspect ratio (0.5, 2); colour jitter with probability 0.8 and strength 1
(brightness, contrast, saturation 0.8, hue 0.2, in a random order); grayscale with
probability 0.2; blur with a kernel of a tenth of the output size and σ ~ U(0.1, 2.0).
Blur is applied with probability 0.5 here for both views (the release uses 1.0 and 0.1
for views 1 and 2, BYOL-style; pass ``blur_p`` to change it). Solarisation (off by
default) is available for the same asymmetric setting.

:class:`ClipAugment` first draws a :class:`ClipAugmentParams` (everything random, once per
clip) and then applies it deterministically, so tests and the optical-flow pathway of
MoDist can reuse the exact crop and flip of an RGB clip (:meth:`ClipAugment.apply_flow`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights of R, G, B
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


@dataclass(frozen=True)
class ClipAugmentParams:
    """The random draws of one augmented clip, shared by all its frames.

    Attributes:
        crop: (top, left, height, width) of the crop box in source pixels.
        flip: mirror horizontally.
        jitter: apply colour jitter.
        brightness: multiplicative brightness factor.
        contrast: contrast factor (blend with the clip's mean gray level).
        saturation: saturation factor (blend with the per-pixel gray level).
        hue: hue shift in turns, in [-0.5, 0.5].
        jitter_order: order in which the four jitter ops are applied (indices
            BRIGHTNESS, CONTRAST, SATURATION, HUE).
        grayscale: convert to gray (kept as 3 channels).
        blur_sigma: σ of the Gaussian blur in output pixels, or None for no blur.
        solarize: invert values above 0.5.
    """

    crop: tuple[int, int, int, int]
    flip: bool
    jitter: bool
    brightness: float
    contrast: float
    saturation: float
    hue: float
    jitter_order: tuple[int, ...]
    grayscale: bool
    blur_sigma: float | None
    solarize: bool

    #: Length of :meth:`to_vector`.
    VECTOR_SIZE: ClassVar[int] = 17

    def to_vector(self) -> Tensor:
        """The draws as one float64 vector (17,), so a batch of them collates into (B, 17).

        Layout: crop (top, left, h, w), flip, jitter, brightness, contrast, saturation, hue,
        jitter order (4), grayscale, blur σ (NaN: no blur), solarize.
        """
        sigma = math.nan if self.blur_sigma is None else self.blur_sigma
        return torch.tensor(
            [*self.crop, self.flip, self.jitter, self.brightness, self.contrast,
             self.saturation, self.hue, *self.jitter_order, self.grayscale, sigma,
             self.solarize],
            dtype=torch.float64,
        )  # fmt: skip

    @classmethod
    def from_vector(cls, v: Tensor) -> ClipAugmentParams:
        """Inverse of :meth:`to_vector`."""
        x = [float(a) for a in v.tolist()]
        return cls(
            crop=(int(x[0]), int(x[1]), int(x[2]), int(x[3])),
            flip=bool(x[4]), jitter=bool(x[5]), brightness=x[6], contrast=x[7],
            saturation=x[8], hue=x[9], jitter_order=tuple(int(i) for i in x[10:14]),
            grayscale=bool(x[14]), blur_sigma=None if math.isnan(x[15]) else x[15],
            solarize=bool(x[16]),
        )  # fmt: skip


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _to_frames(clip: Tensor) -> Tensor:
    """(T, H, W, 3) uint8 or (3, T, H, W) float in [0, 1] -> (T, 3, H, W) float in [0, 1]."""
    if clip.dtype == torch.uint8:
        if clip.dim() != 4 or clip.shape[-1] != 3:
            raise ValueError(f"uint8 clips must be (T, H, W, 3), got {tuple(clip.shape)}")
        return clip.permute(0, 3, 1, 2).float().div_(255.0)
    if clip.dim() != 4 or clip.shape[0] != 3:
        raise ValueError(f"float clips must be (3, T, H, W) in [0, 1], got {tuple(clip.shape)}")
    return clip.float().transpose(0, 1)


def _normalize(x: Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    """(T, 3, H, W) in [0, 1] -> normalised (3, T, H, W)."""
    m = x.new_tensor(mean).view(1, 3, 1, 1)
    s = x.new_tensor(std).view(1, 3, 1, 1)
    return ((x - m) / s).transpose(0, 1).contiguous()


def rgb_to_gray(x: Tensor) -> Tensor:
    """Luma Y = 0.299 R + 0.587 G + 0.114 B; (..., 3, H, W) -> (..., 1, H, W)."""
    w = x.new_tensor(LUMA).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True)


def shift_hue(x: Tensor, delta: float | Tensor) -> Tensor:
    """Rotate the HSV hue of RGB pixels by ``delta`` turns, keeping saturation and value.

    With V = max(R, G, B), C = V - min(R, G, B) and the hue in sixths of a turn
    h = (G - B)/C, (B - R)/C + 2 or (R - G)/C + 4 when R, G or B is the maximum, channel
    n (R: 5, G: 3, B: 1) of the result is V - C·clamp(min(k, 4 - k), 0, 1) with
    k = (n + h + 6·delta) mod 6 (the HSV -> RGB formula; gray pixels, C = 0, are kept).

    Args:
        x: RGB (..., 3, H, W) in [0, 1].
        delta: hue shift in turns: a number, or a tensor that broadcasts against
            ``x`` without its channel axis (e.g. (B, 1, 1, 1) for x (B, T, 3, H, W)).

    Returns:
        RGB (..., 3, H, W).
    """
    r, g, b = x.unbind(dim=-3)
    value, argmax = x.max(dim=-3)
    chroma = value - torch.minimum(torch.minimum(r, g), b)
    rise = torch.where(argmax == 0, g - b, torch.where(argmax == 1, b - r, r - g))
    sixths = rise / chroma.clamp_min(1e-12) + 2.0 * argmax + 6.0 * delta
    n = x.new_tensor([5.0, 3.0, 1.0]).view(3, 1, 1)
    k = torch.remainder(sixths.unsqueeze(-3) + n, 6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return value.unsqueeze(-3) - chroma.unsqueeze(-3) * ramp


def gaussian_blur(x: Tensor, sigma: float, kernel_size: int) -> Tensor:
    """Separable Gaussian blur, kernel G(t) ∝ exp(-t² / 2σ²) for |t| <= r, reflect padding.

    Args:
        x: frames (T, C, H, W).
        sigma: σ in pixels.
        kernel_size: kernel span; the radius is r = kernel_size // 2 (CVRL: output size // 10),
            capped by the frame size.

    Returns:
        Blurred frames (T, C, H, W).
    """
    radius = kernel_size // 2
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    C = x.shape[1]
    kh = kernel.view(1, 1, 1, -1).expand(C, 1, 1, -1)
    kv = kernel.view(1, 1, -1, 1).expand(C, 1, -1, 1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kh, groups=C)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), kv, groups=C)


def adjust_colour(x: Tensor, params: ClipAugmentParams) -> Tensor:
    """Colour jitter with the clip's factors, in ``params.jitter_order``; clamps after each op.

    Args:
        x: frames (T, 3, H, W) in [0, 1].
        params: the clip's draws (brightness, contrast, saturation, hue).

    Returns:
        Jittered frames (T, 3, H, W) in [0, 1].
    """
    for op in params.jitter_order:
        if op == BRIGHTNESS:
            x = x * params.brightness
        elif op == CONTRAST:
            mean = rgb_to_gray(x).mean()  # one mean for the whole clip: temporally consistent
            x = params.contrast * x + (1.0 - params.contrast) * mean
        elif op == SATURATION:
            x = params.saturation * x + (1.0 - params.saturation) * rgb_to_gray(x)
        elif op == HUE and params.hue != 0.0:
            x = shift_hue(x, params.hue)
        x = x.clamp(0.0, 1.0)
    return x


class ClipAugment:
    """CVRL's temporally consistent augmentation: one parameter draw per clip.

    Args:
        size: output height in pixels (224 in the paper; the CPU profile uses e.g. 48).
        crop_area: range of the crop area as a fraction of the frame area (0.3, 1.0).
        aspect: range of the crop's aspect ratio w/h relative to the view's, sampled
            log-uniformly (0.5, 2.0).
        flip_p: probability of a horizontal flip (0.5).
        jitter_p: probability of colour jitter (0.8).
        brightness: brightness factor drawn from [max(0, 1-b), 1+b] (0.8).
        contrast: contrast factor range, as brightness (0.8).
        saturation: saturation factor range, as brightness (0.8).
        hue: hue shift drawn from [-hue, hue] turns (0.2).
        gray_p: probability of grayscale (0.2).
        blur_p: probability of Gaussian blur (0.5).
        blur_sigma: range of the blur σ (0.1, 2.0); the kernel spans ``size // 10`` pixels.
        solarize_p: probability of solarisation (0.0).
        mean: per-channel mean subtracted at the end (Kinetics: 0.45).
        std: per-channel std divided at the end (Kinetics: 0.225).
        view_aspect: width / height of the output view (1: the papers' square crops; 16/9
            keeps the shape of a 16:9 frame, so a whole-frame crop is not squashed).
    """

    def __init__(
        self,
        size: int = 224,
        crop_area: tuple[float, float] = (0.3, 1.0),
        aspect: tuple[float, float] = (0.5, 2.0),
        flip_p: float = 0.5,
        jitter_p: float = 0.8,
        brightness: float = 0.8,
        contrast: float = 0.8,
        saturation: float = 0.8,
        hue: float = 0.2,
        gray_p: float = 0.2,
        blur_p: float = 0.5,
        blur_sigma: tuple[float, float] = (0.1, 2.0),
        solarize_p: float = 0.0,
        mean: tuple[float, float, float] = KINETICS_MEAN,
        std: tuple[float, float, float] = KINETICS_STD,
        view_aspect: float = 1.0,
    ) -> None:
        if view_aspect <= 0:
            raise ValueError(f"view_aspect must be positive, got {view_aspect}")
        if not 0 < crop_area[0] <= crop_area[1] <= 1:
            raise ValueError(f"crop_area must satisfy 0 < low <= high <= 1, got {crop_area}")
        if not 0.0 <= hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5] turns, got {hue}")
        self.size = size
        self.view_aspect = view_aspect
        self.view_size = (size, view_width(size, view_aspect))
        self.crop_area, self.aspect = crop_area, aspect
        self.flip_p, self.jitter_p, self.gray_p = flip_p, jitter_p, gray_p
        self.brightness, self.contrast, self.saturation, self.hue = (
            brightness,
            contrast,
            saturation,
            hue,
        )
        self.blur_p, self.blur_sigma, self.solarize_p = blur_p, blur_sigma, solarize_p
        self.mean, self.std = mean, std

    def _sample_crop(
        self, generator: torch.Generator, height: int, width: int
    ) -> tuple[int, int, int, int]:
        """Inception-style random resized crop box (top, left, h, w); 10 tries, then centre.

        The box's aspect (w / h) is ``aspect`` × ``view_aspect``, so the resize to the view
        distorts it by the same factors whatever the view's shape.
        """
        area = height * width
        low, high = (a * self.view_aspect for a in self.aspect)
        log_ratio = (math.log(low), math.log(high))
        for _ in range(10):
            target = area * _uniform(generator, *self.crop_area)
            ratio = math.exp(_uniform(generator, *log_ratio))
            w = round(math.sqrt(target * ratio))
            h = round(math.sqrt(target / ratio))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, (), generator=generator))
                left = int(torch.randint(0, width - w + 1, (), generator=generator))
                return top, left, h, w
        ratio = min(max(width / height, low), high)
        w, h = (
            (width, round(width / ratio))
            if width / height < ratio
            else (round(height * ratio), height)
        )
        w, h = min(w, width), min(h, height)
        return (height - h) // 2, (width - w) // 2, h, w

    def sample_params(
        self, generator: torch.Generator, height: int, width: int
    ) -> ClipAugmentParams:
        """Draw everything random for one clip of frames height × width."""
        crop = self._sample_crop(generator, height, width)

        def coin(p: float) -> bool:
            return float(torch.rand((), generator=generator)) < p

        def factor(strength: float) -> float:
            return _uniform(generator, max(0.0, 1.0 - strength), 1.0 + strength)

        flip = coin(self.flip_p)
        jitter = coin(self.jitter_p)
        brightness, contrast, saturation = (
            factor(self.brightness),
            factor(self.contrast),
            factor(self.saturation),
        )
        hue = _uniform(generator, -self.hue, self.hue)
        order = tuple(int(i) for i in torch.randperm(4, generator=generator))
        grayscale = coin(self.gray_p)
        blur = coin(self.blur_p)
        sigma = _uniform(generator, *self.blur_sigma)
        solarize = coin(self.solarize_p)
        return ClipAugmentParams(
            crop=crop,
            flip=flip,
            jitter=jitter,
            brightness=brightness,
            contrast=contrast,
            saturation=saturation,
            hue=hue,
            jitter_order=order,
            grayscale=grayscale,
            blur_sigma=sigma if blur else None,
            solarize=solarize,
        )

    def _crop_resize(self, x: Tensor, params: ClipAugmentParams) -> Tensor:
        top, left, h, w = params.crop
        if top < 0 or left < 0 or top + h > x.shape[-2] or left + w > x.shape[-1]:
            raise ValueError(f"crop {params.crop} lies outside frames of {tuple(x.shape[-2:])}")
        x = x[..., top : top + h, left : left + w]
        x = F.interpolate(
            x, size=self.view_size, mode="bilinear", align_corners=False, antialias=True
        )
        return x.flip(-1) if params.flip else x

    def apply(self, clip: Tensor, params: ClipAugmentParams) -> Tensor:
        """Augment a clip with fixed parameters (identical for every frame).

        Args:
            clip: (T, H, W, 3) uint8, or (3, T, H, W) float in [0, 1].
            params: the draws from :meth:`sample_params` for frames of this H × W.

        Returns:
            The normalised view (3, T, size, W) float32, ``W = view_width(size, view_aspect)``.
        """
        x = self._crop_resize(_to_frames(clip), params)  # (T, 3, S, W)
        if params.jitter:
            x = adjust_colour(x, params)
        if params.grayscale:
            x = rgb_to_gray(x).expand(-1, 3, -1, -1)
        if params.blur_sigma is not None:
            x = gaussian_blur(x, params.blur_sigma, kernel_size=self.size // 10)
        if params.solarize:
            x = torch.where(x < 0.5, x, 1.0 - x)
        return _normalize(x.clamp(0.0, 1.0), self.mean, self.std)

    def apply_flow(self, flow: Tensor, params: ClipAugmentParams) -> Tensor:
        """Apply the geometric part (crop, resize, flip) of ``params`` to an optical-flow clip.

        The flow vectors follow the frames: u is scaled by view width / crop width, v by
        view height / crop height, and a horizontal flip negates u. Colour operations do not apply.

        Args:
            flow: (T, H, W, 2) or (2, T, H, W), in pixels per frame (u = dx, v = dy).
            params: the draws used for the matching RGB clip (same H × W).

        Returns:
            Flow (2, T, size, W) float32 in output pixels per frame.
        """
        if flow.dim() == 4 and flow.shape[-1] == 2:
            x = flow.float().permute(0, 3, 1, 2)  # (T, 2, H, W)
        elif flow.dim() == 4 and flow.shape[0] == 2:
            x = flow.float().transpose(0, 1)
        else:
            raise ValueError(f"flow must be (T, H, W, 2) or (2, T, H, W), got {tuple(flow.shape)}")
        _, _, h, w = params.crop
        out_h, out_w = self.view_size
        scale = x.new_tensor([out_w / w, out_h / h]).view(1, 2, 1, 1)
        if params.flip:
            scale[:, 0] *= -1.0
        x = self._crop_resize(x, params) * scale
        return x.transpose(0, 1).contiguous()

    def __call__(self, clip: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Draw parameters for ``clip`` and apply them; see :meth:`apply` for shapes."""
        height, width = (
            (clip.shape[1], clip.shape[2]) if clip.dtype == torch.uint8 else clip.shape[2:]
        )
        params = self.sample_params(generator or torch.default_generator, int(height), int(width))
        return self.apply(clip, params)


def view_width(size: int, aspect: float) -> int:
    """Width of a view of height ``size`` and aspect ``aspect`` (width / height)."""
    return max(1, round(size * aspect))


def eval_transform(
    clip: Tensor,
    size: int,
    *,
    short_side: int | None = None,
    mean: tuple[float, float, float] = KINETICS_MEAN,
    std: tuple[float, float, float] = KINETICS_STD,
    view_aspect: float = 1.0,
) -> Tensor:
    """Deterministic evaluation view: resize the short side, centre-crop, normalise.

    Args:
        clip: (T, H, W, 3) uint8, or (3, T, H, W) float in [0, 1].
        size: height of the centre crop (its side for square crops).
        short_side: length of the short side after resizing (default ``size``: the whole
            short side is kept; 256 with size 224 is the common Kinetics protocol).
        mean: per-channel mean.
        std: per-channel std.
        view_aspect: width / height of the crop; 1 is the papers' square crop, 16/9 keeps
            the whole of a 16:9 frame.

    Returns:
        (3, T, size, W) float32, normalised, ``W = view_width(size, view_aspect)``.
    """
    x = _to_frames(clip)
    h, w = x.shape[-2:]
    crop = eval_crop(h, w, size, short_side=short_side, view_aspect=view_aspect)
    x = F.interpolate(
        x,
        size=(crop.resized_h, crop.resized_w),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    x = x[..., crop.top : crop.top + size, crop.left : crop.left + crop.width]
    return _normalize(x.clamp(0.0, 1.0), mean, std)


@dataclass(frozen=True)
class EvalCrop:
    """Where :func:`eval_transform` puts a frame.

    The frame is resized to ``resized_h × resized_w``, then the ``size × width`` window at
    ``(top, left)`` is kept.
    """

    resized_h: int
    resized_w: int
    top: int
    left: int
    size: int
    width: int

    def box_to_view(self, box: tuple[float, float, float, float]) -> tuple[float, ...]:
        """A box normalised to the frame ([0, 1]) -> pixels of the cropped view."""
        x1, y1, x2, y2 = box
        return (
            x1 * self.resized_w - self.left,
            y1 * self.resized_h - self.top,
            x2 * self.resized_w - self.left,
            y2 * self.resized_h - self.top,
        )


def eval_crop(
    h: int, w: int, size: int, *, short_side: int | None = None, view_aspect: float = 1.0
) -> EvalCrop:
    """The resize and centre crop of :func:`eval_transform` for an ``h × w`` frame."""
    short_side = size if short_side is None else short_side
    if short_side < size:
        raise ValueError(f"short_side {short_side} must be >= crop size {size}")
    width = view_width(size, view_aspect)
    scale = short_side / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(width, round(w * scale))
    return EvalCrop(new_h, new_w, (new_h - size) // 2, (new_w - width) // 2, size, width)
