"""ViT: CLIP's image encoder as the Movies2Scenes scene encoder, for images, shots and scenes.

Chen et al., "Movies2Scenes: Using Movie Metadata to Learn Scene Representation" (CVPR
2023), §3.2.1: "for the input of a scene with n shots, we first divide it into a sequence of
(n·k, w/p, h/p, c) patches. After convolution and flattening, we get (D, N·n·k) dimensional
patch embeddings. Notice that this is different from the dimension of a frame, and does not
match with the dimension of position embeddings. Inspired by [12] where they mentioned that
pre-trained position embeddings can be interpolated to fine-tune input of higher
resolutions, we propose to generalize this property from frame to shot and scene. That is,
we interpolate the N-dimensional position embeddings to N·n·k, excluding the 1-dimension
corresponding to class token, and add the interpolated position embeddings to patch
embeddings before providing them to MSA layers." The two advantages it names: "Our proposed
way to apply 2-D interpolation to position embeddings allows us to scale them from single
frame to shots and scenes, and enables us to readily adopt powerful models [38] pre-trained
on large image datasets" and "Using 2-D interpolation to the position embeddings of our
encoder allows it to take variable-length shot-sequences as inputs". §4: "use the ViT [12]
from pre-trained CLIP [38] as our scene encoder".

So one network takes a single image (F = 1), a k-frame shot or an n-shot scene
(F = n·k frames): every frame is cut into N = (H/p)·(W/p) patches, the F·N patch tokens and
one class token go through the transformer, and the class token's output is the embedding.

**Reading of "2-D interpolation"** (the paper gives no formula): the N patch position
embeddings are viewed as their (H/p, W/p) grid and resized bicubically to (F·H/p, W/p), as
if the F frames, in time order, were stacked top to bottom into one tall image; frame f's
tokens take rows f·H/p..(f+1)·H/p of that grid (:meth:`ViT.interpolate_positions`). F = 1
uses the pre-trained embeddings unchanged, so an image or a single frame gets exactly CLIP's
output.

The parameter names are exactly those of OpenAI CLIP's ``VisionTransformer``, so the
``visual.*`` weights of a CLIP release load with ``load_state_dict(strict=True)``
(:func:`load_clip_visual`). The paper profile, CLIP ViT-B/16 (:func:`vit_b16`), input
(B, 3, 224, 224) or (B, F, 3, 224, 224):

=========== ============================================== ===================
part        layers                                         output
=========== ============================================== ===================
conv1       conv 16×16, 768, stride 16, no bias            (B·F, 768, 14, 14)
tokens      flatten; [class] + F·196 patches               (B, 1 + F·196, 768)
positions   + [pos_cls, interpolate(pos_patches, F)]       (B, 1 + F·196, 768)
ln_pre      LayerNorm                                      (B, 1 + F·196, 768)
transformer 12 × pre-LN [MSA 12 heads; MLP 3072 QuickGELU] (B, 1 + F·196, 768)
ln_post     LayerNorm of the class token                   (B, 768)
proj        768 × 512, no bias                             (B, 512)
=========== ============================================== ===================

Parameters: 86,192,640 for ViT-B/16 (CLIP's visual tower, "~86M"); 1,982,592 for the CPU
preset :func:`vit_tiny` (64×112 input, width 192, 4 layers).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep import config
from movierep.errors import UserError

CLIP_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
"""CLIP's per-channel RGB normalisation mean (pixels in [0, 1])."""
CLIP_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
"""CLIP's per-channel RGB normalisation standard deviation."""


def clip_preprocess_constants() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """CLIP's input normalisation, ``(mean, std)`` per RGB channel for pixels in [0, 1]."""
    return CLIP_MEAN, CLIP_STD


