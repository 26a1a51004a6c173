"""The patch feature head H (a 2-layer MLP per encoder layer) and the PatchNCE loss."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# CUT fills excluded logits with -10 before dividing by the temperature: exp(-10/0.07)
# is 0 in float32, so an excluded pair contributes nothing to the softmax.
EXCLUDED_LOGIT = -10.0


def same_location_mask(idx: torch.Tensor) -> torch.Tensor:
    """NxN, True where two samples are the same location (the diagonal included):
    those pairs are never each other's negatives, so a DSS twin is no false negative."""
    return idx[:, None] == idx[None, :]


class PatchHead(nn.Module):
    """H: one MLP per NCE layer, features L2-normalised after it."""

    def __init__(self, channels: list[int], dim: int = 256):
        super().__init__()
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels
        )

    def forward(self, feat: torch.Tensor, layer: int, idx: torch.Tensor) -> torch.Tensor:
        """``feat`` 1xCxHxW, ``idx`` N flat locations -> N x dim, unit length."""
        x = feat.flatten(2)[0, :, idx].t()  # N x C
        return F.normalize(self.mlps[layer](x), dim=1)


def patch_nce_loss(q: torch.Tensor, k: torch.Tensor, idx: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """Mean InfoNCE over N queries ``q`` (synthesized sketch) against keys ``k`` (the
    photo at the same locations): the positive is the key at the query's own location,
    negatives are the photo's other sampled locations; a key at the SAME location as
    the query (a DSS twin) is neither. ``k`` is detached (CUT's convention)."""
    k = k.detach()
    pos = (q * k).sum(dim=1, keepdim=True)                     # N x 1
    neg = q @ k.t()                                            # N x N
    neg = neg.masked_fill(same_location_mask(idx.to(q.device)), EXCLUDED_LOGIT)
    logits = torch.cat([pos, neg], dim=1) / temperature
    target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target)
