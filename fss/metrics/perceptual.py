"""FSIM, LPIPS and DISTS, the metrics the field reports beside FID, through their
maintained packages and offline: FSIM from ``piq`` (no weights); LPIPS from ``lpips``
(VGG variant, its shipped linear layers) and DISTS from ``DISTS_pytorch`` (its shipped
alpha/beta), both on the registry's ImageNet VGG16 (``vgg16_features``, sha256-checked)
instead of torchvision's download.

Sketches are grayscale: FSIM takes them as one channel (``chromatic=False``, equal to
the 3-channel replicated gray); LPIPS and DISTS take the gray replicated to 3 channels.
Every image is scored at the size it is stored at (the aligned size): nothing is resized.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

PERCEPTUAL_KEYS = ("fsim", "lpips", "dists")


def gray_batch(images: Sequence[np.ndarray]) -> torch.Tensor:
    """N x 1 x H x W floats in [0, 255] from 8-bit grayscale images of one size."""
    if not images or any(im.ndim != 2 or im.shape != images[0].shape for im in images):
        raise ValueError("perceptual metrics need grayscale images of one size, got "
                         f"{sorted({im.shape for im in images})}")
    return torch.from_numpy(np.stack(images).astype(np.float32))[:, None]


def fsim(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per image FSIM (piq, data range 255) of N x 1 x H x W gray batches."""
    import piq

    return piq.fsim(fake, real, data_range=255.0, chromatic=False, reduction="none")


def registry_vgg16() -> dict[str, torch.Tensor]:
    """The registry's VGG16 ``features`` weights (sha256-checked by ``resolve``)."""
    from fss.weights import resolve

    return torch.load(resolve("vgg16_features"), map_location="cpu", weights_only=True)


def load_vgg16_convs(net: nn.Module, state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Load torchvision's vgg16().features weights (the registry file unless ``state``
    is given) into a network built from those layers, whose conv layers keep their
    index in ``features`` as their name (lpips's slices, DISTS's stages)."""
    if state is None:
        state = registry_vgg16()
    loaded = set()
    for name, module in net.named_modules():
        idx = name.rsplit(".", 1)[-1]
        if isinstance(module, nn.Conv2d) and idx.isdigit():
            module.weight.data.copy_(state[f"{idx}.weight"].float())
            module.bias.data.copy_(state[f"{idx}.bias"].float())
            loaded.add(idx)
    want = {k.split(".")[0] for k in state}
    if loaded != want:
        raise RuntimeError(f"VGG16 weights do not fit: loaded layers {sorted(loaded)}, the "
                           f"file has {sorted(want)}")
    return net


@contextmanager
def _no_random_init() -> Iterator[None]:
    """Build a network without drawing its random initial weights: torch.nn.init's
    fills do nothing while it lasts. Only for nets whose every used weight is loaded
    right after (the VGG16 trunks below; their unused classifier stays uninitialised
    memory): drawing VGG16's 138 M random weights took ~1.1 s per net in every
    evaluation, for values that were overwritten at once."""
    import torch.nn.init as init

    names = ("uniform_", "normal_", "constant_", "kaiming_uniform_", "kaiming_normal_",
             "xavier_uniform_", "xavier_normal_", "zeros_", "ones_", "trunc_normal_")
    real = {n: getattr(init, n) for n in names}
    for n in names:
        setattr(init, n, lambda tensor, *_, **__: tensor)
    try:
        yield
    finally:
        for n, f in real.items():
            setattr(init, n, f)


def build_lpips(state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """lpips.LPIPS(net='vgg') with a randomly built trunk (no torchvision download),
    then the registry's VGG16 in its slices; the linear layers ship with the package."""
    import warnings

    import lpips

    with warnings.catch_warnings():  # lpips passes torchvision the old `pretrained=`
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        with _no_random_init():
            model = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)
    load_vgg16_convs(model.net, state)
    return model.eval()


