"""The training loop shared by every row: deterministic order and augmentation
(drawn from generators seeded by seed/epoch/iteration, so a resumed run replays the
same draws), linear-decay schedule, checkpoints, curves, MLflow, final export.

Under ``torchrun`` (world size W > 1) each optimizer step consumes W samples, one per
process: rank r of step s takes position s * W + r of the epoch's order and draws its
augmentation from the generator of that position, so W = 1 is the single-process run
unchanged and an epoch of ceil(iters / W) steps still visits every pair once. Only
rank 0 writes files and talks to MLflow."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from fss.errors import DivergenceError, UserError
from fss.io import write_csv_rows
from fss.training import checkpoint as ckpt
from fss.training import distributed
from fss.training.config import TrainingConfig, TrainParams
from fss.training.dataset import PairSet, load_size, make_batch
from fss.training.distributed import DistInfo
from fss.training.methods import Method, amp_dtype, build_method, use_channels_last
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


def crops_in_epoch(train: TrainParams, epoch: int) -> bool:
    """CUT's crop augmentation runs in the constant-lr epochs only: in the decay epochs
    it loads images at the crop size (``is_finetuning`` in its unaligned dataset)."""
    return train.load_scale > 1 and epoch < train.epochs - train.epochs_decay


def steps_per_epoch(iters: int, world_size: int) -> int:
    return -(-iters // world_size)


def sample_position(step: int, rank: int, world_size: int) -> int:
    """Where in the epoch's order (and whose generator) rank ``rank`` reads at ``step``."""
    return step * world_size + rank


def run_fingerprint(cfg: TrainingConfig, data: PairSet, world_size: int = 1) -> str:
    """What a checkpoint must match to be resumed. Settings added after checkpoints
    existed enter only when they change the run, so older single-process checkpoints
    keep resuming: the seed list (cfg.seed is this run's seed) and the memory layout
    never do, precision when not auto, the snapshot interval and the unpaired target
    when on, the world size (it changes the trajectory: W samples per step) when above
    1."""
    config = asdict(cfg)
    train = config["train"]
    train.pop("seeds", None)
    train.pop("baseline_seeds", None)
    train.pop("channels_last", None)
    if train.get("precision") == "auto":
        train.pop("precision")
    if not train.get("snapshot_every"):  # on: a resumed run must keep its schedule
        train.pop("snapshot_every", None)
    if not config["row"].get("unpaired_target"):
        config["row"].pop("unpaired_target", None)
    extra = {"world_size": world_size} if world_size > 1 else {}
    return ckpt.config_fingerprint(
        {"config": config, "ids": data.ids, "size": list(data.photos.shape[-2:]), **extra})


def nonfinite_weights(method: Method) -> list[str]:
    """The networks (G, D, H...) with a NaN or inf parameter."""
    return [k for k, n in method.nets.items()
            if any(not torch.isfinite(p).all() for p in n.parameters())]


SNAPSHOTS = "snapshots"   # the folder of a run's generator snapshots, in its model folder


def snapshot_due(done: int, per_step: int, every: int) -> bool:
    """Whether the step that brought the iteration count to ``done`` (``per_step``
    training pairs a step: the world size) reached or passed a multiple of ``every``."""
    return every > 0 and done // every > (done - per_step) // every


def snapshot_path(out_dir: Path, iterations: int) -> Path:
    return Path(out_dir) / SNAPSHOTS / f"iter_{iterations:07d}.pt"


def snapshot_iterations(out_dir: Path) -> dict[int, Path]:
    """``{iterations: model file}`` of the snapshots a run's folder holds, in order."""
    folder = Path(out_dir) / SNAPSHOTS
    found = {}
    for p in folder.glob("iter_*.pt") if folder.is_dir() else ():
        n = p.stem.removeprefix("iter_")
        if n.isdigit():
            found[int(n)] = p
    return dict(sorted(found.items()))


def _state(method: Method, epoch: int, history: list, fingerprint: str, run_id: str | None):
    return {"epoch": epoch, "history": history, "fingerprint": fingerprint, "run_id": run_id,
            "nets": {k: n.state_dict() for k, n in method.nets.items()},
            "optims": {k: o.state_dict() for k, o in method.optims.items()}}


def _restore(method: Method, state: dict[str, Any]) -> None:
    for k, n in method.nets.items():
        n.load_state_dict(ckpt.strip_ddp(state["nets"][k]))
    for k, o in method.optims.items():
        o.load_state_dict(state["optims"][k])


