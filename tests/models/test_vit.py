import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from movierep.errors import UserError
from movierep.models.factory import arch_name, create_model
from movierep.models.slow_d import slow_d_tiny
from movierep.models.vit import (
    CLIP_MEAN,
    CLIP_STD,
    ViT,
    ViTConfig,
    clip_preprocess_constants,
    load_clip_visual,
    save_clip_visual,
    vit_b16,
    vit_tiny,
)


def small_vit(**kw: object) -> ViT:
    args: dict[str, object] = dict(
        image_size=(32, 48), patch_size=16, width=64, layers=2, heads=1, output_dim=24
    )
    args.update(kw)
    torch.manual_seed(0)
    return ViT(ViTConfig(**args)).eval()  # type: ignore[arg-type]


def text_tower_keys() -> dict[str, torch.Tensor]:
    return {
        "token_embedding.weight": torch.randn(10, 8),
        "ln_final.weight": torch.ones(8),
        "text_projection": torch.randn(8, 24),
        "logit_scale": torch.tensor(4.6),
    }


def test_shapes_images_and_scenes() -> None:
    vit = small_vit()
    assert vit.grid_size == (2, 3) and vit.num_patches == 6 and vit.embed_dim == 24
    assert vit.positional_embedding.shape == (7, 64)
    with torch.no_grad():
        assert vit(torch.randn(2, 3, 32, 48)).shape == (2, 24)
        assert vit(torch.randn(2, 5, 3, 32, 48)).shape == (2, 24)
        assert vit(torch.randn(1, 27, 3, 32, 48)).shape == (1, 24)
    tiny = vit_tiny().eval()
    assert tiny.image_size == (64, 112) and tiny.grid_size == (4, 7)
    with torch.no_grad():
        assert tiny(torch.randn(2, 3, 3, 64, 112)).shape == (2, 256)
    with pytest.raises(ValueError, match="expected"):
        vit(torch.randn(2, 3, 48, 32))
    with pytest.raises(ValueError, match="multiple"):
        ViT(
            ViTConfig(image_size=(30, 48), patch_size=16, width=64, layers=1, heads=1, output_dim=8)
        )


def test_interpolate_one_frame_is_exact() -> None:
    vit = small_vit()
    assert torch.equal(vit.interpolate_positions(1), vit.positional_embedding[1:])
    assert vit.interpolate_positions(4).shape == (24, 64)
    with pytest.raises(ValueError, match="num_frames"):
        vit.interpolate_positions(0)


def test_interpolation_is_a_2d_resize_along_height() -> None:
    vit = small_vit(image_size=(48, 80))  # grid (3, 5)
    gh, gw = vit.grid_size
    cols = torch.arange(gw, dtype=torch.float32)
    slope, offset = torch.randn(64), torch.randn(64)
    grid = (cols[:, None] * slope + offset).expand(gh, gw, 64)  # linear in the column only
    with torch.no_grad():
        vit.positional_embedding[1:] = grid.reshape(gh * gw, 64)
    F = 7
    pos = vit.interpolate_positions(F).detach()
    for f in range(F):
        frame = pos[f * vit.num_patches : (f + 1) * vit.num_patches]
        torch.testing.assert_close(frame, grid.reshape(-1, 64), atol=1e-5, rtol=0)
    # rows increasing top to bottom: frames come out in the same order (stacked vertically)
    rows = torch.arange(gh, dtype=torch.float32)[:, None, None].expand(gh, gw, 64)
    with torch.no_grad():
        vit.positional_embedding[1:] = rows.reshape(gh * gw, 64)
    means = vit.interpolate_positions(F).detach().reshape(F, -1).mean(1)
    assert bool((means[1:] > means[:-1]).all())


