import torch

from movierep.losses.infonce import nt_xent
from movierep.models.vit import ViT, ViTConfig
from movierep.pretrain.image_contrast import ImageContrast, ImageContrastConfig


def test_image_contrast_is_nt_xent_of_the_projected_views() -> None:
    torch.manual_seed(0)
    vit = ViT(
        ViTConfig(image_size=(16, 32), patch_size=8, width=64, layers=1, heads=1, output_dim=16)
    )
    objective = ImageContrast(
        vit, ImageContrastConfig(proj_hidden_dim=32, proj_dim=8, temperature=0.2)
    ).eval()
    v1, v2 = torch.randn(4, 3, 16, 32), torch.randn(4, 3, 16, 32)
    out = objective({"view1": v1, "view2": v2})
    z = objective.projector(vit(torch.cat([v1, v2])))
    torch.testing.assert_close(out["loss"], nt_xent(z[:4], z[4:], temperature=0.2))
    out["loss"].backward()
    assert vit.conv1.weight.grad is not None
