"""Region-Constrained Sampling (RCS) network (paper Eqs. 1-6): from a photo, a HAIR
map A (channel branch) and a FACE map B (fused channel + spatial branch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from fss.config import Fraction, NonNegFloat, NonNegInt, PosFloat, PosInt


@dataclass(frozen=True)
class RCSParams:
    channels: PosInt = 32  # stem width
    reduction: PosInt = 4  # channel-branch FC bottleneck ratio
    stem_downsample: NonNegInt = 2  # stride-2 convs in the stem; maps are upsampled back
    epochs: PosInt = 30
    lr: PosFloat = 1e-3
    batch_size: PosInt = 8
    threshold: Fraction = 0.5  # map > threshold = region (IoU metric and sampling)
    forehead: NonNegFloat = 0.25  # face label grown upward by this fraction of the oval height
    dice_weight: NonNegFloat = 1.0
    # Graded density labels (docs/method-notes.md, "Graded density"): inside a region the
    # label rises from ``density_floor`` (sparse) to 1 (dense) as floor + (1 - floor)
    # u^gamma, u = the pixel's density rank within its region; face density = closeness
    # to the face mesh's vertices (KDE, bandwidth ``density_sigma`` x the face-oval
    # height), hair density = depth inside the hair region.
    density_floor: Annotated[float, Field(gt=0.5, lt=1)] = 0.6
    density_gamma: PosFloat = 3.0
    density_sigma: PosFloat = 0.04


def _conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Stem(nn.Module):
    """Photo -> feature map p at 1 / 2**downsample of the input size.

    The paper does not describe the layers before the attention branches. Besides the
    strided convs, three dilated 3x3 convs (residual) widen the receptive field to
    about half a face: telling the face from the neck, or hair from a dark
    background, needs context that a few plain 3x3 convs do not see."""

    def __init__(self, channels: int, downsample: int):
        super().__init__()
        c = channels
        first = _conv_bn_relu(3, c, stride=2 if downsample > 0 else 1)
        self.down = nn.Sequential(first, *[_conv_bn_relu(c, c, 2) for _ in range(downsample - 1)])
        self.context = nn.ModuleList([_conv_bn_relu(c, c, dilation=d) for d in (2, 4, 8)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.down(x)
        for block in self.context:
            p = p + block(p)
        return p


class ChannelBranch(nn.Module):
    """Eqs. 1-3: z_c = AvgPool(p); s = sigmoid(FC(ReLU(FC(z_c)))); (p)_c = Conv1x1(s p)."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.fc(p.mean(dim=(2, 3))))
        return self.conv(p * s[:, :, None, None])


class SpatialBranch(nn.Module):
    """Eqs. 4-5: z_s = Conv1x1(p) (one channel); (p)_s = sigmoid(z_s) p."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(p)) * p


class RCSNet(nn.Module):
    """``forward(photo)`` -> (hair A, face B), each Bx1xHxW in [0, 1] at the photo's
    size; photo Bx3xHxW in [-1, 1]. Fully convolutional."""

    def __init__(self, p: RCSParams):
        super().__init__()
        c = p.channels
        self.stem = Stem(c, p.stem_downsample)
        self.channel = ChannelBranch(c, p.reduction)
        self.spatial = SpatialBranch(c)
        self.fuse = nn.Conv2d(c, c, 1)  # Eq. 6
        self.hair_head = nn.Conv2d(c, 1, 1)
        self.face_head = nn.Conv2d(c, 1, 1)

    def logits(self, photo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-sigmoid (hair, face) at the photo's size. Logits are upsampled rather
        than probabilities so training can use the numerically stable BCE-with-logits;
        the sigmoid of a bilinear upsample of logits is still in [0, 1]."""
        p = self.stem(photo)
        pc = self.channel(p)
        ff = self.fuse(self.spatial(p) + pc)
        size = photo.shape[-2:]
        hair = F.interpolate(self.hair_head(pc), size=size, mode="bilinear", align_corners=False)
        face = F.interpolate(self.face_head(ff), size=size, mode="bilinear", align_corners=False)
        return hair, face

    def forward(self, photo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hair, face = self.logits(photo)
        return torch.sigmoid(hair), torch.sigmoid(face)


def save_rcs(path: Path, net: RCSNet, p: RCSParams) -> None:
    """Params + CPU state dict, written to a temp file and renamed, so a killed run
    never leaves a truncated checkpoint and the file loads on any device (a full disk:
    one line naming ``path``)."""
    from fss.inference.model_file import save_atomic

    save_atomic({"params": asdict(p), "state_dict": net.state_dict()}, path)


