"""PatchGAN discriminator (70x70 receptive field with 3 layers), anti-aliased."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from fss.models.layers import Downsample, norm_layer


@dataclass(frozen=True)
class DiscriminatorParams:
    ndf: int = 64
    n_layers: int = 3
    norm: str = "instance"


class PatchDiscriminator(nn.Module):
    """One real/fake score per overlapping patch."""

    def __init__(self, in_channels: int, p: DiscriminatorParams):
        super().__init__()
        ndf = p.ndf
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, padding=1),
                                   nn.LeakyReLU(0.2, True), Downsample(ndf)]
        ch = ndf
        for n in range(1, p.n_layers):
            nxt = ndf * min(2 ** n, 8)
            layers += [nn.Conv2d(ch, nxt, 4, padding=1), norm_layer(p.norm, nxt),
                       nn.LeakyReLU(0.2, True), Downsample(nxt)]
            ch = nxt
        nxt = ndf * min(2 ** p.n_layers, 8)
        layers += [nn.Conv2d(ch, nxt, 4, padding=1), norm_layer(p.norm, nxt),
                   nn.LeakyReLU(0.2, True), nn.Conv2d(nxt, 1, 4, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
