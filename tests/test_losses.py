import pytest
import torch

from fss.training.losses import PerceptualLoss, PerceptualParams, gan_loss, load_vgg, vgg_features


def test_gan_loss_modes():
    real = torch.ones(1, 1, 4, 4)
    assert gan_loss(real, True, "lsgan").item() == 0.0
    assert gan_loss(real, False, "lsgan").item() == 1.0
    big = torch.full((1, 1, 4, 4), 20.0)
    assert gan_loss(big, True, "vanilla").item() < 1e-6 < gan_loss(big, False, "vanilla").item()
    with pytest.raises(ValueError, match="gan_mode"):
        gan_loss(real, True, "wgan")


@pytest.mark.parametrize("backbone", ["vgg16", "vgg19"])
def test_perceptual_zero_for_identical_positive_otherwise(backbone):
    torch.manual_seed(0)
    loss = PerceptualLoss(PerceptualParams(backbone=backbone), features=vgg_features(backbone))
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0.0
    assert loss(x, -x).item() > 0.0
    assert not any(p.requires_grad for p in loss.features.parameters())


def test_perceptual_needs_five_weights():
    with pytest.raises(ValueError, match="5 values"):
        PerceptualLoss(PerceptualParams(backbone="vgg16", weights=(1.0,)),
                       features=vgg_features("vgg16"))


def test_pretrained_vgg16_loads_from_registry(weights_dir):
    net = load_vgg("vgg16")
    assert len(net) == 26  # up to relu5_1
    loss = PerceptualLoss(PerceptualParams(backbone="vgg16"), features=net)
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0.0 < loss(x, x.flip(-1)).item()
