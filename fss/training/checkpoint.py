"""Checkpoints that load anywhere: tensors saved from contiguous CPU copies, loaded with
``map_location``, and DDP's ``module.`` prefix stripped, so a file written on a GPU
(one process or DDP) resumes or infers on a CPU and vice versa."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch


def config_fingerprint(config: dict[str, Any]) -> str:
    """Hash of everything that shapes a run: resuming a checkpoint of other settings
    would silently mix two experiments, so the loop refuses to."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _cpu(obj: Any) -> Any:
    # Contiguous too: a channels_last run's weights then load into any model as-is.
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().contiguous()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def strip_ddp(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(_cpu(obj), tmp)
    os.replace(tmp, path)


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({e.__class__.__name__}: {e})") from e


def load_generator(path: Path, map_location: str | torch.device = "cpu"):
    """The exported generator (``generator.pt``) as a ready ``ResnetGenerator`` in eval
    mode, with ``mask_input`` telling whether it wants the photo mask as 4th channel."""
    from fss.models.generator import GeneratorParams, ResnetGenerator

    ck = load(path, map_location)
    for key in ("state_dict", "in_channels", "out_channels", "generator"):
        if key not in ck:
            raise ValueError(f"{path}: not an fss generator file (no '{key}')")
    g = ResnetGenerator(ck["in_channels"], ck["out_channels"], GeneratorParams(**ck["generator"]))
    g.load_state_dict(strip_ddp(ck["state_dict"]))
    g.mask_input = bool(ck.get("mask_input", False))
    return g.eval()