def export_generator(method: Method, path: Path, cfg: TrainingConfig, image_size: int,
                     model_meta: dict[str, Any] | None = None,
                     iterations: int | None = None) -> None:
    """The model file: weights plus what inference needs. ``model_meta`` (from the
    stage): ``align`` (AlignParams), ``masks`` (MaskParams), ``profile``,
    ``git_commit``; without it the alignment and mask defaults at ``image_size``."""
    from fss.data.align import AlignParams
    from fss.data.masks import MaskParams
    from fss.inference.model_file import ModelInfo, save_model

    meta = model_meta or {}
    g = method.nets[method.generator_key]
    align = replace(meta.get("align") or AlignParams(), size=image_size)
    info = ModelInfo(in_channels=g.in_channels, out_channels=g.out_channels,
                     generator=cfg.model.generator(), mask_input=method.mask_input,
                     image_size=image_size, align=align,
                     masks=(meta.get("masks") or MaskParams()) if method.mask_input else None,
                     row=cfg.row_name, seed=cfg.seed, profile=str(meta.get("profile", "")),
                     git_commit=str(meta.get("git_commit", "")), iterations=iterations)
    save_model(path, ckpt.strip_ddp(g.state_dict()), info)


def _grid_rows(method: Method, data: PairSet, k: int, device: torch.device) -> list[dict]:
    rows = []
    for i in range(min(k, len(data))):
        b = make_batch(data, i, False, device)
        rows.append({"photo": b.photo, "mask": b.mask, "face": b.face, "hair": b.hair,
                     "fake": method.sketch(b.photo, b.mask), "real": b.sketch})
    return rows


def train_row(cfg: TrainingConfig, data: PairSet, out_dir: Path, curves_csv: Path,
              metrics_json: Path, *, resume: bool = True, tracker=None,
              progress: bool = True, model_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train one row on ``data`` (the training pairs), writing ``out_dir/latest.pt``
    (full state, every ``checkpoint_every`` epochs and at the end),
    ``out_dir/generator.pt`` (for inference), ``out_dir/samples/``, the per-epoch
    curves and the summary metrics. ``tracker``: a ``fss.tracking.Tracker``-like
    factory ``(run_id) -> tracker`` or None for no tracking; ``model_meta``: what the
    model file carries besides the weights (see ``export_generator``). Under torchrun every
    process calls this; each returns the same summary, rank 0 alone writes."""
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    if cfg.row.needs_maps and (data.face is None or data.hair is None):
        raise UserError(f"row '{cfg.row_name}' samples with '{cfg.row.sampling}' but the "
                        "training set has no RCS maps (run pretrain_rcs first)")
    info = distributed.init_from_env(cfg.device)
    try:
        return _train(cfg, data, out_dir, curves_csv, metrics_json, info, resume=resume,
                      tracker=tracker, progress=progress, model_meta=model_meta)
    finally:
        if info.started:
            distributed.shutdown()


def _setup(cfg: TrainingConfig, info: DistInfo, device: torch.device) -> Method:
    torch.manual_seed(cfg.seed)
    method = build_method(cfg).to(device)
    return method.configure(amp=amp_dtype(cfg.train, device),
                            channels_last=use_channels_last(cfg.train, device),
                            world_size=info.world_size)


def _resume(method: Method, latest: Path, fingerprint: str, device: torch.device,
            cfg: TrainingConfig, main: bool) -> tuple[int, list, str | None]:
    """(epochs done, history, MLflow run id) of a matching ``latest``, else a fresh start."""
    if not latest.is_file():
        return 0, [], None
    try:
        state = ckpt.load(latest, device)
    except ckpt.CheckpointError as e:
        if main:
            print(f"train {cfg.row_name}: warning: {e}; starting anew")
        return 0, [], None
    if state.get("fingerprint") != fingerprint:
        if main:
            print(f"train {cfg.row_name}: {latest} was made with other settings; starting anew")
        return 0, [], None
    _restore(method, state)
    if main:
        print(f"train {cfg.row_name}: resuming after epoch {state['epoch']} from {latest}")
    return state["epoch"], state["history"], state.get("run_id")


def _train_epoch(method: Method, data: PairSet, cfg: TrainingConfig, epoch: int, iters: int,
                 info: DistInfo, device: torch.device, bar: tqdm,
                 scaled: PairSet | None = None,
                 snapshot: Callable[[int], None] | None = None) -> dict[str, float]:
    """One epoch; the mean of each loss over all samples of all processes. ``scaled``:
    the pairs at the load size, cropped from in the epochs that crop; ``snapshot``
    (rank 0's): called with the iteration count after each step that reaches a
    multiple of ``train.snapshot_every``."""
    n, w = len(data), info.world_size
    src = scaled if scaled is not None and crops_in_epoch(cfg.train, epoch) else None
    order = epoch_order(n, cfg.seed, epoch)
    steps = steps_per_epoch(iters, w)
    per_step: dict[str, list[torch.Tensor | float]] = {}
    for step in range(steps):
        pos = sample_position(step, info.rank, w)
        gen = iteration_generator(cfg.seed, epoch, pos)
        flip = cfg.train.flip and bool(torch.rand(1, generator=gen) < 0.5)
        unpaired = (int(torch.randint(n, (1,), generator=gen))
                    if cfg.row.model == "cyclegan" or cfg.row.unpaired_target else None)
        crop = unpaired_crop = None
        if src is not None:
            room = src.size - data.size + 1
            crop = tuple(torch.randint(room, (2,), generator=gen).tolist())
            if unpaired is not None:  # the other pair's sketch: its own crop, as unaligned
                unpaired_crop = tuple(torch.randint(room, (2,), generator=gen).tolist())
        pairs = src if src is not None else data
        batch = method.prepare(make_batch(pairs, order[pos % n], flip, device, unpaired,
                                          crop, unpaired_crop, data.size))
        for k, v in method.step(batch, gen).items():
            per_step.setdefault(k, []).append(v)
        done = (epoch * steps + step + 1) * w   # training pairs seen by all processes
        if snapshot is not None and snapshot_due(done, w, cfg.train.snapshot_every):
            snapshot(done)
        bar.update(1)
    sums = epoch_sums(per_step, f"train {cfg.row_name}", epoch,
                      f" (rank {info.rank})" if w > 1 else "")
    if w > 1:
        sums = distributed.all_reduce_sums(sums, device)
    return {k: v / (steps * w) for k, v in sums.items()}


def epoch_sums(per_step: dict[str, list[torch.Tensor | float]], who: str, epoch: int,
               where: str = "") -> dict[str, float]:
    """Each loss summed over the epoch's steps, read from the device once per loss
    (the steps return device tensors). A non-finite value stops the run naming the
    first step it appeared at, before this epoch's checkpoint replaces the last good one."""
    sums: dict[str, float] = {}
    first_bad: tuple[int, str, float] | None = None
    for k, values in per_step.items():
        col = torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in values]).cpu()
        bad = (~torch.isfinite(col)).nonzero()
        if len(bad) and (first_bad is None or int(bad[0]) < first_bad[0]):
            first_bad = (int(bad[0]), k, float(col[int(bad[0])]))
        sums[k] = float(col.sum())
    if first_bad is not None:
        i, k, v = first_bad
        raise DivergenceError(f"{who}: diverged at epoch {epoch + 1}, iteration {i + 1}"
                              f"{where}: loss {k} = {v}")
    return sums


