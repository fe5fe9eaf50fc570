"""MoDist's motion pathway: a 3D ResNet on optical flow that teaches the visual backbone motion.

Xiao, Tighe and Modolo, "MoDist: Motion Distillation for Self-supervised Video
Representation Learning" (2021; later titled MaCLR): a Motion pathway reads optical flow
and a Visual pathway reads RGB; cross-modal contrastive terms between the two distil
motion cues into the visual representation (:func:`movierep.losses.modist.modist_loss`).
Only the visual pathway is kept after pretraining.

The motion pathway here is a :class:`~movierep.models.slow_d.SlowD` trunk with 2 input
channels (the horizontal and vertical flow, u and v), so it has the same stage structure
as the visual backbone and every width/depth can be shrunk for CPU runs. Its defaults are
the authors' flow network (amazon-science/self-supervised-maclr): the R50 depths at 1/8
of the visual pathway's width, stem 8 and stages (32, 64, 128, 256), a 256-d feature.
Flow arrives in pixels per frame and is clipped to ±``flow_clip`` and divided by it, the
usual two-stream normalisation to [-1, 1] (Simonyan & Zisserman 2014; TSN uses a bound
of 20).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from movierep import config
from movierep.models.camera_motion import remove_camera_motion
from movierep.models.slow_d import SLOW_D_TINY, SlowD, SlowDConfig


@dataclass(frozen=True)
class MotionNetConfig:
    """The motion pathway's sizes; defaults are the authors' flow network (see the module).

    The trunk's fields are :class:`~movierep.models.slow_d.SlowDConfig`'s; those the motion
    pathway does not change (all but the input channels and the 1/8 widths) take their
    defaults from it.

    Attributes:
        in_channels: flow channels (2: u, v).
        stem_width, stage_depths, stage_widths, bottleneck_ratio, stem_temporal_kernel,
            stem_temporal_stride, temporal_pool_after_stem, temporal_kernels,
            zero_init_residual: as in :class:`~movierep.models.slow_d.SlowDConfig`.
        flow_clip: flow magnitude (pixels/frame) mapped to ±1; larger values are clipped.
        camera_compensation: remove each frame pair's affine camera motion from the flow
            before anything else (:mod:`movierep.models.camera_motion`), so the pathway
            sees the actors' motion rather than the camera's.
    """

    in_channels: int = 2
    stem_width: int = 8
    stage_depths: tuple[int, ...] = SlowDConfig.stage_depths
    stage_widths: tuple[int, ...] = (32, 64, 128, 256)
    bottleneck_ratio: int = SlowDConfig.bottleneck_ratio
    stem_temporal_kernel: int = SlowDConfig.stem_temporal_kernel
    stem_temporal_stride: int = SlowDConfig.stem_temporal_stride
    temporal_pool_after_stem: int = SlowDConfig.temporal_pool_after_stem
    temporal_kernels: tuple[int, ...] = SlowDConfig.temporal_kernels
    zero_init_residual: bool = SlowDConfig.zero_init_residual
    flow_clip: float = 20.0
    camera_compensation: bool = False


#: A CPU-sized motion pathway with the widths and depths of
#: :data:`~movierep.models.slow_d.SLOW_D_TINY`.
MOTION_NET_TINY = MotionNetConfig(stage_depths=SLOW_D_TINY.stage_depths)


class MotionNet(nn.Module):
    """Motion pathway: optical-flow clip (B, 2, T, H, W) -> motion feature (B, D).

    Args:
        cfg: the sizes and flow handling (:class:`MotionNetConfig`).

    Attributes:
        cfg: the config it was built from.
        feature_dim: size D of the output (``stage_widths[-1]``).
    """

    def __init__(self, cfg: MotionNetConfig = MotionNetConfig()) -> None:
        super().__init__()
        if cfg.flow_clip <= 0:
            raise ValueError(f"flow_clip must be positive, got {cfg.flow_clip}")
        self.cfg = cfg
        self.flow_clip = cfg.flow_clip
        self.camera_compensation = cfg.camera_compensation
        self.trunk = SlowD(
            SlowDConfig(
                in_channels=cfg.in_channels,
                stem_width=cfg.stem_width,
                stage_depths=cfg.stage_depths,
                stage_widths=cfg.stage_widths,
                bottleneck_ratio=cfg.bottleneck_ratio,
                stem_temporal_kernel=cfg.stem_temporal_kernel,
                stem_temporal_stride=cfg.stem_temporal_stride,
                temporal_pool_after_stem=cfg.temporal_pool_after_stem,
                temporal_kernels=cfg.temporal_kernels,
                zero_init_residual=cfg.zero_init_residual,
            )
        )
        self.feature_dim = self.trunk.feature_dim

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """:attr:`cfg` as plain JSON values: what ``config.json`` stores as ``model_kwargs``."""
        return config.to_dict(self.cfg)

    def normalize_flow(self, flow: Tensor) -> Tensor:
        """Map flow in pixels/frame to [-1, 1]: clamp(flow, ±c) / c, same shape."""
        return flow.float().clamp(-self.flow_clip, self.flow_clip) / self.flow_clip

    def forward(self, flow: Tensor) -> Tensor:
        """Pooled motion feature of a flow clip.

        Args:
            flow: optical flow (B, 2, T, H, W) in pixels per frame (channel 0: u = dx,
                channel 1: v = dy), e.g. from :func:`movierep.video.flow.compute_flow`.

        Returns:
            Motion features m (B, D).
        """
        if flow.dim() != 5:
            raise ValueError(f"MotionNet expects flow (B, 2, T, H, W), got {tuple(flow.shape)}")
        if self.camera_compensation:
            flow = remove_camera_motion(flow)
        return self.trunk.features(self.normalize_flow(flow))


def motion_net_tiny(**overrides: Any) -> MotionNet:
    """The CPU-sized motion pathway (:data:`MOTION_NET_TINY`); ``overrides`` replace fields."""
    return MotionNet(config.override(MOTION_NET_TINY, overrides))
