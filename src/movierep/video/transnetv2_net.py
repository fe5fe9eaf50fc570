"""TransNetV2 laid out for inference: channels-last convolutions and window-overlap reuse.

The same function as the package's ``TransNetV2.forward`` (weights copied from a loaded
package module), computed with less work:

- **Layout.** Activations stay channels-last (``(B, C, T, H, W)`` tensors whose memory is
  ``(B, T, H, W, C)``). Each (2+1)D branch's spatial 1×3×3 convolution runs as a 2D
  convolution over the ``B·T`` frames ``(B·T, C, H, W)`` and its temporal 3×1×1 one as a 2D
  convolution over ``(B, 2F, T, H·W)`` with a ``(3, 1)`` kernel; both are views of the same
  memory, so oneDNN/cuDNN run them without layout reorders. The first layer's 3-channel
  input, which the package sends to PyTorch's slow reference ``conv3d``, takes this path too.
- **Folding.** Each block's batch norm is folded into its temporal convolutions:
  ``γ (W * x − μ) / √(σ² + ε) + β = (s W) * x + (β − μ s)`` with ``s = γ / √(σ² + ε)``.
  The four branches write straight into one channels-last buffer (no ``torch.cat``), and
  ReLU, the residual add and the 2×2 average pooling run in place on that layout.
- **Only the kept outputs.** The classifier runs on the 50 frames each window keeps.
- **Window-overlap reuse.** Consecutive windows share 50 frames (window ``k`` covers padded
  frames ``[50k, 50k + 100)``). A spatial convolution is per frame, so its output at a
  shared frame is the same in both windows *unless* the zero padding at a window's edge has
  reached that frame's input. A block whose input has temporal receptive radius ``r``
  (``r = 8`` more per block: the largest dilation) sees the same input at window positions
  ``[r, 50 − r)`` as the previous window did at ``[50 + r, 100 − r)``; those frames' spatial
  outputs are carried over instead of recomputed. With ``r = 8, 16`` for the second and
  third blocks that skips 34% and 18% of their spatial convolutions (the second block's is
  the network's most expensive layer). The first block (``r = 0``) could skip half, but
  its 3-channel convolution costs less than copying the carried outputs in and out.
- **Flat memory.** What a window hands to the next (:class:`BlockState`) lives in buffers
  allocated on a video's first window and rewritten in place, so no allocation outlives
  its window. (Carrying fresh tensors instead let them pin holes in the C heap between the
  large activation buffers, and the peak memory crept up with the video's length.)

The outputs equal the package's up to float32 rounding (|Δlogit| ~1e-6: the summation
order of the folded and re-laid-out convolutions differs), so thresholded decisions and
cuts are the same except for a probability within ~1e-7 of the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

WINDOW = 100  # frames per network input
STEP = 50  # window stride; outputs [CONTEXT, CONTEXT + STEP) of every window are kept
CONTEXT = 25


@dataclass
class BlockState:
    """What one block keeps from a window for the next window of the same video (batch 1).

    Every buffer is allocated on the first window and rewritten in place afterwards, so a
    video's windows allocate nothing that outlives the window (the heap does not fragment
    as the video goes on).

    Attributes:
        out: The block's output buffer ``(1, T, H·W, 4F)``.
        carried: Per branch, the spatial outputs of the frames the next window can reuse,
            ``(50 − 2r, 2F, H, W)`` channels-last (empty for a block with nothing reusable).
        assembly: Where a window's spatial outputs are put together (computed + carried
            frames), ``(T, 2F, H, W)`` channels-last; ``None`` when nothing is reusable.
    """

    out: torch.Tensor
    carried: list[torch.Tensor]
    assembly: torch.Tensor | None


Carry = list[BlockState | None]  # per block, in network order


class FoldedDDCNN(nn.Module):
    """One dilated DCNN block: four (2+1)D branches (dilations 1, 2, 4, 8), batch norm folded.

    Args:
        block: The package's ``DilatedDCNNV2`` (weights are copied).
        input_radius: Temporal receptive radius of this block's input in a window: how far
            the window's zero padding has spread; sets which frames can be carried over.
        min_reuse: Carry over only when at least this many frames are reusable.

    Shapes: input ``(B, C, T, H, W)`` channels-last → output ``(B, 4F, T, H, W)``
    channels-last.
    """

    def __init__(self, block: nn.Module, input_radius: int, min_reuse: int = 8) -> None:
        super().__init__()
        package: Any = block  # the package's module is untyped
        branches = [package.Conv3D_1, package.Conv3D_2, package.Conv3D_4, package.Conv3D_8]
        bn = package.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        self.filters = int(branches[0].layers[1].out_channels)
        self.dilations = [int(b.layers[1].dilation[0]) for b in branches]
        spatial, temporal = [], []
        for i, branch in enumerate(branches):
            part = slice(i * self.filters, (i + 1) * self.filters)
            weight = branch.layers[0].weight[:, :, 0]  # (2F, C, 3, 3)
            spatial.append(weight.contiguous(memory_format=torch.channels_last))
            weight = branch.layers[1].weight[..., 0] * scale[part].view(-1, 1, 1, 1)  # F,2F,3,1
            temporal.append(weight.contiguous(memory_format=torch.channels_last))
        self.spatial = nn.ParameterList(_frozen(w) for w in spatial)
        self.temporal = nn.ParameterList(_frozen(w) for w in temporal)
        self.bias = nn.ParameterList(_frozen(b) for b in shift.split(self.filters))
        self.relu = package.activation is not None
        self.radius = input_radius
        # Carrying costs two copies of the reused outputs; it pays where the convolution it
        # skips is dearer: not for the first block's 3-channel input (measured on CPU).
        in_channels = int(branches[0].layers[0].in_channels)
        self.reusable = STEP - 2 * input_radius >= max(min_reuse, 1) and in_channels >= 16

    def forward(
        self, x: torch.Tensor, state: BlockState | None = None
    ) -> tuple[torch.Tensor, BlockState | None]:
        """Apply the block, reusing what ``state`` kept from the previous window.

        Args:
            x: ``(B, C, T, H, W)`` channels-last.
            state: What this block returned for the immediately preceding window of the same
                video, or ``None`` (first window, or not streaming).

        Returns:
            ``(y, state)``: ``y`` is ``(B, 4F, T, H, W)`` channels-last (for ``B = 1`` it lives
            in ``state.out`` and is overwritten by the next window's call); ``state`` is for
            the next window (``None`` unless ``B = 1`` and ``T = 100``).
        """
        B, C, T, H, W = x.shape
        frames = x.transpose(1, 2).reshape(B * T, C, H, W)  # a channels-last view, no copy
        streaming = B == 1 and T == WINDOW
        reuse = streaming and self.reusable and state is not None
        if streaming and state is None:  # first window: allocate what later windows reuse
            shape = (STEP - 2 * self.radius, 2 * self.filters, H, W)
            state = BlockState(
                out=x.new_empty(B, T, H * W, 4 * self.filters),
                carried=[_empty_like_frames(x, shape) for _ in self.spatial]
                if self.reusable
                else [],
                assembly=_empty_like_frames(x, (T, 2 * self.filters, H, W))
                if self.reusable
                else None,
            )
        out = state.out if state is not None else x.new_empty(B, T, H * W, 4 * self.filters)
        r = self.radius
        for i, (spatial, temporal, bias, d) in enumerate(
            zip(self.spatial, self.temporal, self.bias, self.dilations, strict=True)
        ):
            if reuse:  # compute only the frames the padding may have changed
                assert state is not None and state.assembly is not None
                s = state.assembly
                if r:
                    s[:r] = F.conv2d(frames[:r], spatial, padding=1)
                s[r : STEP - r] = state.carried[i]
                s[STEP - r :] = F.conv2d(frames[STEP - r :], spatial, padding=1)
            else:
                s = F.conv2d(frames, spatial, padding=1)  # (B·T, 2F, H, W) channels-last
            if streaming and self.reusable:
                assert state is not None
                state.carried[i].copy_(s[STEP + r : WINDOW - r])  # for the next window
            s2 = s.reshape(B, T, -1, H * W).transpose(1, 2)  # (B, 2F, T, H·W) channels-last
            y = F.conv2d(s2, temporal, bias, dilation=(d, 1), padding=(d, 0))  # (B, F, T, H·W)
            out[..., i * self.filters : (i + 1) * self.filters] = y.permute(0, 2, 3, 1)
        if self.relu:
            out.relu_()
        return out.view(B, T, H, W, -1).permute(0, 4, 1, 2, 3), state


class FastTransNetV2(nn.Module):
    """TransNetV2's single-frame head, from a loaded package module, for windowed inference.

    Args:
        package_model: The package's ``TransNetV2`` with its weights loaded.

    Call with uint8 windows ``(B, 100, 27, 48, 3)`` and the previous call's carry; returns
    the single-frame logits of the kept frames ``(B, 50)`` and the carry for the next window.
    """

    def __init__(self, package_model: nn.Module) -> None:
        super().__init__()
        package: Any = package_model
        radius = 0
        blocks: list[FoldedDDCNN] = []
        self.stack_sizes: list[int] = []
        for stack in package.SDDCNN:
            for block in stack.DDCNN:
                folded = FoldedDDCNN(block, radius)
                blocks.append(folded)
                radius += max(folded.dilations)  # each block widens it by its largest dilation
            self.stack_sizes.append(len(stack.DDCNN))
        self.blocks = nn.ModuleList(blocks)
        self.frame_similarity = package.frame_sim_layer
        self.color_histograms = package.color_hist_layer
        self.fc1 = package.fc1
        self.classifier = package.cls_layer1

    def forward(
        self, windows: torch.Tensor, carry: Carry | None = None
    ) -> tuple[torch.Tensor, Carry]:
        """Logits ``(B, 50)`` of frames ``[25, 75)`` of each window, and the next carry.

        Args:
            windows: ``(B, 100, 27, 48, 3)`` uint8 RGB.
            carry: What the call on the immediately preceding window returned, else ``None``.
        """
        x = windows.float().div_(255.0).permute(0, 4, 1, 2, 3)  # (B, 3, T, H, W) channels-last
        carried: Carry = list(carry) if carry is not None else [None] * len(self.blocks)
        next_carry: Carry = []
        stack_outputs = []
        for size in self.stack_sizes:
            shortcut: torch.Tensor | None = None
            for _ in range(size):
                index = len(next_carry)
                x, kept = self.blocks[index](x, carried[index])
                next_carry.append(kept)
                if shortcut is None:
                    shortcut = x
            assert shortcut is not None
            x = x.relu_().add_(shortcut)  # the stack's residual connection
            B, C, T, H, W = x.shape
            pooled = F.avg_pool2d(x.transpose(1, 2).reshape(B * T, C, H, W), 2)
            x = pooled.reshape(B, T, C, H // 2, W // 2).transpose(1, 2)
            stack_outputs.append(x)
        B, T = x.shape[0], x.shape[2]
        keep = slice(CONTEXT, CONTEXT + STEP)
        features = torch.cat(
            [
                self.color_histograms(windows)[:, keep],
                self.frame_similarity(stack_outputs)[:, keep],
                x.permute(0, 2, 3, 4, 1).reshape(B, T, -1)[:, keep],
            ],
            dim=2,
        )
        logits = self.classifier(F.relu(self.fc1(features)))  # (B, 50, 1)
        return logits[..., 0], next_carry


def _empty_like_frames(x: torch.Tensor, shape: tuple[int, int, int, int]) -> torch.Tensor:
    return torch.empty(shape, dtype=x.dtype, device=x.device, memory_format=torch.channels_last)


def _frozen(tensor: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(tensor.detach().clone(), requires_grad=False)