def _train(cfg: TrainingConfig, data: PairSet, out_dir: Path, curves_csv: Path,
           metrics_json: Path, info: DistInfo, *, resume: bool, tracker,
           progress: bool, model_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    t, main = cfg.train, info.is_main
    device = distributed.process_device(cfg.device, info)
    method = _setup(cfg, info, device)
    fingerprint = run_fingerprint(cfg, data, info.world_size)
    latest = out_dir / "latest.pt"
    start, history, run_id = 0, [], None
    if resume:
        start, history, run_id = _resume(method, latest, fingerprint, device, cfg, main)
    if start == 0 and main:  # a fresh start: snapshots of an earlier run are not this one's
        shutil.rmtree(out_dir / SNAPSHOTS, ignore_errors=True)
    # Every process now holds rank 0's weights; and rank 0 must not replace latest.pt
    # while another still reads it.
    distributed.broadcast_parameters(method.nets.values())
    distributed.barrier()
    run = tracker(run_id) if tracker is not None and main else None
    run_id = run.run_id if run is not None else None

    def snapshot(done: int) -> None:
        # replayed steps after a resume rewrite the same file (atomically)
        export_generator(method, snapshot_path(out_dir, done), cfg, data.size, model_meta,
                         iterations=done)

    n = len(data)
    scaled = (data.scaled(load_size(data.size, t.load_scale))
              if any(crops_in_epoch(t, e) for e in range(start, t.epochs)) else None)
    iters = min(t.iters_per_epoch, n) if t.iters_per_epoch > 0 else n
    steps = steps_per_epoch(iters, info.world_size)
    t0 = time.time()
    bar = tqdm(total=t.epochs * steps, initial=start * steps, desc=f"train {cfg.row_name}",
               unit="it", disable=not progress or not main, mininterval=5)
    status = "FAILED"
    try:
        for epoch in range(start, t.epochs):
            lr = t.lr * lr_factor(epoch, t.epochs, t.epochs_decay)
            method.set_lr(lr)
            te = time.time()
            try:
                means = _train_epoch(method, data, cfg, epoch, iters, info, device, bar,
                                     scaled, snapshot if main else None)
                bad = nonfinite_weights(method)
                if bad:  # finite losses, yet a step left inf/NaN weights behind
                    raise DivergenceError(
                        f"train {cfg.row_name}: diverged at epoch {epoch + 1}, iteration "
                        f"{steps}: weights of {', '.join(bad)} hold NaN or inf (losses "
                        + ", ".join(f"{k} {v:.4g}" for k, v in means.items()) + ")")
            except DivergenceError as e:
                raise DivergenceError(f"{e} (lower train.lr?); {_kept(latest, main)}") from None
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items() if k in ("L1", "NCE", "D")})
            history.append({"epoch": epoch + 1, **means, "lr": lr,
                            "seconds": round(time.time() - te, 3)})
            if main:
                _epoch_outputs(method, data, cfg, epoch, history, fingerprint, run_id, run,
                               out_dir, curves_csv, device)
        bar.close()
        summary = summarize(cfg, history, iters, time.time() - t0, device,
                            world_size=info.world_size, amp=method.amp_dtype,
                            channels_last=method.channels_last)
        if main:
            _final_outputs(method, cfg, summary, run, out_dir, metrics_json, data.size,
                           model_meta)
        distributed.barrier()  # every process returns once the outputs are complete
        status = "FINISHED"
        return summary
    finally:
        bar.close()
        if run is not None:
            run.end(status)


