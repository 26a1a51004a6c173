import json
from dataclasses import replace

import pytest
import torch

from fss.config import ParamsError, build
from fss.training import checkpoint as ckpt
from fss.training.config import (
    LossParams,
    ModelParams,
    RowParams,
    TrainingConfig,
    TrainParams,
)
from fss.training.loop import lr_factor, train_row
from fss.training.sampling import SamplingParams
from tests.conftest import tiny_pairs

TINY_MODEL = ModelParams(ngf=4, ndf=4, n_blocks=5, mlp_dim=16)
TINY_SAMPLING = SamplingParams(num_patches=16, n_face=16, n_hair=8)


_data = tiny_pairs


def _cfg(row: RowParams, **train) -> TrainingConfig:
    t = TrainParams(epochs=2, epochs_decay=1, iters_per_epoch=3, checkpoint_every=1,
                    sample_every=1, sample_ids=2, threads=1)
    return TrainingConfig(row_name="r", row=row, model=TINY_MODEL, sampling=TINY_SAMPLING,
                          loss=LossParams(gamma=0.0), train=replace(t, **train), seed=3,
                          device="cpu")


def test_lr_schedule_constant_then_linear():
    f = [lr_factor(e, 4, 2) for e in range(4)]
    assert f == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])


def test_row_params_validated():
    with pytest.raises(ParamsError, match="sampling"):
        build(RowParams, {"sampling": "random"}, "rows.x")
    with pytest.raises(ParamsError, match="unknown key"):
        build(RowParams, {"sampels": "rcs"}, "rows.x")


@pytest.mark.parametrize("row", [RowParams(model="cut", sampling="dss", mask_input=True,
                                           pixel_losses=True),
                                 RowParams(model="pix2pix"), RowParams(model="cyclegan")])
def test_train_row_writes_outputs(tmp_path, row):
    s = train_row(_cfg(row), _data(), tmp_path / "m", tmp_path / "c.csv", tmp_path / "s.json",
                  progress=False)
    assert s["epochs"] == 2 and s["iters_per_epoch"] == 3
    assert json.loads((tmp_path / "s.json").read_text())["l1_last_epoch"] == s["l1_last_epoch"]
    assert (tmp_path / "c.csv").read_text().splitlines()[0].startswith("epoch,")
    assert len((tmp_path / "c.csv").read_text().splitlines()) == 3
    assert sorted(p.name for p in (tmp_path / "m" / "samples").iterdir()) == [
        "epoch_0001.png", "epoch_0002.png"]
    g = ckpt.load_generator(tmp_path / "m" / "generator.pt")
    x = torch.rand(1, 4 if row.mask_input else 3, 32, 32)
    assert g(x).shape == (1, 1, 32, 32)


def test_unpaired_target_draws_another_pairs_sketch(tmp_path, monkeypatch):
    """With unpaired_target the CUT row's batches carry the sketch of another, randomly
    drawn pair with its own crop (the draws replayed from the iteration's generator);
    without it, none."""
    import fss.training.loop as loop

    seen = []
    real_make_batch = loop.make_batch

    def spy(data, i, flip, device, unpaired=None, crop=None, unpaired_crop=None, size=None):
        if size is not None:  # a training step's (the sample grids pass no size)
            seen.append((i, unpaired, crop, unpaired_crop))
        return real_make_batch(data, i, flip, device, unpaired, crop, unpaired_crop, size)

    monkeypatch.setattr(loop, "make_batch", spy)
    d = _data()
    train_row(_cfg(RowParams(unpaired_target=True), epochs=2, epochs_decay=0,
                   iters_per_epoch=len(d), load_scale=1.25),
              d, tmp_path / "u", tmp_path / "u.csv", tmp_path / "u.json", progress=False)
    assert len(seen) == 2 * len(d)
    assert all(u is not None and uc is not None for _, u, _, uc in seen)
    assert any(u != i for i, u, _, _ in seen)            # another pair's sketch
    assert any(c != uc for _, _, c, uc in seen)          # its own crop
    seen.clear()
    train_row(_cfg(RowParams(), epochs=1, epochs_decay=0), d, tmp_path / "p",
              tmp_path / "p.csv", tmp_path / "p.json", progress=False)
    assert seen and all(u is None and uc is None for _, u, _, uc in seen)


