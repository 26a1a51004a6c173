"""Where PatchNCE samples its patches: uniform (CUT), region-constrained (RCS) and
dynamic (DSS). Pure functions on maps and index tensors, so they test without a model.

A location is a flat index ``y * W + x`` into one layer's feature map; the same
indices are applied to the query (synthesized sketch) and the key (photo) features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from fss.config import Fraction, NonNegInt, PosInt

STRATEGIES = ("uniform", "rcs", "dss")


@dataclass(frozen=True)
class SamplingParams:
    num_patches: PosInt = 256      # uniform (CUT) locations per layer
    n_face: PosInt = 256           # RCS: locations from the face region
    n_hair: NonNegInt = 128        # RCS: locations from the hair region (not face)
    region_threshold: Fraction = 0.5   # map > threshold = inside the region
    dss_threshold: Fraction = 0.8      # DSS: density above this = sampled twice


def resize_map(prob: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """A HxW probability map at a layer's size. Smaller layers (the strided encoder)
    take area interpolation, which keeps the mean density of the pixels a feature
    location covers. A larger layer is layer 0, the input reflect-padded by the
    generator: the map is reflect-padded by the same border, so every location keeps
    the pixel it belongs to (stretching would shift the map by up to the border)."""
    H, W = prob.shape[-2:]
    if (H, W) == (h, w):
        return prob
    x = prob.reshape(1, 1, H, W).float()
    if h <= H and w <= W:
        return F.interpolate(x, size=(h, w), mode="area")[0, 0]
    pad_h, pad_w = h - H, w - W
    if pad_h < 0 or pad_w < 0 or pad_h % 2 or pad_w % 2 or pad_h != pad_w:
        raise ValueError(f"a {H}x{W} map cannot be padded evenly to a {h}x{w} layer")
    p = pad_h // 2
    return F.pad(x, (p, p, p, p), mode="reflect")[0, 0]


def uniform_indices(h: int, w: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """CUT's sampling: ``min(n, h*w)`` distinct locations over the whole map."""
    return torch.randperm(h * w, generator=generator)[: min(n, h * w)]


def _pick(candidates: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    if candidates.numel() <= n:
        return candidates
    return candidates[torch.randperm(candidates.numel(), generator=generator)[:n]]


def region_indices(face: torch.Tensor, hair: torch.Tensor, p: SamplingParams,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """RCS: ``n_face`` locations with face > threshold and ``n_hair`` with hair >
    threshold outside the face, uniformly within each; a region with too few
    locations gives all it has. Returns (indices, density of each location)."""
    f, hr = face.flatten(), hair.flatten()
    in_face = f > p.region_threshold
    in_hair = (hr > p.region_threshold) & ~in_face
    face_idx = _pick(torch.nonzero(in_face).flatten(), p.n_face, generator)
    hair_idx = _pick(torch.nonzero(in_hair).flatten(), p.n_hair, generator)
    idx = torch.cat([face_idx, hair_idx])
    density = torch.cat([f[face_idx], hr[hair_idx]])
    return idx, density


def dynamic_indices(face: torch.Tensor, hair: torch.Tensor, p: SamplingParams,
                    generator: torch.Generator) -> torch.Tensor:
    """DSS: RCS's locations, those with density over ``dss_threshold`` twice."""
    idx, density = region_indices(face, hair, p, generator)
    return torch.cat([idx, idx[density > p.dss_threshold]])


def doubled_share(idx: torch.Tensor, distinct: int | None = None) -> float:
    """Of the distinct locations in ``idx``, the share that appear twice (DSS's
    doubled ones): the measure of how selective DSS's density threshold is.
    ``distinct``: their count where the caller has it already."""
    if distinct is None:
        distinct = torch.unique(idx).numel()
    return (idx.numel() - distinct) / distinct if distinct else 0.0


class Locations(NamedTuple):
    """One layer's sampled locations, with what the sampler learned drawing them."""
    idx: torch.Tensor      # flat indices, a DSS twin repeated
    distinct: int          # distinct locations among them
    fell_back: bool        # a region strategy that had to sample uniformly

    def doubled_share(self) -> float:
        return doubled_share(self.idx, self.distinct)


def sample_indices(strategy: str, h: int, w: int, face: torch.Tensor | None,
                   hair: torch.Tensor | None, p: SamplingParams,
                   generator: torch.Generator) -> Locations:
    """Locations for one image at one layer of size ``h x w``; the maps are resized to
    it (a no-op for maps already at that size). Region strategies fall back to
    uniform only when the maps hold fewer than two region locations at this layer (no
    contrast is possible otherwise); ``fell_back`` says so, so training can report it."""
    if strategy not in STRATEGIES:
        raise ValueError(f"sampling strategy '{strategy}' is not one of {', '.join(STRATEGIES)}")
    if strategy == "uniform":
        idx = uniform_indices(h, w, p.num_patches, generator)
        return Locations(idx, idx.numel(), False)
    if face is None or hair is None:
        raise ValueError(f"sampling '{strategy}' needs the RCS face and hair maps")
    f, hr = resize_map(face, h, w), resize_map(hair, h, w)
    if strategy == "rcs":
        idx = region_indices(f, hr, p, generator)[0]
    else:
        idx = dynamic_indices(f, hr, p, generator)
    distinct = torch.unique(idx).numel()
    if distinct < 2:
        idx = uniform_indices(h, w, p.num_patches, generator)
        return Locations(idx, idx.numel(), True)
    return Locations(idx, distinct, False)
