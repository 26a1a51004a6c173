"""The training loop shared by every row: deterministic order and augmentation
(drawn from generators seeded by seed/epoch/iteration, so a resumed run replays the
same draws), linear-decay schedule, checkpoints, curves, MLflow, final export."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from fss.device import resolve_device
from fss.io import write_json
from fss.training import checkpoint as ckpt
from fss.training.config import TrainingConfig
from fss.training.dataset import PairSet, make_batch
from fss.training.methods import Method, build_method
from fss.training.sample_grid import save_grid


def lr_factor(epoch: int, epochs: int, epochs_decay: int) -> float:
    """Constant, then linear decay over the last ``epochs_decay`` epochs (CUT's rule:
    epoch e of n keeps 1 - max(0, e + 1 - n_const) / (n_decay + 1))."""
    n_const = epochs - epochs_decay
    return 1.0 - max(0, epoch + 1 - n_const) / float(epochs_decay + 1)


def iteration_generator(seed: int, epoch: int, it: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 10_007 + it)


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    return torch.randperm(n, generator=iteration_generator(seed, epoch, -1)).tolist()


def _write_curves(path: Path, history: list[dict[str, float]]) -> None:
    keys: list[str] = []
    for h in history:
        keys += [k for k in h if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for h in history:
        w.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in h.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


def _state(method: Method, epoch: int, history: list, fingerprint: str, run_id: str | None):
    return {"epoch": epoch, "history": history, "fingerprint": fingerprint, "run_id": run_id,
            "nets": {k: n.state_dict() for k, n in method.nets.items()},
            "optims": {k: o.state_dict() for k, o in method.optims.items()}}


def _restore(method: Method, state: dict[str, Any]) -> None:
    for k, n in method.nets.items():
        n.load_state_dict(ckpt.strip_ddp(state["nets"][k]))
    for k, o in method.optims.items():
        o.load_state_dict(state["optims"][k])


def export_generator(method: Method, path: Path, cfg: TrainingConfig) -> None:
    g = method.nets[method.generator_key]
    ckpt.save_atomic({"state_dict": g.state_dict(), "in_channels": g.in_channels,
                      "out_channels": g.out_channels, "generator": asdict(cfg.model.generator()),
                      "mask_input": method.mask_input, "row": cfg.row_name}, path)


def _grid_rows(method: Method, data: PairSet, k: int, device: torch.device) -> list[dict]:
    rows = []
    for i in range(min(k, len(data))):
        b = make_batch(data, i, False, device)
        rows.append({"photo": b.photo, "mask": b.mask, "face": b.face, "hair": b.hair,
                     "fake": method.sketch(b.photo, b.mask), "real": b.sketch})
    return rows


def train_row(cfg: TrainingConfig, data: PairSet, out_dir: Path, curves_csv: Path,
              metrics_json: Path, *, resume: bool = True, tracker=None,
              progress: bool = True) -> dict[str, Any]:
    """Train one row on ``data`` (the training pairs), writing ``out_dir/latest.pt``
    (full state, every ``checkpoint_every`` epochs and at the end),
    ``out_dir/generator.pt`` (for inference), ``out_dir/samples/``, the per-epoch
    curves and the summary metrics. ``tracker``: a ``fss.tracking.Tracker``-like
    factory ``(run_id) -> tracker`` or None for no tracking."""
    t = cfg.train
    if t.threads > 0:
        torch.set_num_threads(t.threads)
    if cfg.row.needs_maps and (data.face is None or data.hair is None):
        raise ValueError(f"row '{cfg.row_name}' samples with '{cfg.row.sampling}' but the "
                         "training set has no RCS maps (run pretrain_rcs first)")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    method = build_method(cfg).to(device)
    fingerprint = ckpt.config_fingerprint(
        {"config": asdict(cfg), "ids": data.ids, "size": list(data.photos.shape[-2:])})

    latest = out_dir / "latest.pt"
    start, history, run_id = 0, [], None
    if resume and latest.is_file():
        state = ckpt.load(latest, device)
        if state.get("fingerprint") == fingerprint:
            _restore(method, state)
            start, history, run_id = state["epoch"], state["history"], state.get("run_id")
            print(f"train {cfg.row_name}: resuming after epoch {start} from {latest}")
        else:
            print(f"train {cfg.row_name}: {latest} was made with other settings; starting anew")
    run = tracker(run_id) if tracker is not None else None
    run_id = run.run_id if run is not None else None

    n = len(data)
    iters = min(t.iters_per_epoch, n) if t.iters_per_epoch > 0 else n
    t0 = time.time()
    bar = tqdm(total=t.epochs * iters, initial=start * iters, desc=f"train {cfg.row_name}",
               unit="it", disable=not progress, mininterval=5)
    status = "FAILED"
    try:
        for epoch in range(start, t.epochs):
            lr = t.lr * lr_factor(epoch, t.epochs, t.epochs_decay)
            method.set_lr(lr)
            sums: dict[str, float] = {}
            te = time.time()
            for it, i in enumerate(epoch_order(n, cfg.seed, epoch)[:iters]):
                gen = iteration_generator(cfg.seed, epoch, it)
                flip = t.flip and bool(torch.rand(1, generator=gen) < 0.5)
                unpaired = (int(torch.randint(n, (1,), generator=gen))
                            if cfg.row.model == "cyclegan" else None)
                losses = method.step(make_batch(data, i, flip, device, unpaired), gen)
                for k, v in losses.items():
                    if not math.isfinite(v):
                        raise FloatingPointError(
                            f"train {cfg.row_name}: loss {k} became {v} at epoch {epoch + 1}, "
                            f"iteration {it + 1} (lower train.lr?)")
                    sums[k] = sums.get(k, 0.0) + v
                bar.update(1)
            means = {k: v / iters for k, v in sums.items()}
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items() if k in ("L1", "NCE", "D")})
            history.append({"epoch": epoch + 1, **means, "lr": lr,
                            "seconds": round(time.time() - te, 3)})
            _write_curves(curves_csv, history)
            if run is not None:
                run.log_metrics({**means, "lr": lr}, step=epoch + 1)
            last = epoch + 1 == t.epochs
            if (epoch + 1) % t.checkpoint_every == 0 or last:
                ckpt.save_atomic(_state(method, epoch + 1, history, fingerprint, run_id), latest)
            if (epoch + 1) % t.sample_every == 0 or last:
                grid = save_grid(out_dir / "samples" / f"epoch_{epoch + 1:04d}.png",
                                 _grid_rows(method, data, t.sample_ids, device))
                if run is not None:
                    run.log_artifact(grid, "samples")
        bar.close()
        export_generator(method, out_dir / "generator.pt", cfg)
        summary = summarize(cfg, history, iters, time.time() - t0, device)
        write_json(metrics_json, summary)
        if run is not None:
            run.log_metrics({k: v for k, v in summary.items()
                             if isinstance(v, int | float) and not isinstance(v, bool)})
        status = "FINISHED"
        return summary
    finally:
        bar.close()
        if run is not None:
            run.end(status)


def summarize(cfg: TrainingConfig, history: list[dict[str, float]], iters: int,
              seconds: float, device: torch.device) -> dict[str, Any]:
    """The numbers DVC compares: first/last epoch L1 (held-in), and the cost."""
    first, last = history[0], history[-1]
    trained = [h["seconds"] for h in history]
    return {
        "row": cfg.row_name, "epochs": len(history), "iters_per_epoch": iters,
        "device": str(device),
        "l1_first_epoch": round(first["L1"], 5), "l1_last_epoch": round(last["L1"], 5),
        "l1_ratio": round(last["L1"] / first["L1"], 4) if first["L1"] else None,
        "final": {k: round(v, 5) for k, v in last.items() if k not in ("epoch", "seconds")},
        "seconds_per_iter": round(sum(trained) / (len(trained) * iters), 4),
        "seconds_this_run": round(seconds, 1),
    }
