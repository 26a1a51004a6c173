import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from fss.metrics.fid import fid_from_features
from fss.metrics.recognition import rank1
from fss.metrics.similarity import GAUSSIAN_WIN, psnr, ssim, ssim_skimage


def _imgs(seed=0, shape=(32, 32)):
    rng = np.random.default_rng(seed)
    real = rng.integers(0, 256, shape, dtype=np.uint8)
    noisy = np.clip(real.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
    return real, noisy


def test_ssim_psnr_match_scikit_image():
    real, fake = _imgs()
    # The paper's SSIM (Wang et al. 2004): Gaussian window, population covariance.
    assert ssim(fake, real) == structural_similarity(
        real, fake, data_range=255, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False)
    assert ssim_skimage(fake, real) == structural_similarity(real, fake, data_range=255)
    assert ssim(fake, real) != ssim_skimage(fake, real)
    assert psnr(fake, real) == peak_signal_noise_ratio(real, fake, data_range=255)
    assert ssim(real, real) == 1.0 and ssim_skimage(real, real) == 1.0
    assert psnr(real, real) == float("inf")
    assert GAUSSIAN_WIN == 11


def test_region_versions():
    real, fake = _imgs()
    everywhere = np.ones_like(real, bool)
    for f in (ssim, ssim_skimage):
        assert f(fake, real, everywhere) == pytest.approx(f(fake, real), abs=1e-12)
    assert psnr(fake, real, everywhere) == pytest.approx(psnr(fake, real), abs=1e-9)
    # The Gaussian window's border is 5 px: a region of only the outer 5 pixels has
    # no SSIM, one reaching 6 pixels in has.
    rim = np.ones_like(real, bool)
    rim[5:-5, 5:-5] = False
    assert np.isnan(ssim(fake, real, rim)) and np.isfinite(ssim_skimage(fake, real, rim))
    rim[5, 5] = True
    assert np.isfinite(ssim(fake, real, rim))
    # Perfect on the left half only: the left region scores perfectly, the right does not.
    half = fake.copy()
    half[:, :16] = real[:, :16]
    left = np.zeros_like(real, bool)
    left[:, :12] = True
    assert psnr(half, real, left) == float("inf") and np.isfinite(psnr(half, real, ~left))
    assert ssim(half, real, left) > ssim(half, real, ~left)
    assert np.isnan(ssim(fake, real, np.zeros_like(real, bool)))


def test_similarity_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="one size"):
        ssim(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))


def test_fid_zero_against_itself_and_grows_with_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 2048))   # fewer samples than dimensions, as on CUFS
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)
    small = fid_from_features(a, a + rng.normal(scale=0.1, size=a.shape))
    large = fid_from_features(a, a + rng.normal(scale=1.0, size=a.shape))
    assert 0 < small < large


def test_small_sample_fid_equals_clean_fid():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(30, 64))
    b = rng.normal(size=(20, 64)) * 1.3 + 0.2
    ours = fid_from_features(a, b)
    assert ours == pytest.approx(fid_from_features(a, b, method="cleanfid"), rel=1e-6)
    with pytest.raises(ValueError, match="not one of"):
        fid_from_features(a, b, method="torch")


def test_fid_on_images_with_registry_inception(weights_dir, tmp_path):
    from fss.io import save_png
    from fss.metrics.fid import image_features, load_inception

    rng = np.random.default_rng(1)
    files, noisy = [], []
    for i in range(6):
        img = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))
        img = np.roll(img, 5 * i, axis=1)
        save_png(tmp_path / f"a{i}.png", img)
        n = np.clip(img + rng.normal(0, 60, img.shape), 0, 255).astype(np.uint8)
        save_png(tmp_path / f"n{i}.png", n)
        files.append(tmp_path / f"a{i}.png")
        noisy.append(tmp_path / f"n{i}.png")
    model = load_inception("cpu")
    fa = image_features(files, model)
    assert fa.shape == (6, 2048)
    assert fid_from_features(fa, fa) == pytest.approx(0.0, abs=1e-3)
    assert fid_from_features(fa, image_features(noisy, model)) > 1.0


def test_rank1_perfect_when_probes_are_the_gallery_and_drops_when_shuffled():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(20, 8))
    labels = [f"id{i}" for i in range(20)]
    assert rank1(g, g, labels, labels).mean() == 1.0
    shuffled = labels[1:] + labels[:1]
    assert rank1(g, g, shuffled, labels).mean() == 0.0
    assert rank1(g + rng.normal(scale=0.01, size=g.shape), g, labels, labels).mean() == 1.0
