"""Checkpoints that load anywhere and run nothing: tensors saved from contiguous CPU
copies, read back with ``torch.load(weights_only=True)`` and ``map_location``, and
DDP's ``module.`` prefix stripped, so a file written on a GPU (one process or DDP)
resumes or infers on a CPU and vice versa. The model file itself (``generator.pt``)
belongs to ``fss.inference.model_file``; this module keeps the training state."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from fss.inference.model_file import ModelFileError, safe_load, save_atomic, strip_ddp
from fss.inference.model_file import load_model as _load_model

__all__ = ["CheckpointError", "config_fingerprint", "load", "load_generator", "save_atomic",
           "strip_ddp"]


class CheckpointError(ModelFileError):
    """A checkpoint that cannot be read (truncated, foreign, or carrying objects)."""


def config_fingerprint(config: dict[str, Any]) -> str:
    """Hash of everything that shapes a run: resuming a checkpoint of other settings
    would silently mix two experiments, so the loop refuses to."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A training checkpoint (``latest.pt``): plain values and tensors only."""
    try:
        state = safe_load(path, map_location, what="checkpoint")
    except ModelFileError as e:
        raise CheckpointError(str(e)) from e
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a readable checkpoint (holds a "
                              f"{type(state).__name__}, not a mapping)")
    return state


def load_generator(path: Path, map_location: str | torch.device = "cpu"):
    """The exported generator as a ready ``ResnetGenerator`` (``mask_input`` set)."""
    return _load_model(path, map_location)[0]
