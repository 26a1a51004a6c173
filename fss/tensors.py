"""Images and tensors, the one place that says how each becomes the other: 8-bit
images as float tensors (photos and sketches in [-1, 1], masks and maps in [0, 1]), a
generator's input (RGB, plus the person mask as a 0/1 fourth channel when the generator
takes one) and its output as an 8-bit image. Training (``fss.training.dataset``) and
inference (evaluation, ``fss sketch``, export) both read it."""

from __future__ import annotations

import numpy as np
import torch


def image_tensor(a: np.ndarray, signed: bool) -> torch.Tensor:
    """HxW or HxWx3 uint8 -> CxHxW float, in [-1, 1] (``signed``) or [0, 1]."""
    t = torch.from_numpy(np.array(a, dtype=np.float32, copy=True)) / 255.0
    t = t.permute(2, 0, 1) if t.ndim == 3 else t[None]
    return t * 2 - 1 if signed else t


def photo_tensor(rgb: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [-1, 1]."""
    return image_tensor(rgb, signed=True)


def mask_channel(mask: np.ndarray) -> torch.Tensor:
    """1xHxW 0/1: a bool mask as it is, a uint8 mask (255 = person) above half scale."""
    m = np.asarray(mask)
    person = m if m.dtype == bool else m.astype(np.float32) / 255.0 > 0.5
    return torch.from_numpy(np.ascontiguousarray(person, dtype=np.float32))[None]


def generator_input(rgb: np.ndarray, mask: np.ndarray | None, mask_input: bool) -> torch.Tensor:
    """1xCxHxW: the photo, and its mask as a fourth channel when ``mask_input``."""
    x = photo_tensor(rgb)
    if mask_input:
        if mask is None:
            raise ValueError("this generator takes a person mask and none was given")
        if np.asarray(mask).shape[:2] != rgb.shape[:2]:
            raise ValueError(f"mask {np.asarray(mask).shape[:2]} and photo {rgb.shape[:2]} "
                             "differ in size")
        x = torch.cat([x, mask_channel(mask)], dim=0)
    return x[None]


def sketch_uint8(y: torch.Tensor | np.ndarray) -> np.ndarray:
    """A 2-D map in [-1, 1] -> HxW uint8 (the inverse of the photo scaling)."""
    t = torch.as_tensor(y).float()
    return ((t.clamp(-1, 1) + 1) * 127.5).round().byte().cpu().numpy()
