"""Event features of MoDist's motion pathway: what the flow network itself learned.

MoDist keeps only the visual pathway, but whether distillation can teach it motion
depends on what the motion pathway knows. These features let the event probes
(:mod:`movierep.tasks.diagnostics.event_probes`) score the motion pathway on verbs beside the visual
backbone, on the same events: each event's clip (the centred clip of the pathway's
training shape) becomes optical flow between its consecutive frames (the same method as
in training), the centre square crop at the training crop size, with camera motion
removed when the pathway was trained so (:mod:`movierep.models.camera_motion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from movierep import dist
from movierep.checkpoint import OBJECTIVE, read_config
from movierep.errors import UserError
from movierep.features.extract import ClipSpec, clip_spec_from_checkpoint, extract_event_features
from movierep.jobs import JobReport
from movierep.models import create_model
from movierep.video.flow import compute_flow
from movierep.video.frame_cache import frame_cache_from


@dataclass(frozen=True)
class MotionPathway:
    """A trained motion pathway and how its flow was made.

    Attributes:
        net: the motion pathway (query encoder), flow (B, 2, T, H, W) -> (B, D), eval mode
            (it removes camera motion itself when trained so).
        flow_method: the optical flow it was trained on.
        crop_size: side of the square flow crops it saw (``data.crop_size``).
        num_frames, frame_stride: the clip shape (T frames give T − 1 flow fields).
    """

    net: nn.Module
    flow_method: str
    crop_size: int
    num_frames: int
    frame_stride: int


def load_motion_pathway(ckpt: str | Path) -> MotionPathway:
    """The motion pathway of a MoDist checkpoint (kept in its ``objective.safetensors``).

    Only the visual backbone is exported as the checkpoint's model; the motion pathway is
    read back from the saved objective (``motion.*`` weights), built as its run config's
    ``modist`` section says.

    Raises:
        UserError: the checkpoint is not a MoDist run or has no saved objective.
    """
    run_config = read_config(ckpt).get("run_config", {})
    if run_config.get("method") != "modist" or not (Path(ckpt) / OBJECTIVE).is_file():
        raise UserError(f"{ckpt}: not a MoDist checkpoint with its objective saved")
    m, spec = run_config.get("modist", {}), clip_spec_from_checkpoint(ckpt)
    net = create_model(
        m.get("motion_arch", "motion_net"),
        camera_compensation=bool(m.get("camera_compensation", False)),
    )
    state = load_file(str(Path(ckpt) / OBJECTIVE))
    prefix = "motion."
    net.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    return MotionPathway(
        net=net.eval(),
        flow_method=str(m.get("flow_method", "dis")),
        crop_size=spec.crop_size,
        num_frames=spec.num_frames,
        frame_stride=spec.frame_stride,
    )


def flow_input(clip: np.ndarray, *, size: int, method: str) -> torch.Tensor:
    """A decoded clip as a motion pathway's input.

    Args:
        clip: (T, H, W, 3) uint8 frames (already at the clip's frame stride).
        size: side of the centre square crop after resizing the short side to it.
        method: optical-flow method (:data:`movierep.video.flow.FLOW_METHODS`).

    Returns:
        (2, T − 1, size, size) float32 flow in crop pixels per clip frame.
    """
    flow = torch.from_numpy(compute_flow(clip, method).astype(np.float32))  # (T-1, H, W, 2)
    h, w = flow.shape[1:3]
    scale = size / min(h, w)
    rh, rw = max(size, round(h * scale)), max(size, round(w * scale))
    x = flow.permute(0, 3, 1, 2)  # (T-1, 2, H, W)
    x = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
    x = x * x.new_tensor([rw / w, rh / h]).view(1, 2, 1, 1)
    top, left = (rh - size) // 2, (rw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    return x.transpose(0, 1).contiguous()


def extract_motion_features(
    ckpt: str | Path,
    events: pa.Table,
    out: str | Path,
    *,
    source: str | Path = "events",
    batch_size: int = 16,
    device: str = "auto",
    frame_cache: str = "auto",
    show_progress: bool = True,
) -> JobReport:
    """Motion-pathway features of every event (resumable, like the backbone's extraction).

    Args:
        ckpt: a MoDist checkpoint (``movierep train backbone --method modist``).
        events: an events table (``movie_id, event_index, start_time, end_time, video_path``).
        out: the features Parquet file.
        source: name of the events' origin, for error messages.
        batch_size: clips per forward pass.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (as for backbone extraction).
        frame_cache: ``auto``, ``decode`` or a cache folder (as for backbone extraction).
        show_progress: show a progress bar.

    Returns:
        The extraction's job report.
    """
    pathway = load_motion_pathway(ckpt)
    spec = ClipSpec(pathway.num_frames, pathway.frame_stride, pathway.crop_size)
    transform = partial(flow_input, size=pathway.crop_size, method=pathway.flow_method)
    return extract_event_features(
        pathway.net,
        events,
        out,
        spec,
        batch_size=batch_size,
        device=dist.device(device),
        source=source,
        show_progress=show_progress,
        frame_cache=frame_cache_from(frame_cache),
        transform=transform,
    )
