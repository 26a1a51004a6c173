"""Data-parallel training (2 gloo processes on the CPU), bf16 autocast and channels_last."""

import json
import math
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from fss.config import ParamsError, build
from fss.models.generator import GeneratorParams, ResnetGenerator
from fss.training import checkpoint as ckpt
from fss.training import distributed
from fss.training.config import LossParams, ModelParams, RowParams, TrainingConfig, TrainParams
from fss.training.dataset import make_batch
from fss.training.distributed import DistInfo
from fss.training.loop import run_fingerprint, sample_position, steps_per_epoch, train_row
from fss.training.methods import CUTMethod, _step, amp_dtype, build_method
from fss.training.sampling import SamplingParams
from tests.conftest import tiny_pairs

TINY_MODEL = ModelParams(ngf=4, ndf=4, n_blocks=2, mlp_dim=16, nce_layers=(0, 4, 8))
TINY_SAMPLING = SamplingParams(num_patches=16, n_face=16, n_hair=8)
TINY_G = GeneratorParams(ngf=4, n_blocks=1)
CUT_ROW = RowParams(model="cut", sampling="dss", mask_input=True, pixel_losses=True)


_data = tiny_pairs


def _cfg(row: RowParams = CUT_ROW, **train) -> TrainingConfig:
    t = TrainParams(epochs=1, epochs_decay=0, iters_per_epoch=3, checkpoint_every=1,
                    sample_every=1, sample_ids=1, threads=1)
    return TrainingConfig(row_name="r", row=row, model=TINY_MODEL, sampling=TINY_SAMPLING,
                          loss=LossParams(gamma=0.0), train=replace(t, **train), seed=3,
                          device="cpu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(fn, *args) -> None:
    """Run ``fn(rank, *args)`` in 2 processes that find each other the way torchrun's
    do: through RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT."""
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    mp.spawn(_with_env, args=(env, fn, args), nprocs=2, join=True)


def _with_env(rank: int, env: dict[str, str], fn, args) -> None:
    os.environ.update(env, RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    fn(rank, *args)


def _sample(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(100 + i)
    return torch.rand(1, 3, 16, 16, generator=g) * 2 - 1, torch.rand(1, 1, 16, 16, generator=g)


def _tiny_step_worker(rank: int, out: Path) -> None:
    info = distributed.init_from_env("cpu")
    try:
        torch.manual_seed(rank)  # different initial weights: broadcast must fix that
        g = ResnetGenerator(3, 1, TINY_G)
        distributed.broadcast_parameters([g])
        opt = torch.optim.SGD(g.parameters(), lr=0.1)
        x, y = _sample(rank)
        _step(opt, (g(x) - y).abs().mean(), info.world_size)
        torch.save(g.state_dict(), out / f"rank{rank}.pt")
    finally:
        distributed.shutdown()


def test_two_processes_equal_one_that_averages_gradients(tmp_path):
    _spawn(_tiny_step_worker, tmp_path)
    torch.manual_seed(0)
    g = ResnetGenerator(3, 1, TINY_G)
    opt = torch.optim.SGD(g.parameters(), lr=0.1)
    grads = []
    for i in range(2):
        opt.zero_grad()
        x, y = _sample(i)
        (g(x) - y).abs().mean().backward()
        grads.append([p.grad.clone() for p in g.parameters()])
    for p, g0, g1 in zip(g.parameters(), *grads, strict=True):
        p.grad = (g0 + g1) / 2
    opt.step()
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for k, v in g.state_dict().items():
        assert torch.allclose(r0[k], v, atol=1e-6), k
        assert torch.equal(r0[k], r1[k]), k


class _MarkTracker:
    """A tracker factory that leaves a file per process that used it."""

    def __init__(self, folder: Path):
        self.folder, self.run_id = folder, "run-x"

    def __call__(self, run_id):
        (self.folder / f"tracker-rank{os.environ['RANK']}").touch()
        return self

    def log_metrics(self, metrics, step=None):
        pass

    def log_artifact(self, path, folder=None):
        pass

    def end(self, status="FINISHED"):
        pass


def _train_worker(rank: int, root: Path) -> None:
    # Each rank gets its own output folder, so a file rank 1 wrote would show.
    out = root / f"rank{rank}"
    s = train_row(_cfg(), _data(), out / "m", out / "c.csv", out / "s.json", progress=False,
                  tracker=_MarkTracker(root))
    (root / f"summary{rank}.json").write_text(json.dumps(s))
    assert not distributed.is_initialized()  # train_row ended the group it made


def test_train_row_two_processes(tmp_path):
    _spawn(_train_worker, tmp_path)
    s0 = json.loads((tmp_path / "rank0" / "s.json").read_text())
    assert s0["world_size"] == 2 and s0["iters_per_epoch"] == 3 and s0["steps_per_epoch"] == 2
    assert json.loads((tmp_path / "summary1.json").read_text())["final"] == s0["final"]
    assert not (tmp_path / "rank1").exists()
    assert sorted(p.name for p in tmp_path.glob("tracker-*")) == ["tracker-rank0"]
    m = tmp_path / "rank0" / "m"
    assert {p.name for p in m.iterdir()} == {"latest.pt", "generator.pt", "samples"}
    assert ckpt.load_generator(m / "generator.pt")(torch.rand(1, 4, 32, 32)).shape == (
        1, 1, 32, 32)
    assert len((tmp_path / "rank0" / "c.csv").read_text().splitlines()) == 2


def test_sharding_covers_the_epoch_and_world_one_is_unchanged():
    # 5 pairs, 2 processes: 3 steps, positions 0..5 (the 6th wraps to the first pair).
    assert steps_per_epoch(5, 2) == 3 and steps_per_epoch(5, 1) == 5
    pos = sorted(sample_position(s, r, 2) for s in range(3) for r in range(2))
    assert pos == list(range(6))
    assert [sample_position(s, 0, 1) for s in range(5)] == list(range(5))


def test_fingerprint_counts_world_size_only_above_one():
    from dataclasses import asdict

    cfg, data = _cfg(), _data()
    legacy = asdict(cfg)
    # not in old checkpoints
    for k in ("seeds", "baseline_seeds", "precision", "channels_last", "snapshot_every"):
        legacy["train"].pop(k)
    legacy["row"].pop("unpaired_target")
    old = ckpt.config_fingerprint({"config": legacy, "ids": data.ids, "size": [32, 32]})
    assert run_fingerprint(cfg, data) == old
    assert run_fingerprint(cfg, data, world_size=2) != old
    assert run_fingerprint(_cfg(channels_last="always"), data) == old
    assert run_fingerprint(_cfg(precision="bf16"), data) != old
    assert run_fingerprint(_cfg(snapshot_every=5), data) != old
    plain = _cfg(RowParams())
    unpaired = replace(plain, row=RowParams(unpaired_target=True))
    assert run_fingerprint(unpaired, data) != run_fingerprint(plain, data)


def test_env_info_reads_torchrun_variables():
    assert distributed.env_info({}) == DistInfo(0, 1, 0)
    assert distributed.env_info({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == (
        DistInfo(3, 4, 1))
    with pytest.raises(ValueError, match="not a valid process"):
        distributed.env_info({"RANK": "2", "WORLD_SIZE": "2"})


@pytest.mark.parametrize("key,value", [("precision", "fp16"), ("channels_last", "yes")])
def test_precision_and_layout_validated(key, value):
    with pytest.raises(ParamsError, match=f"train.{key} = '{value}': should be 'auto'"):
        build(TrainParams, {key: value}, "train")


def test_precision_resolution_on_cpu():
    cpu = torch.device("cpu")
    assert amp_dtype(TrainParams(), cpu) is None
    assert amp_dtype(TrainParams(precision="bf16"), cpu) == torch.bfloat16


def test_bf16_cut_step_on_cpu_is_finite():
    cfg, data = _cfg(precision="bf16"), _data()
    torch.manual_seed(0)
    m = CUTMethod(cfg).to(torch.device("cpu"))
    m.configure(amp=amp_dtype(cfg.train, torch.device("cpu")))
    losses = m.step(make_batch(data, 0, False, torch.device("cpu")),
                    torch.Generator().manual_seed(0))
    assert losses and all(math.isfinite(v) for v in losses.values()), losses
    assert all(p.dtype == torch.float32 for n in m.nets.values() for p in n.parameters())


@pytest.mark.parametrize("row", [CUT_ROW, RowParams(model="pix2pix"),
                                 RowParams(model="cyclegan")])
def test_bf16_and_channels_last_training_run(tmp_path, row):
    cfg = _cfg(row, precision="bf16", channels_last="always", iters_per_epoch=2)
    s = train_row(cfg, _data(), tmp_path / "m", tmp_path / "c.csv", tmp_path / "s.json",
                  progress=False)
    assert s["precision"] == "bf16" and s["channels_last"] is True and s["world_size"] == 1
    assert all(math.isfinite(v) for v in s["final"].values())
    state = ckpt.load(tmp_path / "m" / "latest.pt")
    for net in state["nets"].values():
        assert all(v.is_contiguous() and v.dtype == torch.float32 for v in net.values())
    fresh = build_method(cfg)  # default layout: the checkpoint loads as it is
    for k, net in fresh.nets.items():
        net.load_state_dict(state["nets"][k])
    g = ckpt.load_generator(tmp_path / "m" / "generator.pt")
    assert g(torch.rand(1, g.in_channels, 32, 32)).shape == (1, 1, 32, 32)
