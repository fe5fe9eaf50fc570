"""Event features of MoDist's motion pathway: what the flow network itself learned.

MoDist keeps only the visual pathway, but whether distillation can teach it motion
depends on what the motion pathway knows. These features let the event probes
(:mod:`movierep.tasks.event_probes`) score the motion pathway on verbs beside the visual
backbone, on the same events: each event's clip (the centred clip of the pathway's
training shape) becomes optical flow between its consecutive frames (the same method as
in training), the centre square crop at the training crop size, with camera motion
removed when the pathway was trained so (:mod:`movierep.video.camera_motion`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F

from movierep.features.extract import ClipSpec, extract_event_features
from movierep.jobs import JobReport
from movierep.pretrain.modist import MotionPathway, load_motion_pathway
from movierep.video.camera_motion import remove_camera_motion
from movierep.video.flow import compute_flow
from movierep.video.frame_cache import frame_cache_from


def flow_input(
    clip: np.ndarray, *, size: int, method: str, camera_compensation: bool
) -> torch.Tensor:
    """A decoded clip as a motion pathway's input.

    Args:
        clip: (T, H, W, 3) uint8 frames (already at the clip's frame stride).
        size: side of the centre square crop after resizing the short side to it.
        method: optical-flow method (:data:`movierep.video.flow.FLOW_METHODS`).
        camera_compensation: remove each frame pair's affine camera motion.

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
    if camera_compensation:
        x = remove_camera_motion(x)
    return x.transpose(0, 1).contiguous()


def extract_motion_features(
    ckpt: str | Path,
    events: pa.Table,
    out: str | Path,
    *,
    source: str | Path = "events",
    batch_size: int = 16,
    device: str = "cpu",
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
        device: where the pathway runs.
        frame_cache: ``auto``, ``decode`` or a cache folder (as for backbone extraction).
        show_progress: show a progress bar.

    Returns:
        The extraction's job report.
    """
    pathway: MotionPathway = load_motion_pathway(ckpt)
    spec = ClipSpec(pathway.num_frames, pathway.frame_stride, pathway.crop_size)
    transform = partial(
        flow_input,
        size=pathway.crop_size,
        method=pathway.flow_method,
        camera_compensation=pathway.camera_compensation,
    )
    return extract_event_features(
        pathway.net,
        events,
        out,
        spec,
        batch_size=batch_size,
        device=device,
        source=source,
        show_progress=show_progress,
        frame_cache=frame_cache_from(frame_cache),
        transform=transform,
    )
