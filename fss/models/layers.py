"""Small building blocks shared by the generator and the discriminator: anti-aliased
down/up-sampling (blur then stride, as CUT does with anti-aliasing on) and norms."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


NORMS = ("instance", "batch", "none")  # what norm_layer builds


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm '{kind}' is not one of instance, batch, none")


def _binomial(taps: int) -> torch.Tensor:
    row = {3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0]}[taps]
    k = torch.tensor(row)
    k = k[:, None] * k[None, :]
    return k / k.sum()


class Downsample(nn.Module):
    """Blur with a 3x3 binomial filter, then keep every second pixel: halving the
    size without the aliasing of a strided conv or max-pool."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.register_buffer("kernel", _binomial(3)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.kernel, stride=2, groups=self.channels)


class Upsample(nn.Module):
    """Double the size by a transposed conv with a fixed 4x4 binomial kernel (zero
    insertion + blur); the replicate pad and crop keep borders from darkening."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.register_buffer("kernel", (_binomial(4) * 4)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        y = F.conv_transpose2d(x, self.kernel, stride=2, padding=2, groups=self.channels)
        return y[:, :, 1:-1, 1:-1]


INIT_TYPES = ("xavier", "normal")


def init_weights(net: nn.Module, gain: float = 0.02, kind: str = "xavier") -> None:
    """Conv/linear weights from ``kind``, biases 0: ``xavier`` (Xavier-normal with
    ``gain``, CUT's default) or ``normal`` (N(0, gain), pix2pix/CycleGAN's default).
    Batch-norm scales N(1, gain) either way, as all three do."""
    if kind not in INIT_TYPES:
        raise ValueError(f"init type '{kind}' is not one of {', '.join(INIT_TYPES)}")
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            else:
                nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
