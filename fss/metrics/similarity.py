"""SSIM and PSNR of 8-bit grayscale images with scikit-image, over the whole image
or inside a region (face, hair) so a reader sees where a method gains.

``ssim`` is the SSIM the paper cites (Wang et al. 2004, as MATLAB's ``ssim``): an 11x11
Gaussian window of sigma 1.5 and population covariance. ``ssim_skimage`` is
scikit-image's default (7x7 uniform window, sample covariance), which this project
reported before; kept for continuity."""

from __future__ import annotations

import numpy as np

# scikit-image sizes the Gaussian window as 2 * round(truncate * sigma) + 1 with
# truncate 3.5: 11 pixels for sigma 1.5, so its mean leaves out a 5-pixel border.
GAUSSIAN = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
GAUSSIAN_WIN = 2 * int(round(3.5 * GAUSSIAN["sigma"])) + 1
SKIMAGE_WIN = 7  # scikit-image's default uniform window


def _check(fake: np.ndarray, real: np.ndarray) -> None:
    if fake.shape != real.shape or fake.ndim != 2:
        raise ValueError(f"SSIM/PSNR need two grayscale images of one size, got "
                         f"{fake.shape} and {real.shape}")


def _ssim(fake: np.ndarray, real: np.ndarray, region: np.ndarray | None, win: int,
          **options: object) -> float:
    """Inside ``region``: the mean of the SSIM map over the region's pixels, leaving out
    the window's border exactly as scikit-image's own mean does (so an all-true region
    gives the plain SSIM)."""
    # (imported here: every stage that reads params imports this module, and only the
    # evaluations need scikit-image's SSIM and the scipy.ndimage it loads, ~0.3 s; the
    # PSNR it also had imported scipy.stats, ~1.2 s, hence psnr below)
    from skimage.metrics import structural_similarity

    _check(fake, real)
    if region is None:
        return float(structural_similarity(real, fake, data_range=255, **options))
    _, smap = structural_similarity(real, fake, data_range=255, full=True, **options)
    pad = (win - 1) // 2
    inner = region.astype(bool)[pad:-pad, pad:-pad]
    return float(smap[pad:-pad, pad:-pad][inner].mean()) if inner.any() else float("nan")


def ssim(fake: np.ndarray, real: np.ndarray, region: np.ndarray | None = None) -> float:
    """The paper's SSIM: Gaussian window (sigma 1.5), population covariance, data range
    255; inside ``region`` the mean of its map over the region (5-pixel border out)."""
    return _ssim(fake, real, region, GAUSSIAN_WIN, **GAUSSIAN)


def ssim_skimage(fake: np.ndarray, real: np.ndarray, region: np.ndarray | None = None
                 ) -> float:
    """scikit-image's default SSIM (7x7 uniform window, data range 255)."""
    return _ssim(fake, real, region, SKIMAGE_WIN)


def psnr(fake: np.ndarray, real: np.ndarray, region: np.ndarray | None = None) -> float:
    """scikit-image's PSNR formula (data range 255: 10 log10(255^2 / MSE), the MSE in
    float64), over the image or over ``region``'s pixels. Identical images give +inf,
    as scikit-image does. Written out rather than called: scikit-image's module for it
    imports scipy.stats (~1.2 s in every evaluation process); tests pin it to
    ``skimage.metrics.peak_signal_noise_ratio``."""
    _check(fake, real)
    if region is None:
        diff = real.astype(np.float64) - fake.astype(np.float64)
    else:
        r = region.astype(bool)
        if not r.any():
            return float("nan")
        diff = real[r].astype(np.float64) - fake[r].astype(np.float64)
    mse = float(np.mean(diff ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