def _kept(latest: Path, main: bool) -> str:
    """What a diverged run leaves: the last checkpoint, saved before the epoch that
    diverged."""
    import contextlib

    if not main or not latest.is_file():
        return "no checkpoint was saved yet"
    epoch = None
    with contextlib.suppress(Exception):
        epoch = ckpt.load(latest, "cpu").get("epoch")
    return f"kept {latest}" + (f" (after epoch {epoch})" if epoch is not None else "")


def _epoch_outputs(method: Method, data: PairSet, cfg: TrainingConfig, epoch: int,
                   history: list[dict[str, float]], fingerprint: str, run_id: str | None, run,
                   out_dir: Path, curves_csv: Path, device: torch.device) -> None:
    """Rank 0's per-epoch files: curves, MLflow metrics, checkpoint, sample grid."""
    t, means = cfg.train, history[-1]
    write_csv_rows(curves_csv, history)
    if run is not None:
        run.log_metrics({k: v for k, v in means.items() if k not in ("epoch", "seconds")},
                        step=epoch + 1)
    last = epoch + 1 == t.epochs
    if (epoch + 1) % t.checkpoint_every == 0 or last:
        ckpt.save_atomic(_state(method, epoch + 1, history, fingerprint, run_id),
                         out_dir / "latest.pt")
    if (epoch + 1) % t.sample_every == 0 or last:
        grid = save_grid(out_dir / "samples" / f"epoch_{epoch + 1:04d}.png",
                         _grid_rows(method, data, t.sample_ids, device))
        if run is not None:
            run.log_artifact(grid, "samples")


def _final_outputs(method: Method, cfg: TrainingConfig, summary: dict[str, Any], run,
                   out_dir: Path, metrics_json: Path, image_size: int,
                   model_meta: dict[str, Any] | None) -> None:
    export_generator(method, out_dir / "generator.pt", cfg, image_size, model_meta,
                     iterations=summary["epochs"] * summary["iters_per_epoch"])
    from fss.evaluation.results import TrainingSummary, write_record

    write_record(metrics_json, TrainingSummary.from_flat(summary, str(metrics_json)))
    if run is not None:
        run.log_metrics({k: v for k, v in summary.items()
                         if isinstance(v, int | float) and not isinstance(v, bool)})


def summarize(cfg: TrainingConfig, history: list[dict[str, float]], iters: int,
              seconds: float, device: torch.device, *, world_size: int = 1,
              amp: torch.dtype | None = None, channels_last: bool = False) -> dict[str, Any]:
    """The numbers DVC compares: first/last epoch L1 (held-in), and the cost.
    ``seconds_per_iter`` is wall time per training pair, so with several processes it
    shows their throughput; ``steps_per_epoch`` is the optimizer steps (iters / W)."""
    first, last = history[0], history[-1]
    trained = [h["seconds"] for h in history]
    return {
        "row": cfg.row_name, "epochs": len(history), "iters_per_epoch": iters,
        "steps_per_epoch": steps_per_epoch(iters, world_size),
        "device": str(device), "world_size": world_size,
        "precision": "bf16" if amp == torch.bfloat16 else "fp32",
        "channels_last": channels_last,
        "l1_first_epoch": round(first["L1"], 5), "l1_last_epoch": round(last["L1"], 5),
        "l1_ratio": round(last["L1"] / first["L1"], 4) if first["L1"] else None,
        "final": {k: round(v, 5) for k, v in last.items() if k not in ("epoch", "seconds")},
        "seconds_per_iter": round(sum(trained) / (len(trained) * iters), 4),
        "seconds_this_run": round(seconds, 1),
    }