class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 and cast back (CLIP's, so fp16 weights stay stable)."""

    def forward(self, x: Tensor) -> Tensor:
        """(..., D) -> (..., D) in the input's dtype."""
        out = F.layer_norm(
            x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps
        )
        return out.to(x.dtype)


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x · sigmoid(1.702 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        """Elementwise; any shape."""
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """CLIP's pre-LN transformer block: ``x + MSA(ln_1(x))``, then ``x + MLP(ln_2(x))``.

    Args:
        width: token width D.
        heads: attention heads.
        mlp_ratio: MLP hidden width as a multiple of D (``ViTConfig.mlp_ratio``).

    Shape:
        (B, L, D) -> (B, L, D) (batch first; CLIP runs sequence first with the same
        parameter names).
    """

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, hidden)),
                    ("gelu", QuickGELU()),
                    ("c_proj", nn.Linear(hidden, width)),
                ]
            )
        )
        self.ln_2 = LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, L, D)."""
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        out: Tensor = x + self.mlp(self.ln_2(x))
        return out


class Transformer(nn.Module):
    """A stack of :class:`ResidualAttentionBlock` under CLIP's name ``resblocks``.

    Shape:
        (B, L, D) -> (B, L, D).
    """

    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(
            *[ResidualAttentionBlock(width, heads, mlp_ratio) for _ in range(layers)]
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, L, D)."""
        out: Tensor = self.resblocks(x)
        return out


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    hw = tuple(int(s) for s in size)
    if len(hw) != 2:
        raise ValueError(f"image_size must be an int or (H, W), got {size!r}")
    return hw[0], hw[1]


@dataclass(frozen=True)
class ViTConfig:
    """The ViT's sizes; the defaults are CLIP ViT-B/16's image encoder (:data:`VIT_B16`).

    Attributes:
        image_size: frame size (H, W); both multiples of ``patch_size``.
        patch_size: patch side p (conv1 kernel and stride).
        width: token width D.
        layers: transformer blocks.
        heads: attention heads per block (CLIP: ``width // 64``).
        output_dim: size of the projected embedding.
        mlp_ratio: MLP hidden width as a multiple of D (4 in CLIP).
    """

    image_size: tuple[int, int] = (224, 224)
    patch_size: int = 16
    width: int = 768
    layers: int = 12
    heads: int = 12
    output_dim: int = 512
    mlp_ratio: float = 4.0


#: CLIP ViT-B/16's image encoder: 224², patch 16, width 768, 12 layers, 12 heads, 512-d
#: (86,192,640 parameters).
VIT_B16 = ViTConfig()

#: The CPU preset of every Movies2Scenes ``cpu`` profile: 64×112 frames, patch 16 (4×7
#: grid), width 192, 4 layers, 3 heads, 256-d (1,982,592 parameters).
VIT_TINY = ViTConfig(
    image_size=(64, 112), patch_size=16, width=192, layers=4, heads=3, output_dim=256
)


