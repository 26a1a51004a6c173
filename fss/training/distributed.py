"""Multi-process data-parallel training, as started by ``torchrun --nproc_per_node=N``.

Why no ``torch.nn.parallel.DistributedDataParallel``: a GAN iteration calls D several
times before one backward, calls G's ``encode()`` (not ``forward``) for PatchNCE, and
freezes D (``requires_grad_(False)``) during the G step. DDP's reducer assumes one
forward of the wrapped module per backward and a fixed set of gradient-producing
parameters; these patterns break it (errors about unused or re-marked parameters, or
silently skipped reductions). Instead every optimizer step all-reduces the gradients of
its own parameters right before ``step()``: the mean of the per-process gradients,
which is exactly what DDP computes. With one process none of this runs, so a plain
``python stages/train.py`` is unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from fss.config import ParamsError
from fss.device import resolve_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    started: bool = False  # this call created the process group, so it must end it

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_info(environ: Mapping[str, str] | None = None) -> DistInfo:
    """Rank, world size and local rank from torchrun's environment (1 process when unset)."""
    env = os.environ if environ is None else environ
    info = DistInfo(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)),
                    int(env.get("LOCAL_RANK", 0)))
    if info.world_size < 1 or not 0 <= info.rank < info.world_size:
        raise ValueError(f"RANK {info.rank} / WORLD_SIZE {info.world_size}: not a valid process")
    return info


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def process_device(name: str, info: DistInfo) -> torch.device:
    """``resolve_device`` for one process: with several processes on CUDA each takes the
    GPU of its local rank (two processes sharing one GPU would make NCCL fail)."""
    dev = resolve_device(name)
    if info.world_size == 1 or dev.type != "cuda":
        return dev
    if dev.index is not None:
        raise ParamsError(f"device '{name}': names one GPU, but {info.world_size} processes "
                          "run (use auto or cuda: each process takes cuda:<local rank>)")
    if info.local_rank >= torch.cuda.device_count():
        raise ParamsError(f"local rank {info.local_rank}: only {torch.cuda.device_count()} "
                          "GPU(s) here (lower --nproc_per_node)")
    return torch.device("cuda", info.local_rank)


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def init_from_env(device_name: str = "auto") -> DistInfo:
    """Join the process group torchrun describes; a group a caller already made is
    reused (and left to that caller to end). One process: no group at all."""
    if is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(),
                        int(os.environ.get("LOCAL_RANK", 0)))
    info = env_info()
    if info.world_size == 1:
        return info
    device = process_device(device_name, info)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL binds to the current device
    dist.init_process_group(backend_for(device), rank=info.rank, world_size=info.world_size)
    return DistInfo(info.rank, info.world_size, info.local_rank, started=True)


def is_main() -> bool:
    return not is_initialized() or dist.get_rank() == 0


def broadcast_parameters(modules: Iterable[nn.Module], src: int = 0) -> None:
    """Rank ``src``'s parameters and buffers to every process, so all start equal even
    if an initialisation is not deterministic across processes."""
    if not is_initialized():
        return
    with torch.no_grad():
        for m in modules:
            for t in [*m.parameters(), *m.buffers()]:
                dist.broadcast(t.data, src)


def _groups(tensors: list[torch.Tensor]) -> dict[tuple, list[torch.Tensor]]:
    # One flat buffer needs one dtype and device.
    out: dict[tuple, list[torch.Tensor]] = {}
    for t in tensors:
        out.setdefault((t.device, t.dtype), []).append(t)
    return out


def average_gradients(parameters: Iterable[torch.Tensor], world_size: int) -> None:
    """Each gradient becomes the mean over processes: one all_reduce of one flat buffer
    (many small all_reduces cost far more than one big one). Parameters without a
    gradient are skipped; every process runs the same code path, so the same ones
    lack a gradient everywhere and the buffers line up."""
    if world_size == 1:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    for group in _groups(grads).values():
        flat = _flatten_dense_tensors(group)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(world_size)
        for g, synced in zip(group, _unflatten_dense_tensors(flat, group), strict=True):
            g.copy_(synced)


def all_reduce_sums(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Per-key sums over processes (float64, so summing epoch losses adds no error)."""
    if not is_initialized():
        return dict(values)
    t = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return dict(zip(values, t.tolist(), strict=True))


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def shutdown() -> None:
    if is_initialized():
        dist.destroy_process_group()
