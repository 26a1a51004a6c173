"""CUT's ResNet generator: a layer-indexed encoder (so PatchNCE can read chosen
layers), residual blocks, and an anti-aliased decoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from fss.models.layers import Downsample, Upsample, norm_layer


@dataclass(frozen=True)
class GeneratorParams:
    ngf: int = 64
    n_blocks: int = 9
    norm: str = "instance"
    n_downsampling: int = 2


class ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """``in_channels`` is 3 (photo) or 4 (photo + mask); ``out_channels`` 1 for a
    grayscale sketch. ``self.model`` is one flat Sequential so that layer indices
    (0 = padded input, 4 and 8 = the downsampling convs, 12, 16 = residual blocks 0
    and 4 with ngf 64 defaults) mean what they mean in CUT."""

    def __init__(self, in_channels: int, out_channels: int, p: GeneratorParams):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        ngf = p.ngf
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7), norm_layer(p.norm, ngf),
            nn.ReLU(True),
        ]
        ch = ngf
        for _ in range(p.n_downsampling):
            layers += [nn.Conv2d(ch, ch * 2, 3, padding=1), norm_layer(p.norm, ch * 2),
                       nn.ReLU(True), Downsample(ch * 2)]
            ch *= 2
        layers += [ResnetBlock(ch, p.norm) for _ in range(p.n_blocks)]
        self.n_encoder_layers = len(layers)
        for _ in range(p.n_downsampling):
            layers += [Upsample(ch), nn.Conv2d(ch, ch // 2, 3, padding=1),
                       norm_layer(p.norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.shape[1] != self.in_channels:
            raise ValueError(f"generator expects {self.in_channels} input channels, "
                             f"got {x.shape[1]}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self.model(x)

    def _run(self, x: torch.Tensor, layers: tuple[int, ...], stop: int | None
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run ``self.model`` up to layer ``stop`` (None: to the end), keeping the
        outputs of the listed encoder layers."""
        bad = [i for i in layers if not 0 <= i < self.n_encoder_layers]
        if bad:
            raise ValueError(f"nce layers {bad} outside the encoder (0..{self.n_encoder_layers - 1})")
        feats = []
        for i, layer in enumerate(self.model):
            x = layer(x)
            if i in layers:
                feats.append(x)
            if i == stop:
                break
        return x, feats

    def encode(self, x: torch.Tensor, layers: tuple[int, ...]) -> list[torch.Tensor]:
        """Outputs of the listed encoder layers, in order (stops after the last)."""
        return self._run(x, layers, max(layers))[1]

    def forward_with_features(self, x: torch.Tensor, layers: tuple[int, ...]
                              ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output and, from the same pass, the listed encoder layers' outputs: the
        PatchNCE keys of the input, which a second ``encode`` would only recompute."""
        self._check_input(x)
        return self._run(x, layers, None)

    def layer_channels(self, layers: tuple[int, ...]) -> list[int]:
        """Channels of each listed encoder layer's output (to size the MLP heads)."""
        with torch.no_grad():
            probe = torch.zeros(1, self.in_channels, 16, 16,
                                device=next(self.parameters()).device)
            return [f.shape[1] for f in self.encode(probe, layers)]