@contextmanager
def _no_torchvision_download() -> Iterator[None]:
    """DISTS_pytorch always asks for ``vgg16(pretrained=True)``; hand it an
    uninitialised VGG16 instead while it is built."""
    import torchvision
    from DISTS_pytorch import DISTS_pt

    real = DISTS_pt.models

    class _Models:
        @staticmethod
        def vgg16(**_: object) -> nn.Module:
            return torchvision.models.vgg16(weights=None)

    DISTS_pt.models = _Models
    try:
        yield
    finally:
        DISTS_pt.models = real


def build_dists(state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """DISTS_pytorch.DISTS with the registry's VGG16 and the package's own alpha/beta
    (read from the package folder, not from ``sys.prefix`` as its constructor does)."""
    from DISTS_pytorch import DISTS_pt

    with _no_torchvision_download(), _no_random_init():
        model = DISTS_pt.DISTS(load_weights=False)
    load_vgg16_convs(model, state)
    ab = torch.load(Path(DISTS_pt.__file__).parent / "weights.pt", map_location="cpu",
                    weights_only=True)
    model.alpha.data, model.beta.data = ab["alpha"], ab["beta"]
    return model.eval()


class PerceptualMetrics:
    """Scores batches of (synthesized, real) gray images with the chosen metrics."""

    def __init__(self, keys: Sequence[str] = PERCEPTUAL_KEYS,
                 device: torch.device | str = "cpu", batch_size: int = 16,
                 vgg_state: dict[str, torch.Tensor] | None = None):
        unknown = sorted(set(keys) - set(PERCEPTUAL_KEYS))
        if unknown:
            raise ValueError(f"perceptual metric(s) {', '.join(unknown)} not one of "
                             f"{', '.join(PERCEPTUAL_KEYS)}")
        if batch_size < 1:
            raise ValueError(f"evaluate.batch_size must be >= 1, got {batch_size}")
        self.keys, self.device, self.batch_size = tuple(keys), torch.device(device), batch_size
        if vgg_state is None and {"lpips", "dists"} <= set(keys):
            vgg_state = registry_vgg16()  # both take it: read (and sha256-check) it once
        # NHWC: oneDNN's convolutions on this layout ran LPIPS 1.85x and DISTS 1.35x faster
        # on 2 CPU cores (reports/benchmarks.md), the scores within 2e-7 of NCHW's.
        layout = torch.channels_last
        self.lpips = (build_lpips(vgg_state).to(self.device, memory_format=layout)
                      if "lpips" in keys else None)
        self.dists = (build_dists(vgg_state).to(self.device, memory_format=layout)
                      if "dists" in keys else None)

    @torch.inference_mode()
    def batch(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, np.ndarray]:
        """Per image scores of N x 1 x H x W gray batches in [0, 255]."""
        fake, real = fake.to(self.device), real.to(self.device)
        out: dict[str, np.ndarray] = {}
        if "fsim" in self.keys:
            out["fsim"] = fsim(fake, real).cpu().numpy()
        f3, r3 = ((x.expand(-1, 3, -1, -1) / 255.0).contiguous(memory_format=torch.channels_last)
                  for x in (fake, real))
        if self.lpips is not None:
            out["lpips"] = self.lpips(f3, r3, normalize=True).flatten().cpu().numpy()
        if self.dists is not None:
            out["dists"] = self.dists(f3, r3).reshape(-1).cpu().numpy()
        return {k: out[k] for k in self.keys}

    def __call__(self, fakes: Sequence[np.ndarray], reals: Sequence[np.ndarray]
                 ) -> dict[str, list[float]]:
        """Per image scores of lists of 8-bit gray images, in order."""
        if len(fakes) != len(reals):
            raise ValueError(f"{len(fakes)} synthesized images for {len(reals)} real ones")
        out: dict[str, list[float]] = {k: [] for k in self.keys}
        for i in range(0, len(fakes), self.batch_size):
            got = self.batch(gray_batch(fakes[i:i + self.batch_size]),
                             gray_batch(reals[i:i + self.batch_size]))
            for k, v in got.items():
                out[k] += [float(x) for x in v]
        return out
