"""FID through clean-fid's own pipeline (its "clean" PIL resize to 299 and its
Frechet distance), with the standard Inception-v3 2015-12-05 pool3 weights loaded
from the registry's offline TorchScript file instead of clean-fid's download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


class InceptionPool3(nn.Module):
    """clean-fid hands the model 299x299 RGB floats in [0, 255]; the registry file
    wants them scaled to [-1, 1) first (clean-fid's own wrapper does the same
    (x - 128) / 128 before its copy of these weights)."""

    def __init__(self, scripted: torch.jit.ScriptModule):
        super().__init__()
        self.net = scripted

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - 128.0) / 128.0)


def load_inception(device: torch.device | str = "cpu") -> InceptionPool3:
    from fss.weights import resolve

    scripted = torch.jit.load(str(resolve("inception_fid")), map_location=device)
    return InceptionPool3(scripted).eval().to(device)


def image_features(files: list[Path], model: nn.Module, device: torch.device | str = "cpu",
                   batch_size: int = 32) -> np.ndarray:
    """N x 2048 pool3 features of the image files (grayscale ones are read as RGB,
    as clean-fid does), in the order given."""
    from cleanfid.fid import get_files_features

    if not files:
        raise ValueError("no images to compute FID features of")
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise FileNotFoundError(f"{missing[0]}: image missing ({len(missing)} in all)")
    return get_files_features([str(f) for f in files], model=model, num_workers=0,
                              batch_size=batch_size, device=torch.device(device),
                              mode="clean", verbose=False)


def frechet_distance_small_sample(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance of two feature sets' Gaussians, exact when a set has fewer
    samples than dimensions (always here: 43-195 images, 2048 features).

    With centred, scaled features A (n1 x d) and B (n2 x d), S1 = A'A and S2 = B'B, the
    non-zero eigenvalues of S1 S2 are the squared singular values of A B' (n1 x n2), so
    tr sqrt(S1 S2) = sum of those singular values. scipy's 2048x2048 ``sqrtm`` (clean-fid's
    route) gives the same number up to its error on singular matrices, in ~40 s instead
    of milliseconds, which would cost minutes per row on 2 CPU cores."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    ca = (a - mu_a) / np.sqrt(len(a) - 1)
    cb = (b - mu_b) / np.sqrt(len(b) - 1)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    return float(((mu_a - mu_b) ** 2).sum() + (ca * ca).sum() + (cb * cb).sum()
                 - 2 * trace_sqrt)


FID_METHODS = ("small_sample", "cleanfid")


def fid_from_features(a: np.ndarray, b: np.ndarray, method: str = "small_sample") -> float:
    """FID of two N x 2048 feature sets: ``small_sample`` (exact, fast) or ``cleanfid``
    (clean-fid's ``fid_from_feats``, scipy sqrtm)."""
    if method == "cleanfid":
        from cleanfid.fid import fid_from_feats

        return float(fid_from_feats(a, b))
    if method != "small_sample":
        raise ValueError(f"fid method '{method}' is not one of {', '.join(FID_METHODS)}")
    return frechet_distance_small_sample(a, b)
