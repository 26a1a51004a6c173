import math

import pytest
import torch

from fss.models.discriminator import DiscriminatorParams, PatchDiscriminator
from fss.models.generator import GeneratorParams, ResnetGenerator
from fss.models.layers import Downsample, Upsample
from fss.models.patchnce import PatchHead, patch_nce_loss

SMALL = GeneratorParams(ngf=4, n_blocks=5)


@pytest.mark.parametrize("in_ch", [3, 4])
def test_generator_keeps_size_and_range(in_ch):
    g = ResnetGenerator(in_ch, 1, SMALL)
    y = g(torch.randn(2, in_ch, 32, 40))
    assert y.shape == (2, 1, 32, 40)
    assert y.abs().max() <= 1.0


def test_generator_rejects_wrong_channels():
    with pytest.raises(ValueError, match="expects 4 input channels"):
        ResnetGenerator(4, 1, SMALL)(torch.randn(1, 3, 16, 16))


def test_encoder_layers_match_cut_indices():
    g = ResnetGenerator(3, 1, SMALL)
    feats = g.encode(torch.randn(1, 3, 32, 32), (0, 4, 8, 12, 16))
    # 0: reflect-padded input; 4: first conv (2*ngf, full size); 8: second (4*ngf, 1/2);
    # 12, 16: residual blocks at 1/4.
    assert [tuple(f.shape[1:]) for f in feats] == [(3, 38, 38), (8, 32, 32), (16, 16, 16),
                                                   (16, 8, 8), (16, 8, 8)]
    assert g.layer_channels((0, 4, 8, 12, 16)) == [3, 8, 16, 16, 16]
    with pytest.raises(ValueError, match="outside the encoder"):
        g.encode(torch.randn(1, 3, 32, 32), (40,))


def test_discriminator_patch_output():
    d = PatchDiscriminator(1, DiscriminatorParams(ndf=4))
    y = d(torch.randn(1, 1, 64, 64))
    assert y.shape[:2] == (1, 1) and 2 <= y.shape[-1] < 64


def test_down_up_sampling_sizes_and_constant_preserved():
    x = torch.ones(1, 2, 8, 8)
    assert torch.allclose(Downsample(2)(x), torch.ones(1, 2, 4, 4))
    assert torch.allclose(Upsample(2)(x), torch.ones(1, 2, 16, 16))


def test_patch_nce_equals_hand_computed():
    q = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    k = torch.tensor([[0.8, 0.6], [0.0, 1.0]])
    t = 0.5
    loss = patch_nce_loss(q, k, torch.tensor([0, 1]), t)
    # row 0: pos q0.k0 = 0.8, negative q0.k1 = 0; row 1: pos 0.8, negative q1.k0 = 0.96
    def ce(pos, neg):
        return -math.log(math.exp(pos / t) / (math.exp(pos / t) + math.exp(neg / t)
                                              + math.exp(-10 / t)))
    expected = (ce(0.8, 0.0) + ce(0.8, 0.96)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_patch_nce_twin_is_not_a_negative():
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    twins = patch_nce_loss(q, k, torch.tensor([2, 2, 5]), 0.07)
    no_twins = patch_nce_loss(q, k, torch.tensor([2, 3, 5]), 0.07)
    # With twins masked, every query only competes with the orthogonal key: near 0 loss.
    assert twins.item() < 1e-4 < no_twins.item()


def test_patch_head_unit_norm_and_gradient_to_query_only():
    h = PatchHead([3, 8], dim=16)
    fq = torch.randn(1, 8, 4, 4, requires_grad=True)
    fk = torch.randn(1, 8, 4, 4, requires_grad=True)
    idx = torch.tensor([0, 5, 9])
    q, k = h(fq, 1, idx), h(fk, 1, idx)
    assert q.shape == (3, 16) and torch.allclose(q.norm(dim=1), torch.ones(3))
    patch_nce_loss(q, k, idx, 0.07).backward()
    assert fq.grad is not None and fk.grad is None
