from __future__ import annotations

import numpy as np
import pytest
import torch

from movierep import config
from movierep.checkpoint import save_checkpoint
from movierep.errors import UserError
from movierep.features.motion import flow_input, load_motion_pathway
from movierep.models import create_model
from movierep.pretrain.modist import MoDist, MoDistConfig


def moving_square(T: int = 5, h: int = 36, w: int = 64, step: int = 2) -> np.ndarray:
    """(T, H, W, 3) a textured background and a bright square moving ``step`` px right."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 120, size=(h, w, 3), dtype=np.uint8)
    frames = np.repeat(background[None], T, 0)
    for t in range(T):
        frames[t, 12:24, 10 + step * t : 22 + step * t] = 255
    return frames


def test_flow_input_is_the_centre_crop_of_the_flow_in_crop_pixels() -> None:
    x = flow_input(moving_square(), size=18, method="farneback")
    assert x.shape == (2, 4, 18, 18)  # (u/v, T-1, S, S)
    # the square moves 2 source px per frame; the short side 36 -> 18 halves it: ~1 px
    u = x[0, :, 6:12, 3:9]  # inside the square, after the crop of the middle 18 of 32 columns
    assert float(u.mean()) == pytest.approx(1.0, abs=0.35)
    assert float(x[1].abs().mean()) < 0.2  # no vertical motion


def test_the_motion_pathway_is_read_back_from_a_modist_checkpoint(tmp_path) -> None:
    torch.manual_seed(0)
    cfg = MoDistConfig(motion_arch="motion_net_tiny", flow_method="dis-ultrafast")
    backbone = create_model("slow_d_tiny")
    motion = create_model("motion_net_tiny", camera_compensation=True)
    obj = MoDist(backbone, motion, MoDistConfig(proj_hidden_dim=8, proj_dim=4, queue_size=4))
    run_config = {
        "method": "modist",
        "modist": config.to_dict(cfg),
        "data": {"crop_size": 32, "num_frames": 4, "frame_stride": 2},
    }
    ckpt = save_checkpoint(tmp_path / "last", obj.backbone, "slow_d_tiny", {},
                           run_config=run_config, objective=obj)  # fmt: skip
    pathway = load_motion_pathway(ckpt)
    assert (pathway.flow_method, pathway.crop_size, pathway.num_frames) == ("dis-ultrafast", 32, 4)
    assert pathway.net.camera_compensation is True
    for name, value in obj.motion.state_dict().items():
        assert torch.equal(pathway.net.state_dict()[name], value)
    save_checkpoint(tmp_path / "cvrl", obj.backbone, "slow_d_tiny", {},
                    run_config={"method": "cvrl"})  # fmt: skip
    with pytest.raises(UserError, match="not a MoDist checkpoint"):
        load_motion_pathway(tmp_path / "cvrl")
