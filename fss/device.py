"""Which torch device a stage runs on, from params' ``base.device`` (or a command's
``--device``)."""

from __future__ import annotations

import torch

from fss.config import ParamsError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> the first CUDA GPU if there is one, else the CPU; ``cpu``, ``cuda``
    and ``cuda:N`` as named. Asking for a GPU that is not there is an error rather than
    a silent fall-back, so a run never reports CPU numbers as GPU ones."""
    name = str(name).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ParamsError(f"device '{name}': no CUDA GPU is available (use auto or cpu)")
        try:
            dev = torch.device(name)
        except RuntimeError as e:
            raise ParamsError(f"device '{name}': {e}") from None
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ParamsError(f"device '{name}': only {torch.cuda.device_count()} GPU(s) here")
        return dev
    raise ParamsError(f"device '{name}': expected auto, cpu, cuda or cuda:N")
