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

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from movierep.models.camera_motion import remove_camera_motion
from movierep.models.slow_d import SlowD


class MotionNet(nn.Module):
    """Motion pathway: optical-flow clip (B, 2, T, H, W) -> motion feature (B, D).

    Args:
        in_channels: flow channels (2: u, v).
        stem_width, stage_depths, stage_widths, bottleneck_ratio, stem_temporal_kernel,
            stem_temporal_stride, temporal_pool_after_stem, temporal_kernels,
            zero_init_residual: as in :class:`~movierep.models.slow_d.SlowD`.
        flow_clip: flow magnitude (pixels/frame) mapped to ±1; larger values are clipped.
        camera_compensation: remove each frame pair's affine camera motion from the flow
            before anything else (:mod:`movierep.models.camera_motion`), so the pathway
            sees the actors' motion rather than the camera's.

    Attributes:
        feature_dim: size D of the output (``stage_widths[-1]``).
        model_kwargs: the constructor arguments, JSON-ready.
    """

    def __init__(
        self,
        *,
        in_channels: int = 2,
        stem_width: int = 8,
        stage_depths: Sequence[int] = (3, 4, 6, 3),
        stage_widths: Sequence[int] = (32, 64, 128, 256),
        bottleneck_ratio: int = 4,
        stem_temporal_kernel: int = 5,
        stem_temporal_stride: int = 1,
        temporal_pool_after_stem: int = 2,
        temporal_kernels: Sequence[int] = (1, 1, 3, 3),
        zero_init_residual: bool = True,
        flow_clip: float = 20.0,
        camera_compensation: bool = False,
    ) -> None:
        super().__init__()
        if flow_clip <= 0:
            raise ValueError(f"flow_clip must be positive, got {flow_clip}")
        self.flow_clip = flow_clip
        self.camera_compensation = camera_compensation
        self.trunk = SlowD(
            in_channels=in_channels,
            stem_width=stem_width,
            stage_depths=stage_depths,
            stage_widths=stage_widths,
            bottleneck_ratio=bottleneck_ratio,
            stem_temporal_kernel=stem_temporal_kernel,
            stem_temporal_stride=stem_temporal_stride,
            temporal_pool_after_stem=temporal_pool_after_stem,
            temporal_kernels=temporal_kernels,
            zero_init_residual=zero_init_residual,
        )
        self.feature_dim = self.trunk.feature_dim
        kwargs = {
            k: v for k, v in self.trunk.model_kwargs.items() if k not in ("num_classes", "dropout")
        }
        self.model_kwargs: dict[str, Any] = {
            **kwargs,
            "flow_clip": flow_clip,
            "camera_compensation": camera_compensation,
        }

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


def motion_net_tiny(**kwargs: Any) -> MotionNet:
    """A CPU-sized motion pathway with the widths of :func:`~movierep.models.slow_d.slow_d_tiny`."""
    defaults: dict[str, Any] = {
        "stem_width": 8,
        "stage_depths": (1, 1, 1, 1),
        "stage_widths": (32, 64, 128, 256),
    }
    return MotionNet(**{**defaults, **kwargs})
