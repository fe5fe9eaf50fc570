"""PySceneDetect's content and adaptive detectors fed with PyAV frames: the fast shot option.

Followed: PySceneDetect 0.7 (``ContentDetector``: the frame score is the mean absolute
difference of hue, saturation and value between consecutive frames, a cut fires when it
reaches ``threshold`` = 27 and at least ``min_scene_len`` = 15 frames have passed;
``AdaptiveDetector``: the score divided by the mean score of ±``window_width`` neighbours
must reach ``adaptive_threshold`` = 3 and the score ``min_content_val`` = 15). We call the
detectors' ``process_frame`` directly with frames decoded at PySceneDetect's own working
width (256 px, its ``SceneManager`` auto-downscale target), so there is no OpenCV decoding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

SceneDetectKind = Literal["content", "adaptive"]
WORK_WIDTH = 256  # PySceneDetect's auto-downscale target width


def working_size(width: int, height: int) -> tuple[int, int]:
    """Frame size ``(W, H)`` PySceneDetect works at: width 256, aspect kept, even height."""
    if width <= WORK_WIDTH:
        return width, height
    return WORK_WIDTH, max(2, round(height * WORK_WIDTH / width / 2) * 2)


def scenedetect_cuts(
    frames: Iterable[np.ndarray],
    fps: float,
    kind: SceneDetectKind = "content",
    threshold: float | None = None,
    min_scene_len: int = 15,
) -> list[tuple[int, float]]:
    """Run a PySceneDetect detector over RGB frames.

    Args:
        frames: Frames ``(H, W, 3)`` uint8 RGB in order.
        fps: Frame rate (used for the detector's timecodes).
        kind: ``"content"`` (fixed threshold) or ``"adaptive"`` (rolling average).
        threshold: ``threshold`` of the content detector, ``adaptive_threshold`` of the
            adaptive one; ``None`` takes PySceneDetect's default (27 / 3).
        min_scene_len: Shortest shot in frames.

    Returns:
        ``(first_frame_of_new_shot, score)`` per cut, where ``score`` is the content
        detector's frame score at the cut (mean HSV change, 0..255) divided by 255.
    """
    from scenedetect import AdaptiveDetector, ContentDetector
    from scenedetect.common import FrameTimecode

    detector: ContentDetector
    if kind == "content":
        detector = ContentDetector(
            threshold=27.0 if threshold is None else threshold, min_scene_len=min_scene_len
        )
    elif kind == "adaptive":
        detector = AdaptiveDetector(
            adaptive_threshold=3.0 if threshold is None else threshold,
            min_scene_len=min_scene_len,
        )
    else:
        raise ValueError(f"unknown PySceneDetect detector {kind!r} (content, adaptive)")
    scores: list[float] = []
    cut_frames: list[int] = []
    index = -1
    for index, rgb in enumerate(frames):
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        found = detector.process_frame(FrameTimecode(index, fps=fps), bgr)
        # The detectors keep the last frame score privately; 0 when unavailable.
        scores.append(float(getattr(detector, "_frame_score", 0.0) or 0.0))
        cut_frames.extend(int(cut.frame_num) for cut in found)
    if index >= 0:
        end = FrameTimecode(index, fps=fps)
        cut_frames.extend(int(cut.frame_num) for cut in detector.post_process(end))
    n = index + 1
    return [(c, scores[c] / 255.0) for c in sorted(set(cut_frames)) if 0 < c < n]