class ViT(nn.Module):
    """CLIP's vision transformer, taking an image or a scene of F frames (Movies2Scenes).

    Args:
        cfg: the sizes (:class:`ViTConfig`; its defaults are CLIP ViT-B/16's).

    Attributes:
        cfg: the config it was built from (``image_size`` as (H, W)).
        image_size: (H, W).
        grid_size: (H/p, W/p), the patch grid of one frame; N = its product.
        num_patches: N.
        embed_dim: size of the output embedding (``output_dim``).

    Example:
        >>> vit = ViT(ViTConfig(image_size=(32, 48), patch_size=16, width=64, layers=1,
        ...                     heads=1, output_dim=8))
        >>> vit(torch.randn(2, 3, 32, 48)).shape, vit(torch.randn(2, 5, 3, 32, 48)).shape
        (torch.Size([2, 8]), torch.Size([2, 8]))
    """

    def __init__(self, cfg: ViTConfig = VIT_B16) -> None:
        super().__init__()
        H, W = _pair(cfg.image_size)
        patch_size, width, heads = cfg.patch_size, cfg.width, cfg.heads
        if H % patch_size or W % patch_size:
            raise ValueError(f"image_size {(H, W)} is not a multiple of patch_size={patch_size}")
        if width % heads:
            raise ValueError(f"width={width} is not divisible by heads={heads}")
        self.cfg = dataclasses.replace(cfg, image_size=(H, W))
        self.image_size = (H, W)
        self.patch_size = patch_size
        self.grid_size = (H // patch_size, W // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.width = width
        self.embed_dim = cfg.output_dim
        self.output_dim = cfg.output_dim
        scale = width**-0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(self.num_patches + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, cfg.layers, heads, cfg.mlp_ratio)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, cfg.output_dim))

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """:attr:`cfg` as plain JSON values: what ``config.json`` stores as ``model_kwargs``."""
        return config.to_dict(self.cfg)

    def interpolate_positions(self, num_frames: int) -> Tensor:
        """Patch position embeddings for ``num_frames`` frames (the paper's 2-D interpolation).

        The N patch embeddings (class token excluded) are viewed as their (gh, gw) grid,
        resized bicubically (``align_corners=False``) to (num_frames·gh, gw), i.e. the scene
        seen as one tall image of its frames stacked top to bottom in time order, and
        flattened row-major, so frame f's tokens are rows f·N..(f+1)·N. ``num_frames == 1``
        returns the pre-trained embeddings unchanged. Computed on every call (gradients
        flow to ``positional_embedding``).

        Args:
            num_frames: F >= 1.

        Returns:
            (F·N, D) position embeddings.
        """
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        patch_pos = self.positional_embedding[1:]
        if num_frames == 1:
            return patch_pos
        gh, gw = self.grid_size
        grid = patch_pos.reshape(gh, gw, -1).permute(2, 0, 1).unsqueeze(0)  # (1, D, gh, gw)
        tall = F.interpolate(
            grid.float(), size=(num_frames * gh, gw), mode="bicubic", align_corners=False
        )
        return tall[0].permute(1, 2, 0).reshape(num_frames * self.num_patches, -1).to(patch_pos)

    def forward(self, x: Tensor) -> Tensor:
        """Embed images or scenes.

        Args:
            x: images (B, C, H, W), or scenes (B, F, C, H, W) of F = n·k frames in time
                order; (H, W) must equal ``image_size``.

        Returns:
            (B, output_dim) embeddings (not normalised).
        """
        if x.dim() == 4:
            x = x.unsqueeze(1)
        if x.dim() != 5 or tuple(x.shape[-2:]) != self.image_size:
            raise ValueError(
                f"expected (B, C, {self.image_size[0]}, {self.image_size[1]}) or "
                f"(B, F, C, {self.image_size[0]}, {self.image_size[1]}), got {tuple(x.shape)}"
            )
        B, Fr = x.shape[:2]
        x = x.flatten(0, 1).to(self.conv1.weight.dtype)  # (B·F, C, H, W)
        tokens = self.conv1(x).flatten(2).transpose(1, 2)  # (B·F, N, D)
        tokens = tokens.reshape(B, Fr * self.num_patches, self.width)  # (B, F·N, D)
        cls = (self.class_embedding + self.positional_embedding[0]).to(tokens.dtype)
        tokens = tokens + self.interpolate_positions(Fr).to(tokens.dtype)
        h = torch.cat([cls.expand(B, 1, -1), tokens], dim=1)  # (B, 1 + F·N, D)
        h = self.transformer(self.ln_pre(h))
        out: Tensor = self.ln_post(h[:, 0]) @ self.proj  # (B, output_dim)
        return out


def vit_b16(**overrides: Any) -> ViT:
    """CLIP ViT-B/16's image encoder (:data:`VIT_B16`); ``overrides`` replace config fields."""
    return ViT(config.override(VIT_B16, overrides))


