"""Slow-D: the Slow-only 3D ResNet-50 with dense 16×4 input used as the event backbone.

Xiao et al., "Hierarchical Self-supervised Representation Learning for Movie
Understanding", Sec. 3.1: "we adopt the popular Slow-only network [12] (Feichtenhofer et
al. 2019, "SlowFast Networks"), but with two modifications [32] (Qian et al. 2021, CVRL):
1) instead of 8×8 inputs ... we use denser 16×4 inputs with a temporal kernel of 5 for the
first conv layer ...; 2) the inputs are downsampled with a temporal stride of 2 after the
first conv layer". The network (paper profile, input (B, 3, 16, 224, 224)):

====== ==================================================== ==========================
stage  layers                                               output (C, T, H, W)
====== ==================================================== ==========================
stem   conv 5×7×7, 64, stride 1×2×2; max-pool 1×3×3,        (64, 8, 56, 56)
       stride 2×2×2 (the temporal stride 2 after conv1)
res2   [1×1×1 64, 1×3×3 64, 1×1×1 256] × 3                  (256, 8, 56, 56)
res3   [1×1×1 128, 1×3×3 128, 1×1×1 512] × 4                (512, 8, 28, 28)
res4   [3×1×1 256, 1×3×3 256, 1×1×1 1024] × 6               (1024, 8, 14, 14)
res5   [3×1×1 512, 1×3×3 512, 1×1×1 2048] × 3               (2048, 8, 7, 7)
pool   global average over T, H, W                          v_t: 2048
====== ==================================================== ==========================

As in the Slow pathway, the temporal kernel (3 in res4-res5) sits on the first 1×1 conv
of each bottleneck and the spatial stride on its 3×3 conv. The temporal stride 2 is a
max-pool with temporal kernel 1 (frame subsampling after the 5-frame conv1), so a clip of
T frames leaves the stem with ⌈T/2⌉ frames; CVRL's TF Model Garden config instead puts the
stride in conv1 (``stem_temporal_stride=2, temporal_pool_after_stem=1`` reproduces it;
same output shapes and parameter count). Parameters: 31,672,128 without a classifier (the
Slow-only R50's 31,634,496 plus 4×3×64×49 for the wider conv1), 32.49M with a 400-class head
(Slow-only R50 with that head: 32.45M).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from movierep import config
from movierep.models.heads import ClassifierHead

STAGE_NAMES = ("res2", "res3", "res4", "res5")


class Bottleneck(nn.Module):
    """3D bottleneck block: Tk×1×1 → 1×3×3 (spatial stride) → 1×1×1, plus the shortcut.

    Args:
        in_channels: channels C_in of the block input.
        inner_channels: width of the two inner convs.
        out_channels: channels C_out of the block output.
        temporal_kernel: temporal size Tk of the first conv (1 or 3 in Slow-D).
        spatial_stride: stride of the 3×3 conv (2 in the first block of res3-res5).

    Shape:
        (B, C_in, T, H, W) -> (B, C_out, T, H / stride, W / stride).
    """

    def __init__(
        self,
        in_channels: int,
        inner_channels: int,
        out_channels: int,
        *,
        temporal_kernel: int,
        spatial_stride: int,
    ) -> None:
        super().__init__()
        self.conv_a = nn.Conv3d(
            in_channels,
            inner_channels,
            kernel_size=(temporal_kernel, 1, 1),
            padding=(temporal_kernel // 2, 0, 0),
            bias=False,
        )
        self.bn_a = nn.BatchNorm3d(inner_channels)
        self.conv_b = nn.Conv3d(
            inner_channels,
            inner_channels,
            kernel_size=(1, 3, 3),
            stride=(1, spatial_stride, spatial_stride),
            padding=(0, 1, 1),
            bias=False,
        )
        self.bn_b = nn.BatchNorm3d(inner_channels)
        self.conv_c = nn.Conv3d(inner_channels, out_channels, kernel_size=1, bias=False)
        self.bn_c = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels or spatial_stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv3d(
                    in_channels,
                    out_channels,
                    kernel_size=1,
                    stride=(1, spatial_stride, spatial_stride),
                    bias=False,
                ),
                nn.BatchNorm3d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        """ReLU(F(x) + shortcut(x)); (B, C_in, T, H, W) -> (B, C_out, T, H', W')."""
        y = self.relu(self.bn_a(self.conv_a(x)))
        y = self.relu(self.bn_b(self.conv_b(y)))
        y = self.bn_c(self.conv_c(y))
        out: Tensor = self.relu(y + self.shortcut(x))
        return out


def frame_differences(x: Tensor) -> Tensor:
    """Differences of consecutive frames, the last one repeated to keep T.

    ``d_t = x_{t+1} - x_t`` for t < T-1 and ``d_{T-1} = d_{T-2}``: a still background
    cancels and what moves remains (TSN's RGB difference, Wang et al. 2016).

    Args:
        x: clips (B, C, T, H, W) with T >= 2.

    Returns:
        (B, C, T, H, W) differences.
    """
    if x.shape[2] < 2:
        raise ValueError(f"frame differences need at least 2 frames, got shape {tuple(x.shape)}")
    d = x[:, :, 1:] - x[:, :, :-1]
    return torch.cat([d, d[:, :, -1:]], dim=2)


@dataclass(frozen=True)
class SlowDConfig:
    """Slow-D's sizes; the defaults are the paper's network (see the module docstring).

    :data:`SLOW_D_TINY` keeps every mechanism at a width and depth that trains on a CPU.

    Attributes:
        in_channels: input channels C (3 for RGB, 2 for optical flow in
            :class:`~movierep.models.motion.MotionNet`).
        stem_width: channels of conv1 (64).
        stage_depths: bottleneck blocks in res2..res5 ((3, 4, 6, 3) for R50).
        stage_widths: output channels of res2..res5 ((256, 512, 1024, 2048)).
        bottleneck_ratio: output / inner width of a bottleneck (4).
        stem_temporal_kernel: temporal kernel of conv1 (5 in Slow-D, 1 in Slow-only).
        stem_temporal_stride: temporal stride of conv1 (1).
        temporal_pool_after_stem: temporal stride of the stem max-pool (2: "downsampled with
            a temporal stride of 2 after the first conv layer").
        temporal_kernels: temporal kernel of the first conv of each bottleneck in res2..res5
            ((1, 1, 3, 3), as in the Slow pathway).
        num_classes: if > 0, :meth:`SlowD.forward` returns logits of a dropout + linear
            classifier.
        dropout: dropout before the classifier (0.5, as in SlowFast).
        zero_init_residual: start each residual branch at zero (last BN γ = 0), so every
            block is the identity at initialisation (Goyal et al. 2017).
        input_difference: feed the network the differences of consecutive frames instead
            of the frames (TSN's "RGB difference" modality, Wang et al. ECCV 2016 §3.2), see
            :func:`frame_differences`. Off in the papers' Slow-D; an option for small
            budgets, where an RGB network memorises its training movies' appearance
            (``benchmarks/verb_upper_bound.py``).
    """

    in_channels: int = 3
    stem_width: int = 64
    stage_depths: tuple[int, ...] = (3, 4, 6, 3)
    stage_widths: tuple[int, ...] = (256, 512, 1024, 2048)
    bottleneck_ratio: int = 4
    stem_temporal_kernel: int = 5
    stem_temporal_stride: int = 1
    temporal_pool_after_stem: int = 2
    temporal_kernels: tuple[int, ...] = (1, 1, 3, 3)
    num_classes: int = 0
    dropout: float = 0.5
    zero_init_residual: bool = True
    input_difference: bool = False


#: The paper's Slow-D R50 (16×4 input, 2048-d output).
SLOW_D_R50 = SlowDConfig()

#: A CPU-sized Slow-D: one bottleneck per stage, widths (32, 64, 128, 256), conv1 of 8.
#: Every mechanism of the paper network is kept (5×7×7 conv1, temporal stride 2 after it,
#: temporal kernel 3 only in res4-res5, bottlenecks with projection shortcuts).
SLOW_D_TINY = SlowDConfig(stem_width=8, stage_depths=(1, 1, 1, 1), stage_widths=(32, 64, 128, 256))


class SlowD(nn.Module):
    """Slow-D 3D ResNet (Slow-only R50 with a 5×7×7 conv1 and temporal stride 2 after it).

    Args:
        cfg: the sizes (:class:`SlowDConfig`; its defaults are the paper's network).

    Attributes:
        cfg: the config it was built from.
        feature_dim: size D of the pooled clip feature (``stage_widths[-1]``).
    """

    def __init__(self, cfg: SlowDConfig = SLOW_D_R50) -> None:
        super().__init__()
        stage_depths, stage_widths = tuple(cfg.stage_depths), tuple(cfg.stage_widths)
        temporal_kernels = tuple(cfg.temporal_kernels)
        bottleneck_ratio, stem_width = cfg.bottleneck_ratio, cfg.stem_width
        if not len(stage_depths) == len(stage_widths) == len(temporal_kernels) == 4:
            raise ValueError("stage_depths, stage_widths and temporal_kernels need 4 entries each")
        if any(w % bottleneck_ratio for w in stage_widths):
            raise ValueError(f"stage_widths {stage_widths} must be multiples of {bottleneck_ratio}")
        self.cfg = cfg
        self.input_difference = cfg.input_difference
        self.feature_dim = stage_widths[-1]
        self.stem = nn.Sequential(
            nn.Conv3d(
                cfg.in_channels,
                stem_width,
                kernel_size=(cfg.stem_temporal_kernel, 7, 7),
                stride=(cfg.stem_temporal_stride, 2, 2),
                padding=(cfg.stem_temporal_kernel // 2, 3, 3),
                bias=False,
            ),
            nn.BatchNorm3d(stem_width),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(
                kernel_size=(1, 3, 3),
                stride=(cfg.temporal_pool_after_stem, 2, 2),
                padding=(0, 1, 1),
            ),
        )
        self.stages = nn.ModuleDict()
        in_width = stem_width
        for i, (name, depth, width, tk) in enumerate(
            zip(STAGE_NAMES, stage_depths, stage_widths, temporal_kernels, strict=True)
        ):
            blocks = [
                Bottleneck(
                    in_width if j == 0 else width,
                    width // bottleneck_ratio,
                    width,
                    temporal_kernel=tk,
                    spatial_stride=2 if (i > 0 and j == 0) else 1,
                )
                for j in range(depth)
            ]
            self.stages[name] = nn.Sequential(*blocks)
            in_width = width
        self.head: ClassifierHead | None = (
            ClassifierHead(self.feature_dim, cfg.num_classes, dropout=cfg.dropout)
            if cfg.num_classes > 0
            else None
        )
        self._init_weights(cfg.zero_init_residual)

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """:attr:`cfg` as plain JSON values: what ``config.json`` stores as ``model_kwargs``."""
        return config.to_dict(self.cfg)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """He (fan-out) init for convs, BN γ=1 β=0, and γ=0 on each block's last BN."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn_c.weight)

    def forward_features(self, x: Tensor) -> dict[str, Tensor]:
        """Feature maps after the stem and each residual stage.

        Args:
            x: clips (B, C, T, H, W), float, normalised.

        Returns:
            ``{"stem": (B, 64, T/2, H/4, W/4), "res2": (B, 256, T/2, H/4, W/4),
            "res3": (B, 512, T/2, H/8, W/8), "res4": (B, 1024, T/2, H/16, W/16),
            "res5": (B, 2048, T/2, H/32, W/32)}`` (paper widths; T/2 rounds up).
        """
        if x.dim() != 5:
            raise ValueError(f"SlowD expects clips (B, C, T, H, W), got shape {tuple(x.shape)}")
        x = frame_differences(x) if self.input_difference else x
        # Channels-last (NDHWC) input: the layout oneDNN's and cuDNN's fast 3D-conv kernels
        # work in. Same numbers; on 2 CPU cores conv1's weight gradient (3 -> 8 channels,
        # 5×7×7), most of the tiny profile's step, runs ~1.5-2x faster.
        out = {"stem": self.stem(x.contiguous(memory_format=torch.channels_last_3d))}
        y = out["stem"]
        for name, stage in self.stages.items():
            y = stage(y)
            out[name] = y
        return out

    def features(self, x: Tensor) -> Tensor:
        """Pooled clip feature v_t: global average of res5; (B, C, T, H, W) -> (B, D)."""
        res5 = self.forward_features(x)["res5"]
        return res5.mean(dim=(2, 3, 4))

    def forward(self, x: Tensor) -> Tensor:
        """Clip feature (B, D), or class logits (B, num_classes) when ``num_classes > 0``."""
        v = self.features(x)
        return v if self.head is None else self.head(v)


def slow_d_r50(**overrides: Any) -> SlowD:
    """The paper's Slow-D R50 (:data:`SLOW_D_R50`); ``overrides`` replace config fields."""
    return SlowD(config.override(SLOW_D_R50, overrides))


def slow_d_tiny(**overrides: Any) -> SlowD:
    """The CPU-sized Slow-D (:data:`SLOW_D_TINY`); ``overrides`` replace config fields."""
    return SlowD(config.override(SLOW_D_TINY, overrides))
