import torch

from fss.models.patchnce import same_location_mask
from fss.training.sampling import (
    SamplingParams,
    doubled_share,
    dynamic_indices,
    region_indices,
    resize_map,
    sample_indices,
    uniform_indices,
)


def _maps(h=16, w=16):
    face = torch.zeros(h, w)
    face[6:14, 4:12] = 0.6        # 64 face locations
    face[9:11, 6:10] = 0.95       # 8 of them dense
    hair = torch.zeros(h, w)
    hair[1:6, 3:13] = 0.7         # 50 hair locations
    hair[6:8, 4:12] = 0.9         # overlaps the face: must count as face, not hair
    return face, hair


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_uniform_distinct_and_capped():
    idx = uniform_indices(8, 8, 20, _gen())
    assert idx.numel() == 20 and torch.unique(idx).numel() == 20
    assert idx.min() >= 0 and idx.max() < 64
    assert uniform_indices(4, 4, 256, _gen()).numel() == 16


def test_region_counts_and_never_background():
    face, hair = _maps()
    p = SamplingParams(n_face=40, n_hair=30)
    idx, density = region_indices(face, hair, p, _gen())
    assert idx.numel() == 70 and torch.unique(idx).numel() == 70
    f, h = face.flatten()[idx], hair.flatten()[idx]
    assert bool(((f > 0.5) | (h > 0.5)).all())          # no background location
    assert int((f[:40] > 0.5).sum()) == 40               # first the face samples
    assert bool((f[40:] <= 0.5).all() and (h[40:] > 0.5).all())  # hair outside the face
    assert torch.equal(density[:40], f[:40]) and torch.equal(density[40:], h[40:])


def test_region_too_small_gives_all_it_has():
    face, hair = _maps()
    idx, _ = region_indices(face, hair, SamplingParams(n_face=256, n_hair=128), _gen())
    assert idx.numel() == 64 + 50


def test_dynamic_doubles_dense_locations_only():
    face, hair = _maps()
    p = SamplingParams(n_face=256, n_hair=128, dss_threshold=0.8)
    idx = dynamic_indices(face, hair, p, _gen())
    counts = torch.bincount(idx, minlength=256)
    dense = (face.flatten() > 0.8)
    assert bool((counts[dense] == 2).all())
    assert bool((counts[~dense & (counts > 0)] == 1).all())
    assert idx.numel() == 64 + 50 + int(dense.sum())


def test_twins_are_masked_like_the_diagonal():
    m = same_location_mask(torch.tensor([3, 5, 3, 7]))
    expected = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]).bool()
    assert torch.equal(m, expected)


def test_same_indices_for_query_and_key_from_one_draw():
    # One draw per image and layer: replaying the generator gives identical indices.
    face, hair = _maps()
    p = SamplingParams()
    a = sample_indices("dss", 16, 16, face, hair, p, _gen(4))
    b = sample_indices("dss", 16, 16, face, hair, p, _gen(4))
    assert torch.equal(a.idx, b.idx)
    # the count the sampler kept is the one doubled_share would recompute
    assert a.distinct == torch.unique(a.idx).numel()
    assert a.doubled_share() == doubled_share(a.idx) > 0


def test_maps_resized_to_layer_size():
    face, hair = _maps(32, 32)
    r = resize_map(face, 8, 8)
    assert r.shape == (8, 8) and torch.isclose(r.mean(), face.mean())
    idx = sample_indices("rcs", 8, 8, face, hair, SamplingParams(), _gen()).idx
    assert idx.max() < 64
    assert resize_map(face, 38, 38).shape == (38, 38)   # layer 0: padded input


def test_empty_regions_fall_back_to_uniform():
    z = torch.zeros(8, 8)
    got = sample_indices("rcs", 8, 8, z, z, SamplingParams(num_patches=10), _gen())
    assert got.idx.numel() == 10 and got.fell_back and got.distinct == 10
    face, hair = _maps(8, 8)
    assert not sample_indices("rcs", 8, 8, face, hair, SamplingParams(), _gen()).fell_back


def test_unknown_strategy_is_an_error():
    import pytest

    with pytest.raises(ValueError, match="not one of"):
        sample_indices("random", 4, 4, None, None, SamplingParams(), _gen())


def test_layer0_map_is_padded_not_stretched():
    m = torch.rand(16, 16)
    padded = resize_map(m, 22, 22)                   # the generator's 3-pixel reflect pad
    assert torch.equal(padded[3:19, 3:19], m)
    assert torch.equal(padded[0, 3:19], m[3])        # reflected, as ReflectionPad2d does
    import pytest
    with pytest.raises(ValueError, match="padded evenly"):
        resize_map(m, 21, 21)


def test_one_hot_location_lands_on_its_pixel_at_every_layer():
    """A map that marks one image pixel marks, at every NCE layer, the feature location
    that covers that pixel: layer 0 is the input reflect-padded by 3, later layers are
    strided by 1, 2 or 4."""
    from fss.models.generator import GeneratorParams, ResnetGenerator

    s = 32
    g = ResnetGenerator(3, 1, GeneratorParams(ngf=4, n_blocks=5))
    layers = (0, 4, 8, 12, 16)
    feats = g.encode(torch.zeros(1, 3, s, s), layers)
    for y, x in [(5, 9), (16, 16), (27, 3)]:
        one = torch.zeros(s, s)
        one[y, x] = 1.0
        for layer, f in zip(layers, feats, strict=True):
            h, w = f.shape[-2:]
            r = resize_map(one, h, w)
            if h > s:    # padded input (near the border, the reflection holds a copy)
                pad = (h - s) // 2
                assert r[y + pad, x + pad] == 1.0 and r.sum() <= 2.0, layer
            else:        # stride s // h
                stride = s // h
                i, j = divmod(int(torch.argmax(r)), w)
                assert (i, j) == (y // stride, x // stride), layer