def vit_tiny(**overrides: Any) -> ViT:
    """The CPU preset (:data:`VIT_TINY`); ``overrides`` replace config fields."""
    return ViT(config.override(VIT_TINY, overrides))


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _read_state(path: Path) -> Mapping[str, Any]:
    """Read a state dict from a TorchScript archive, a torch.save file or a safetensors file."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state: dict[str, Tensor] = load_file(str(path))
        except Exception as err:
            raise UserError(f"{path}: unreadable safetensors file ({_one_line(err)})") from None
        return state
    try:
        with warnings.catch_warnings():  # torch >= 2.9 deprecates TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
        return dict(scripted.state_dict())
    except Exception:
        pass
    try:
        loaded: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(
            f"{path}: neither a TorchScript archive nor a torch.save state dict ({_one_line(err)})"
        ) from None
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise UserError(f"{path}: not a state dict (got {type(loaded).__name__})")
    return loaded


def load_clip_visual(path: str | Path, *, image_size: int | Sequence[int] | None = None) -> ViT:
    """Build a :class:`ViT` from CLIP weights in a local file, inferring its size.

    Accepts an OpenAI release (a TorchScript archive such as ``ViT-B-16.pt``), a
    state dict saved with ``torch.save`` or a ``.safetensors`` file, holding the whole CLIP model
    (keys ``visual.*``; the text tower's keys are ignored) or the image tower alone. The
    architecture is inferred as OpenAI's ``build_model`` does: width from ``conv1``, layers
    from the ``transformer.resblocks.<i>`` indices, patch and grid from ``conv1`` and
    ``positional_embedding``, ``heads = width // 64``.

    Args:
        path: the weights file.
        image_size: (H, W) of a non-square tower (e.g. one saved from :func:`vit_tiny`);
            ``None`` infers a square grid from ``positional_embedding``, as OpenAI does.

    Returns:
        The ViT in eval mode, fp32, on the CPU.

    Raises:
        UserError: the file is missing or unreadable, or is not a CLIP ViT image encoder.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    raw = _read_state(path)
    state = {str(k): v for k, v in raw.items()}
    if any(k.startswith("visual.") for k in state):
        state = {k[len("visual.") :]: v for k, v in state.items() if k.startswith("visual.")}
    if any(k.startswith(("layer1.", "attnpool.")) for k in state):
        raise UserError(f"{path}: a ResNet CLIP image encoder, not a ViT")
    required = ("conv1.weight", "class_embedding", "positional_embedding", "proj")
    missing = [k for k in required if not isinstance(state.get(k), Tensor)]
    if missing:
        raise UserError(f"{path}: not a CLIP ViT image encoder (missing {', '.join(missing)})")
    conv, pos, proj = state["conv1.weight"], state["positional_embedding"], state["proj"]
    if conv.dim() != 4 or pos.dim() != 2 or proj.dim() != 2:
        raise UserError(f"{path}: not a CLIP ViT image encoder (unexpected tensor ranks)")
    width, patch = int(conv.shape[0]), int(conv.shape[-1])
    layer_ids = {
        int(m.group(1)) for k in state if (m := re.match(r"transformer\.resblocks\.(\d+)\.", k))
    }
    num_patches = pos.shape[0] - 1
    if image_size is None:
        grid = round(math.sqrt(num_patches))
        if grid * grid != num_patches:
            raise UserError(
                f"{path}: {num_patches} patch positions are not a square grid; pass image_size"
            )
        image_size = (patch * grid, patch * grid)
    H, W = _pair(image_size)
    if H % patch or W % patch or (H // patch) * (W // patch) != num_patches:
        raise UserError(f"{path}: {num_patches} patch positions do not fit image_size {(H, W)}")
    if width % 64 or not layer_ids:
        raise UserError(
            f"{path}: not a CLIP ViT image encoder (width {width}, {len(layer_ids)} blocks)"
        )
    mlp_ratio = 4.0
    c_fc = state.get("transformer.resblocks.0.mlp.c_fc.weight")
    if isinstance(c_fc, Tensor) and c_fc.dim() == 2:
        mlp_ratio = c_fc.shape[0] / width
    model = ViT(
        ViTConfig(
            image_size=(H, W),
            patch_size=patch,
            width=width,
            layers=len(layer_ids),
            heads=width // 64,
            output_dim=int(proj.shape[1]),
            mlp_ratio=mlp_ratio,
        )
    )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise UserError(f"{path}: weights do not match a CLIP ViT ({_one_line(err)})") from None
    return model.eval()


def save_clip_visual(model: ViT, path: str | Path, *, prefix: str = "visual.") -> None:
    """Save ``model``'s weights as a ``torch.save`` state dict in OpenAI CLIP's layout.

    Args:
        model: the ViT.
        path: the output file.
        prefix: key prefix (``"visual."`` as in a whole CLIP model, ``""`` for the tower).
    """
    state = {prefix + k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, Path(path))
