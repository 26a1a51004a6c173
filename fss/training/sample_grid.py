"""The picture a person checks during training: per pair, photo | mask | RCS face
map | RCS hair map | generated | real sketch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from fss.io import save_png_atomic


def _tile(t: torch.Tensor | None, signed: bool, shape: tuple[int, int]) -> np.ndarray:
    if t is None:  # no RCS maps for this row: a mid-grey tile, not a missing column
        return np.full((*shape, 3), 128, np.uint8)
    x = t.detach().float().cpu()[0]
    if signed:
        x = (x + 1) / 2
    x = (x.clamp(0, 1) * 255).round().byte().numpy()
    x = np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x
    return x.transpose(1, 2, 0)


def sample_grid(rows: list[dict[str, torch.Tensor | None]]) -> np.ndarray:
    """``rows``: dicts with photo, mask, face, hair, fake, real (1xCxHxW tensors;
    photo/fake/real in [-1, 1], maps in [0, 1]) -> one uint8 HxWx3 image."""
    lines = []
    for r in rows:
        shape = tuple(r["photo"].shape[-2:])
        tiles = [_tile(r["photo"], True, shape), _tile(r["mask"], False, shape),
                 _tile(r.get("face"), False, shape), _tile(r.get("hair"), False, shape),
                 _tile(r["fake"], True, shape), _tile(r["real"], True, shape)]
        lines.append(np.concatenate(tiles, axis=1))
    return np.concatenate(lines, axis=0)


def save_grid(path: Path, rows: list[dict[str, torch.Tensor | None]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(path, sample_grid(rows))
    return path