def test_unpaired_target_only_for_plain_cut():
    with pytest.raises(ParamsError, match="unpaired_target: only for a CUT row"):
        RowParams(model="cut", sampling="dss", unpaired_target=True)
    with pytest.raises(ParamsError, match="model pix2pix"):
        RowParams(model="pix2pix", unpaired_target=True)


def test_fallback_share_reported(tmp_path):
    d = _data()
    s = train_row(_cfg(RowParams(sampling="rcs")), d, tmp_path / "a", tmp_path / "a.csv",
                  tmp_path / "a.json", progress=False)
    assert s["final"]["sampling_fallback"] == 0.0
    d.face = torch.zeros_like(d.face)   # maps with no region at all
    d.hair = torch.zeros_like(d.hair)
    s = train_row(_cfg(RowParams(sampling="rcs")), d, tmp_path / "b", tmp_path / "b.csv",
                  tmp_path / "b.json", progress=False)
    assert s["final"]["sampling_fallback"] == 1.0


def test_rcs_row_without_maps_is_a_clear_error(tmp_path):
    d = _data()
    d.face = d.hair = None
    with pytest.raises(ValueError, match="no RCS maps"):
        train_row(_cfg(RowParams(sampling="rcs")), d, tmp_path, tmp_path / "c.csv",
                  tmp_path / "s.json", progress=False)


class _Interrupt(Exception):
    pass


class _StopAt:
    """A tracker that dies when epoch ``stop`` is logged (after the previous epoch's
    checkpoint, before this one's): an interrupted run."""

    def __init__(self, stop: int | None):
        self.stop, self.run_id = stop, "run-1"

    def __call__(self, run_id):
        return self

    def log_metrics(self, metrics, step=None):
        if self.stop is not None and step == self.stop:
            raise _Interrupt

    def log_artifact(self, path, folder=None):
        pass

    def end(self, status="FINISHED"):
        pass


def test_resume_equals_uninterrupted(tmp_path):
    row = RowParams(model="cut", sampling="dss", mask_input=True, pixel_losses=True)
    cfg = _cfg(row, epochs=3, epochs_decay=2, flip=True)
    a, b = tmp_path / "a", tmp_path / "b"
    train_row(cfg, _data(), a, a / "c.csv", a / "s.json", progress=False)
    with pytest.raises(_Interrupt):
        train_row(cfg, _data(), b, b / "c.csv", b / "s.json", progress=False,
                  tracker=_StopAt(2))
    assert ckpt.load(b / "latest.pt")["epoch"] == 1
    train_row(cfg, _data(), b, b / "c.csv", b / "s.json", progress=False, tracker=_StopAt(None))
    sa, sb = ckpt.load(a / "latest.pt"), ckpt.load(b / "latest.pt")
    assert sb["epoch"] == 3
    for net in sa["nets"]:
        for k, v in sa["nets"][net].items():
            assert torch.equal(v, sb["nets"][net][k]), (net, k)
    la = [{k: v for k, v in h.items() if k != "seconds"} for h in sa["history"]]
    lb = [{k: v for k, v in h.items() if k != "seconds"} for h in sb["history"]]
    assert la == lb


def test_resume_refuses_other_settings(tmp_path, capsys):
    row = RowParams(model="pix2pix")
    train_row(_cfg(row, epochs=1, epochs_decay=0), _data(), tmp_path, tmp_path / "c.csv",
              tmp_path / "s.json", progress=False)
    train_row(_cfg(row, epochs=1, epochs_decay=0, lr=1e-3), _data(), tmp_path,
              tmp_path / "c.csv", tmp_path / "s.json", progress=False)
    assert "other settings; starting anew" in capsys.readouterr().out


