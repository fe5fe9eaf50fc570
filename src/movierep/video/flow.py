"""Optical flow for MoDist's motion pathway: OpenCV DIS or Farneback, cached on disk.

MoDist (Xiao, Tighe and Modolo 2021) feeds a motion network with optical flow computed
offline from the training clips. We use classical CPU flow from OpenCV, fast enough to
compute on the fly and cache: DIS (Kroeger et al. 2016, "Fast Optical Flow using Dense
Inverse Search", ``cv2.DISOpticalFlow.create``, MEDIUM preset) by default, its FAST and
ULTRAFAST presets (``dis-fast``, ``dis-ultrafast``: 3x and 9x faster at 128×72, coarser
refinement), or Farneback (2003, ``cv2.calcOpticalFlowFarneback``). Flow is in pixels
per frame with the OpenCV convention: ``flow[t, y, x] = (u, v)`` means the pixel at
(x, y) of frame t moves to (x + u, y + v) in frame t + 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from movierep.files import atomic_path

if TYPE_CHECKING:
    from movierep.video.frame_cache import CachedVideo

FLOW_METHODS = ("dis", "dis-fast", "dis-ultrafast", "farneback")
_DIS_PRESETS = {
    "dis": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    "dis-fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "dis-ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
}
# OpenCV allocates the output when given None; DIS would use a passed array as initial flow.
NO_INITIAL_FLOW: Any = None


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def compute_flow(frames: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense optical flow between consecutive frames.

    Args:
        frames: RGB frames (T, H, W, 3) uint8, T >= 2.
        method: one of :data:`FLOW_METHODS` (``"dis"``: OpenCV DIS, MEDIUM preset).

    Returns:
        Flow (T-1, H, W, 2) float16 in pixels: ``[..., 0]`` = u (dx), ``[..., 1]`` = v (dy),
        from frame t to frame t+1.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if frames.shape[0] < 2:
        raise ValueError(f"optical flow needs at least 2 frames, got {frames.shape[0]}")
    pair = _pair_flow(method)
    gray = [_gray(f) for f in frames]
    flow = np.stack([pair(gray[t], gray[t + 1]) for t in range(len(gray) - 1)])
    return flow.astype(np.float16)


def _pair_flow(method: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``(gray_a, gray_b) -> (H, W, 2)`` flow from a to b with the named OpenCV method."""
    if method in _DIS_PRESETS:
        dis = cv2.DISOpticalFlow.create(_DIS_PRESETS[method])

        def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.asarray(dis.calc(a, b, NO_INITIAL_FLOW))

        return pair
    if method == "farneback":

        def farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            # pyramid scale 0.5, 3 levels, window 15, 3 iterations, poly_n 5, poly_sigma 1.2
            flow = cv2.calcOpticalFlowFarneback(a, b, NO_INITIAL_FLOW, 0.5, 3, 15, 3, 5, 1.2, 0)
            return np.asarray(flow)

        return farneback
    raise ValueError(f"unknown flow method {method!r}; known: {FLOW_METHODS}")


def strided_flow(frames: np.ndarray, stride: int, method: str = "dis") -> np.ndarray:
    """Flow from every frame to the frame ``stride`` later (the last frame: to itself).

    The flow of a clip of frames ``i, i + s, i + 2s, ...`` (MoDist's motion input) is then
    rows ``i, i + s, ...`` of this array, so a video's flow is computed once for every
    clip any epoch draws from it (:func:`video_flow`).

    Args:
        frames: (N, H, W, 3) uint8 frames of one video.
        stride: s, source frames between a clip's consecutive frames.
        method: ``"dis"`` or ``"farneback"``.

    Returns:
        (N, H, W, 2) float16: row i is the flow from frame i to frame min(i + s, N − 1).
    """
    if stride < 1:
        raise ValueError(f"stride must be positive, got {stride}")
    pair = _pair_flow(method)
    gray = [_gray(f) for f in frames]
    last = len(gray) - 1
    out = np.empty((len(gray), *gray[0].shape, 2), np.float16)
    for i in range(len(gray)):
        out[i] = pair(gray[i], gray[min(i + stride, last)])
    return out


def video_flow(video: CachedVideo, stride: int, method: str = "dis") -> np.ndarray:
    """:func:`strided_flow` of a cached video, computed once and kept in its cache entry.

    Returns:
        (N, H, W, 2) float16 memory map (see :func:`strided_flow`).
    """
    return video.derived(
        "flow",
        lambda v: strided_flow(np.asarray(v.frames), stride, method),
        {"stride": stride, "method": method},
    )


class FlowCache:
    """Disk cache of optical flow, one ``.npy`` file (float16) per clip key.

    A key is any hashable value that identifies the frames exactly, e.g.
    ``(movie_id, start_time, num_frames, stride, size)``; its ``repr`` (with the flow
    method) is hashed into the file name, so keys must have a stable ``repr`` (str, int,
    float, tuples of them). Files are written atomically (temporary file + ``os.replace``),
    so concurrent data-loader workers never read a partial file.

    Args:
        root: cache folder (created if missing).
        method: flow method passed to :func:`compute_flow`.

    Attributes:
        hits: number of lookups served from disk.
        misses: number of lookups that computed flow.
    """

    def __init__(self, root: Path, method: str = "dis") -> None:
        if method not in FLOW_METHODS:
            raise ValueError(f"unknown flow method {method!r}; known: {FLOW_METHODS}")
        self.root = Path(root)
        self.method = method
        self.hits = 0
        self.misses = 0

    def path(self, key: Hashable) -> Path:
        """File that holds the flow of ``key``: ``root/<2 hex>/<sha1>.npy``."""
        digest = hashlib.sha1(repr((self.method, key)).encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.npy"

    def get_or_compute(self, key: Hashable, frames_fn: Callable[[], np.ndarray]) -> np.ndarray:
        """Return the cached flow of ``key``, computing and storing it on a miss.

        Args:
            key: identifies the frames (see the class docstring).
            frames_fn: called only on a miss; returns the clip's frames (T, H, W, 3) uint8.

        Returns:
            Flow (T-1, H, W, 2) float16.
        """
        path = self.path(key)
        if path.exists():
            self.hits += 1
            cached: np.ndarray = np.load(path)
            return cached
        self.misses += 1
        flow = compute_flow(frames_fn(), method=self.method)
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.save(f, flow)
        return flow
