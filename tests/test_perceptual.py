"""FSIM / LPIPS / DISTS: each equals its package's own result on small arrays, is 1
(FSIM) or 0 (LPIPS, DISTS) for identical images, and is built without a download."""

import numpy as np
import pytest
import torch

from fss.metrics.perceptual import (
    PerceptualMetrics,
    build_dists,
    build_lpips,
    gray_batch,
    load_vgg16_convs,
)


def _imgs(n=3, s=48, seed=0):
    rng = np.random.default_rng(seed)
    real = [rng.integers(0, 256, (s, s), dtype=np.uint8) for _ in range(n)]
    fake = [np.clip(r.astype(int) + rng.integers(-50, 51, r.shape), 0, 255).astype(np.uint8)
            for r in real]
    return fake, real


@pytest.fixture(scope="module")
def random_vgg():
    """An ImageNet-shaped VGG16 with random weights: the packages' arithmetic can be
    checked without the registry file."""
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.vgg16(weights=None).features.state_dict()


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*_, **__):
        raise AssertionError("a pretrained download was attempted")

    monkeypatch.setattr("torch.hub.load_state_dict_from_url", refuse)


def test_fsim_equals_piq_and_its_3_channel_gray():
    import piq

    fake, real = _imgs()
    got = PerceptualMetrics(["fsim"])(fake, real)["fsim"]
    f, r = gray_batch(fake), gray_batch(real)
    direct = piq.fsim(f, r, data_range=255.0, chromatic=False, reduction="none")
    rgb = piq.fsim(f.repeat(1, 3, 1, 1), r.repeat(1, 3, 1, 1), data_range=255.0,
                   reduction="none")
    assert got == pytest.approx(direct.tolist(), abs=1e-6)
    assert got == pytest.approx(rgb.tolist(), abs=1e-5)
    assert all(0 < v < 1 for v in got)
    assert PerceptualMetrics(["fsim"])(real, real)["fsim"] == pytest.approx([1.0] * 3, abs=1e-6)


@pytest.mark.filterwarnings("ignore:.*(pretrained|weight enum).*:UserWarning")
def test_lpips_equals_the_package(random_vgg, no_download):
    import lpips

    fake, real = _imgs()
    ours = PerceptualMetrics(["lpips"], vgg_state=random_vgg, batch_size=2)
    got = ours(fake, real)["lpips"]
    pkg = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)
    load_vgg16_convs(pkg.net, random_vgg)
    x = gray_batch(fake).repeat(1, 3, 1, 1) / 127.5 - 1   # the package's [-1, 1] input
    y = gray_batch(real).repeat(1, 3, 1, 1) / 127.5 - 1
    with torch.no_grad():
        want = pkg(x, y).flatten().tolist()
    assert got == pytest.approx(want, rel=1e-5, abs=1e-7)
    assert all(v > 0 for v in got)
    assert ours(real, real)["lpips"] == pytest.approx([0.0] * 3, abs=1e-7)


def test_dists_equals_the_package(random_vgg, no_download):
    from DISTS_pytorch import DISTS_pt

    fake, real = _imgs()
    ours = PerceptualMetrics(["dists"], vgg_state=random_vgg)
    got = ours(fake, real)["dists"]
    pkg = build_dists(random_vgg)
    assert DISTS_pt.models.__name__ == "torchvision.models"   # the patch is undone
    with torch.no_grad():
        want = pkg(gray_batch(fake).repeat(1, 3, 1, 1) / 255,
                   gray_batch(real).repeat(1, 3, 1, 1) / 255).flatten().tolist()
    assert got == pytest.approx(want, rel=1e-5, abs=1e-7)
    assert ours(real, real)["dists"] == pytest.approx([0.0] * 3, abs=1e-5)
    # The shipped alpha/beta, not the constructor's random ones.
    shipped = torch.load(__import__("pathlib").Path(DISTS_pt.__file__).parent / "weights.pt",
                         weights_only=True)
    assert torch.equal(pkg.alpha, shipped["alpha"])


def test_registry_vgg16_in_both(weights_dir, no_download):
    from fss.weights import resolve

    state = torch.load(resolve("vgg16_features"), map_location="cpu", weights_only=True)
    lp, di = build_lpips(), build_dists()
    assert torch.equal(getattr(lp.net.slice1, "0").weight, state["0.weight"].float())
    assert torch.equal(getattr(lp.net.slice5, "28").weight, state["28.weight"].float())
    assert torch.equal(getattr(di.stage5, "28").weight, state["28.weight"].float())
    fake, real = _imgs(s=64)
    pm = PerceptualMetrics(("lpips", "dists"))
    pm.lpips, pm.dists = lp, di
    near = pm(fake, real)
    far = pm([np.full_like(r, 128) for r in real], real)
    same = pm(real, real)
    for k in ("lpips", "dists"):
        assert same[k] == pytest.approx([0.0] * 3, abs=1e-5)
        assert all(0 < a < b for a, b in zip(near[k], far[k], strict=True))


def test_bad_input_and_keys():
    with pytest.raises(ValueError, match="not one of"):
        PerceptualMetrics(["ssim"])
    with pytest.raises(ValueError, match="one size"):
        gray_batch([np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)])
    with pytest.raises(ValueError, match="synthesized images"):
        PerceptualMetrics(["fsim"])([np.zeros((8, 8), np.uint8)], [])