def test_single_frame_scene_equals_image() -> None:
    vit = small_vit()
    x = torch.randn(3, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(vit(x), vit(x[:, None]))


def test_gradients_reach_positions_through_interpolation() -> None:
    vit = small_vit().train()
    vit(torch.randn(2, 3, 3, 32, 48)).sum().backward()
    grad = vit.positional_embedding.grad
    assert grad is not None and bool((grad[1:].abs().sum(1) > 0).all())


def test_clip_layout_round_trip(tmp_path: Path) -> None:
    vit = small_vit(image_size=32)
    x = torch.randn(2, 3, 3, 32, 32)
    with torch.no_grad():
        ref = vit(x)
    # whole CLIP model: visual.* plus text-tower keys
    full = tmp_path / "clip.pt"
    save_clip_visual(vit, full)
    state = torch.load(full, weights_only=True)
    assert "visual.transformer.resblocks.1.attn.in_proj_weight" in state
    assert "visual.transformer.resblocks.0.mlp.c_fc.weight" in state
    torch.save({**state, **text_tower_keys()}, full)
    # visual tower alone, and safetensors
    tower = tmp_path / "tower.pt"
    save_clip_visual(vit, tower, prefix="")
    st = tmp_path / "clip.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(st))
    for file in (full, tower, st):
        loaded = load_clip_visual(file)
        assert loaded.model_kwargs == vit.model_kwargs
        assert not loaded.training
        with torch.no_grad():
            assert torch.equal(loaded(x), ref)


def test_non_square_tower_needs_image_size(tmp_path: Path) -> None:
    vit = small_vit()  # (32, 48): a 2 × 3 grid, which a square-grid inference cannot recover
    file = tmp_path / "tiny.pt"
    save_clip_visual(vit, file)
    with pytest.raises(UserError, match="square grid"):
        load_clip_visual(file)
    with pytest.raises(UserError, match="do not fit"):
        load_clip_visual(file, image_size=(48, 48))
    loaded = load_clip_visual(file, image_size=(32, 48))
    x = torch.randn(1, 2, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(loaded(x), vit(x))


class _ClipLike(nn.Module):
    def __init__(self, visual: ViT) -> None:
        super().__init__()
        self.visual = visual
        self.token_embedding = nn.Embedding(10, 8)
        self.ln_final = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_torchscript_release_loads(tmp_path: Path) -> None:
    vit = small_vit(image_size=32, layers=1)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        traced = torch.jit.trace(_ClipLike(vit).eval(), x, check_trace=False)
    file = tmp_path / "ViT-tiny.pt"
    traced.save(str(file))
    loaded = load_clip_visual(file)
    assert loaded.model_kwargs == vit.model_kwargs
    with torch.no_grad():
        assert torch.equal(loaded(x), vit(x))


def test_wrong_layouts_raise_user_error(tmp_path: Path) -> None:
    slow = tmp_path / "slow_d.pt"
    torch.save(slow_d_tiny().state_dict(), slow)
    with pytest.raises(UserError, match=r"missing conv1\.weight") as err:
        load_clip_visual(slow)
    assert str(slow) in str(err.value) and "\n" not in str(err.value)

    rand = tmp_path / "random.safetensors"
    save_file({"a.weight": torch.zeros(3), "b": torch.ones(2, 2)}, str(rand))
    with pytest.raises(UserError, match="not a CLIP ViT") as err:
        load_clip_visual(rand)
    assert str(rand) in str(err.value)

    resnet = tmp_path / "RN50.pt"
    torch.save({"visual.conv1.weight": torch.zeros(32, 3, 3, 3), "visual.layer1.0.x": 0}, resnet)
    with pytest.raises(UserError, match="ResNet"):
        load_clip_visual(resnet)

    bad_shape = tmp_path / "bad_shape.pt"
    state = {"visual." + k: v for k, v in small_vit(image_size=32).state_dict().items()}
    state["visual.ln_post.weight"] = torch.ones(65)
    torch.save(state, bad_shape)
    with pytest.raises(UserError, match="do not match") as err:
        load_clip_visual(bad_shape)
    assert str(bad_shape) in str(err.value) and "\n" not in str(err.value)

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=r"garbage\.pt"):
        load_clip_visual(garbage)
    with pytest.raises(UserError, match="no such file"):
        load_clip_visual(tmp_path / "missing.pt")


def test_parameter_counts_and_registry() -> None:
    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    b16 = vit_b16()
    assert count(b16) == 86_192_640
    assert b16.grid_size == (14, 14) and b16.positional_embedding.shape == (197, 768)
    assert b16.transformer.resblocks[0].attn.num_heads == 12
    assert count(vit_tiny()) == 1_982_592

    tiny = create_model("vit_tiny")
    assert isinstance(tiny, ViT) and arch_name(tiny) == "vit"
    rebuilt = create_model("vit", **json.loads(json.dumps(tiny.model_kwargs)))
    assert isinstance(rebuilt, ViT) and rebuilt.image_size == (64, 112)


def test_clip_constants() -> None:
    assert clip_preprocess_constants() == (CLIP_MEAN, CLIP_STD)
    assert CLIP_MEAN == (0.48145466, 0.4578275, 0.40821073)
    assert CLIP_STD == (0.26862954, 0.26130258, 0.27577711)
