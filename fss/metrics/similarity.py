"""SSIM and PSNR of 8-bit grayscale images with scikit-image, over the whole image
or inside a region (face, hair) so a reader sees where a method gains."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

WIN_SIZE = 7  # scikit-image's default SSIM window


def _check(fake: np.ndarray, real: np.ndarray) -> None:
    if fake.shape != real.shape or fake.ndim != 2:
        raise ValueError(f"SSIM/PSNR need two grayscale images of one size, got "
                         f"{fake.shape} and {real.shape}")


def ssim(fake: np.ndarray, real: np.ndarray, region: np.ndarray | None = None) -> float:
    """scikit-image's SSIM (7x7 window, data range 255); inside ``region`` the mean of
    the SSIM map over the region's pixels, leaving out the 3-pixel border exactly as
    scikit-image's own mean does (so an all-true region gives the plain SSIM)."""
    _check(fake, real)
    if region is None:
        return float(structural_similarity(real, fake, data_range=255))
    _, smap = structural_similarity(real, fake, data_range=255, full=True)
    pad = (WIN_SIZE - 1) // 2
    inner = region.astype(bool)[pad:-pad, pad:-pad]
    return float(smap[pad:-pad, pad:-pad][inner].mean()) if inner.any() else float("nan")


def psnr(fake: np.ndarray, real: np.ndarray, region: np.ndarray | None = None) -> float:
    """scikit-image's PSNR (data range 255); inside ``region`` from the MSE over the
    region's pixels. Identical images give +inf, as scikit-image does."""
    _check(fake, real)
    if region is None:
        return float(peak_signal_noise_ratio(real, fake, data_range=255))
    r = region.astype(bool)
    if not r.any():
        return float("nan")
    mse = float(np.mean((real[r].astype(np.float64) - fake[r].astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