def test_snapshot_due_counts_training_pairs():
    from fss.training.loop import snapshot_due

    assert [d for d in range(1, 10) if snapshot_due(d, 1, 3)] == [3, 6, 9]
    # two processes: a step adds two pairs, and the step that passes a multiple snaps
    assert [d for d in range(2, 13, 2) if snapshot_due(d, 2, 3)] == [4, 6, 10, 12]
    assert not any(snapshot_due(d, 1, 0) for d in range(1, 10))


def _weights(path):
    return ckpt.load_generator(path).state_dict()


def test_snapshots_at_fixed_iterations_and_resume_keeps_them(tmp_path):
    """Snapshots every 2 iterations of a 2 x 3-iteration run: at 2, 4 and 6, each a model
    file saying its iteration count, the last one the final generator; a run
    interrupted after epoch 1 and resumed leaves the same files with the same weights."""
    from fss.inference.model_file import read_model
    from fss.training.loop import snapshot_iterations

    row = RowParams(model="cut", sampling="dss", mask_input=True, pixel_losses=True)
    cfg = _cfg(row, epochs=2, epochs_decay=1, snapshot_every=2)
    a, b = tmp_path / "a", tmp_path / "b"
    train_row(cfg, _data(), a, a / "c.csv", a / "s.json", progress=False)
    snaps = snapshot_iterations(a)
    assert list(snaps) == [2, 4, 6]
    assert [read_model(p)[1].iterations for p in snaps.values()] == [2, 4, 6]
    final = _weights(a / "generator.pt")
    assert all(torch.equal(v, final[k]) for k, v in _weights(snaps[6]).items())
    assert not all(torch.equal(v, final[k]) for k, v in _weights(snaps[2]).items())

    with pytest.raises(_Interrupt):
        train_row(cfg, _data(), b, b / "c.csv", b / "s.json", progress=False,
                  tracker=_StopAt(2))
    # the stop came after epoch 2's steps, before its checkpoint: as if killed inside
    # epoch 2, drop that epoch's snapshots; the resumed run replays it
    assert ckpt.load(b / "latest.pt")["epoch"] == 1
    for n in (4, 6):
        snapshot_iterations(b)[n].unlink()
    train_row(cfg, _data(), b, b / "c.csv", b / "s.json", progress=False,
              tracker=_StopAt(None))
    assert list(snapshot_iterations(b)) == [2, 4, 6]
    for n, p in snapshot_iterations(b).items():
        want = _weights(snaps[n])
        assert all(torch.equal(v, want[k]) for k, v in _weights(p).items()), n


def test_a_fresh_start_drops_an_earlier_runs_snapshots(tmp_path):
    from fss.training.loop import snapshot_iterations

    cfg = _cfg(RowParams(), epochs=1, epochs_decay=0, snapshot_every=1)
    train_row(cfg, _data(), tmp_path, tmp_path / "c.csv", tmp_path / "s.json", progress=False)
    assert list(snapshot_iterations(tmp_path)) == [1, 2, 3]
    train_row(replace(cfg, train=replace(cfg.train, snapshot_every=3)), _data(), tmp_path,
              tmp_path / "c.csv", tmp_path / "s.json", progress=False)
    assert list(snapshot_iterations(tmp_path)) == [3]


def test_checkpoint_loads_ddp_prefixed_state(tmp_path):
    from fss.models.generator import GeneratorParams, ResnetGenerator
    from tests.conftest import tiny_model_file

    g = ResnetGenerator(3, 1, GeneratorParams(ngf=4, n_blocks=1))
    tiny_model_file(tmp_path / "g.pt",
                    state={f"module.{k}": v for k, v in g.state_dict().items()})
    g2 = ckpt.load_generator(tmp_path / "g.pt")
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(g.eval()(x), g2(x))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt: not a readable checkpoint"):
        ckpt.load(tmp_path / "bad.pt")
