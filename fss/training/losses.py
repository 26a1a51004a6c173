"""Losses other than PatchNCE: adversarial (LSGAN / vanilla), L1, and the perceptual
loss on a frozen VGG (VGG19 as the paper, or VGG16 at the same five stages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from pydantic import Field

from fss.config import NonNegFloat

GAN_MODES = ("lsgan", "vanilla")
# Index of relu1_1 .. relu5_1 in torchvision's vgg*.features.
VGG_STAGES = {"vgg16": (1, 6, 11, 18, 25), "vgg19": (1, 6, 11, 20, 29)}
# torchvision's vgg16/vgg19 "features" configurations (M = max-pool).
_VGG_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PerceptualParams:
    backbone: Literal["vgg19", "vgg16"] = "vgg19"
    # one weight per VGG stage (relu1_1 .. relu5_1)
    weights: Annotated[tuple[NonNegFloat, ...], Field(min_length=5, max_length=5)] = (
        1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def gan_loss(pred: torch.Tensor, target_is_real: bool, mode: str) -> torch.Tensor:
    """Mean adversarial loss of discriminator outputs against an all-real/all-fake
    target; LSGAN is a squared error, vanilla a sigmoid cross-entropy on logits."""
    target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
    if mode == "lsgan":
        return F.mse_loss(pred, target)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    raise ValueError(f"gan_mode '{mode}' is not one of {', '.join(GAN_MODES)}")


def l1_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(fake, real)


def vgg_features(backbone: str) -> nn.Sequential:
    """An untrained torchvision-layout VGG ``features`` up to relu5_1."""
    if backbone not in _VGG_CFG:
        raise ValueError(f"perceptual backbone '{backbone}' is not one of vgg16, vgg19")
    layers: list[nn.Module] = []
    ch = 3
    for v in _VGG_CFG[backbone]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(ch, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            ch = int(v)
    return nn.Sequential(*layers[: VGG_STAGES[backbone][-1] + 1])


def load_vgg(backbone: str) -> nn.Sequential:
    """VGG features with ImageNet weights from the weights registry (sha256-checked)."""
    from fss.weights import resolve

    net = vgg_features(backbone)
    name = "vgg16_features" if backbone == "vgg16" else "vgg19"
    state = torch.load(resolve(name), map_location="cpu", weights_only=True)
    state = {k.removeprefix("features."): v.float() for k, v in state.items()
             if not k.startswith("classifier")}
    keep = {k: v for k, v in state.items() if int(k.split(".")[0]) < len(net)}
    net.load_state_dict(keep)
    return net


class PerceptualLoss(nn.Module):
    """sum_j w_j * L1(phi_j(fake), phi_j(real)) over relu1_1..relu5_1. Inputs are
    sketches in [-1, 1] with 1 or 3 channels; grayscale is replicated to 3 channels
    and ImageNet-normalised as VGG expects. The VGG is frozen."""

    def __init__(self, p: PerceptualParams, features: nn.Sequential | None = None):
        super().__init__()
        if len(p.weights) != 5:
            raise ValueError(f"loss.perceptual.weights needs 5 values, got {len(p.weights)}")
        self.features = features if features is not None else load_vgg(p.backbone)
        self.features.requires_grad_(False).eval()
        self.stages = VGG_STAGES[p.backbone]
        self.weights = p.weights
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.features.eval()  # frozen: never in training mode
        return self

    def _prep(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return ((x + 1) / 2 - self.mean) / self.std

    def _stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.stages:
                out.append(x)
        return out

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        f = self._stages(self._prep(fake))
        with torch.no_grad():
            r = self._stages(self._prep(real))
        return sum(w * F.l1_loss(a, b) for w, a, b in zip(self.weights, f, r, strict=True))
