"""Issue 12's fidelity items: CUT's NCE identity term, its crop augmentation (same window
for every image of a pair, none in the decay epochs), its init, and the graded DSS
density."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn as nn

from fss.models.layers import init_weights
from fss.training.config import LossParams, RowParams, TrainingConfig, TrainParams
from fss.training.dataset import PairSet, load_size, make_batch
from fss.training.loop import _train_epoch, crops_in_epoch
from fss.training.methods import CUTMethod, loss_values
from tests.conftest import tiny_pairs
from tests.test_training import TINY_MODEL, TINY_SAMPLING


def _cfg(row: RowParams, nce_idt: bool, **train) -> TrainingConfig:
    t = TrainParams(epochs=4, epochs_decay=2, iters_per_epoch=3, threads=1)
    return TrainingConfig(row_name="r", row=row, model=TINY_MODEL, sampling=TINY_SAMPLING,
                          loss=LossParams(gamma=0.0, nce_idt=nce_idt),
                          train=replace(t, **train), seed=3, device="cpu")


def _one_step(row: RowParams, nce_idt: bool) -> tuple[CUTMethod, dict[str, float]]:
    torch.manual_seed(0)
    m = CUTMethod(_cfg(row, nce_idt))
    b = make_batch(tiny_pairs(), 0, False, torch.device("cpu"))
    return m, loss_values(m.step(b, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("row", [RowParams(sampling="uniform"),
                                 RowParams(sampling="dss", mask_input=True)])
def test_identity_term_changes_only_g_and_only_when_on(row):
    on, out_on = _one_step(row, True)
    off, out_off = _one_step(row, False)
    # The D step comes first and never sees the identity term.
    for a, b in zip(on.nets["D"].parameters(), off.nets["D"].parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert out_on["D"] == pytest.approx(out_off["D"], abs=1e-6)
    assert out_on["G_GAN"] == pytest.approx(out_off["G_GAN"], abs=1e-6)
    # G's update differs, and the loss is GAN + (NCE + NCE_idt) / 2 as in CUT.
    g_diff = max((a - b).abs().max().item() for a, b in
                 zip(on.nets["G"].parameters(), off.nets["G"].parameters(), strict=True))
    assert g_diff > 1e-7
    assert "NCE_idt" in out_on and "NCE_idt" not in out_off
    assert out_on["G_total"] == pytest.approx(
        out_on["G_GAN"] + 0.5 * (out_on["NCE"] + out_on["NCE_idt"]), rel=1e-5)
    assert out_off["G_total"] == pytest.approx(out_off["G_GAN"] + out_off["NCE"], rel=1e-5)


def test_identity_term_reads_the_real_sketch():
    """With the term on, G's gradient depends on the real sketch through G(sketch);
    with it off, the sketch reaches G only through D's verdict (which the D step has
    already been given): two sketches that D cannot tell apart leave G's step alone."""
    def g_after(sketch_shift: float, nce_idt: bool) -> torch.Tensor:
        torch.manual_seed(0)
        m = CUTMethod(_cfg(RowParams(sampling="uniform"), nce_idt))
        b = make_batch(tiny_pairs(), 0, False, torch.device("cpu"))
        # D frozen (lr 0) so both sketches give the same D; only the identity path differs.
        for group in m.optims["D"].param_groups:
            group["lr"] = 0.0
        with torch.no_grad():
            for p in m.nets["D"].parameters():
                p.zero_()
        b = replace(b, sketch=(b.sketch + sketch_shift).clamp(-1, 1))
        m.step(b, torch.Generator().manual_seed(1))
        return torch.cat([p.flatten() for p in m.nets["G"].parameters()])

    assert torch.allclose(g_after(0.0, False), g_after(0.3, False), atol=1e-7)
    assert not torch.allclose(g_after(0.0, True), g_after(0.3, True), atol=1e-7)


def _coded_pairs(n: int = 2, s: int = 16) -> PairSet:
    """Every image of a pair is the same coordinate code, so equal windows mean equal
    crops: value = (y * W + x) / (H * W), as photo (3x), sketch, face and hair, and the
    mask is its parity."""
    code = torch.arange(s * s, dtype=torch.float32).reshape(1, 1, s, s) / (s * s)
    imgs = code.repeat(n, 1, 1, 1)
    return PairSet(ids=[f"p{i}" for i in range(n)], photos=imgs.repeat(1, 3, 1, 1),
                   sketches=imgs.clone(), masks=imgs.clone(), face=imgs.clone(),
                   hair=imgs.clone())


def test_crop_is_one_window_for_photo_sketch_mask_and_maps():
    data = _coded_pairs()
    b = make_batch(data, 1, True, torch.device("cpu"), crop=(3, 5), size=8)
    ref = data.sketches[1:2, :, 3:11, 5:13].flip(-1)
    for t in (b.photo[:, :1], b.photo[:, 2:], b.sketch, b.mask, b.face, b.hair):
        assert t.shape == (1, 1, 8, 8)
        assert torch.equal(t, ref)


def test_scaled_set_modes():
    d = tiny_pairs(n=2, s=32)
    big = d.scaled(load_size(32, 1.117))
    assert load_size(256, 1.117) == 286 and big.size == 36
    assert big.photos.shape == (2, 3, 36, 36) and big.face.shape == (2, 1, 36, 36)
    assert big.photos.min() >= -1 and big.photos.max() <= 1      # bicubic clamped
    assert set(big.masks.unique().tolist()) <= {0.0, 1.0}         # nearest keeps it binary
    assert big.face.max() <= 0.9 + 1e-6                          # bilinear: no overshoot


def test_crops_only_in_constant_epochs():
    t = TrainParams(epochs=5, epochs_decay=2, load_scale=1.117)
    assert [crops_in_epoch(t, e) for e in range(5)] == [True, True, True, False, False]
    assert not any(crops_in_epoch(replace(t, load_scale=1.0), e) for e in range(5))


class _Recorder:
    """A stand-in method that keeps every batch it is given."""
    world_size = 1

    def __init__(self):
        self.batches = []

    def prepare(self, batch):
        return batch

    def step(self, batch, gen):
        self.batches.append(batch)
        return {"L1": 0.0}


def _epoch_batches(data: PairSet, epoch: int):
    from tqdm import tqdm

    from fss.training.distributed import DistInfo

    cfg = _cfg(RowParams(sampling="rcs"), True, flip=False)
    rec = _Recorder()
    scaled = data.scaled(load_size(data.size, cfg.train.load_scale))
    _train_epoch(rec, data, cfg, epoch, len(data), DistInfo(), torch.device("cpu"),
                 tqdm(disable=True), scaled)
    return rec.batches, scaled


def test_loop_crops_in_constant_epochs_and_not_in_decay():
    data = tiny_pairs(n=3, s=32)
    batches, scaled = _epoch_batches(data, epoch=0)         # a constant-lr epoch
    assert len(batches) == 3
    offsets = set()
    for b in batches:
        assert b.photo.shape[-2:] == (32, 32)
        # Find the window of the scaled photo this batch is; the sketch, mask and
        # maps must be the same window of theirs.
        hit = None
        for i in range(len(data)):
            for y in range(scaled.size - 31):
                for x in range(scaled.size - 31):
                    if torch.equal(b.photo, scaled.photos[i:i + 1, :, y:y + 32, x:x + 32]):
                        hit = (i, y, x)
        assert hit is not None
        i, y, x = hit
        offsets.add((y, x))
        for name in ("sketches", "masks", "face", "hair"):
            field = {"sketches": "sketch", "masks": "mask"}.get(name, name)
            assert torch.equal(getattr(b, field),
                               getattr(scaled, name)[i:i + 1, :, y:y + 32, x:x + 32])
    assert len(offsets) > 1                                  # random windows
    batches, _ = _epoch_batches(data, epoch=3)               # a decay epoch: no crop
    for b in batches:
        assert any(torch.equal(b.photo, data.photos[i:i + 1]) for i in range(len(data)))


@pytest.mark.parametrize("kind, expected_std", [("normal", 0.02),
                                                ("xavier", 0.02 * (2 / (400 + 300)) ** 0.5)])
def test_init_type_switches_the_init(kind, expected_std):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(400, 300))
    init_weights(net, 0.02, kind)
    w = net[0].weight
    assert w.std().item() == pytest.approx(expected_std, rel=0.05)
    assert torch.count_nonzero(net[0].bias) == 0
    with pytest.raises(ValueError, match="init type"):
        init_weights(net, 0.02, "kaiming")


def test_graded_labels_floor_ranks_and_dense_share():
    from fss.rcs.weak_labels import graded

    region = np.zeros((20, 20), bool)
    region[5:15, 5:15] = True
    density = np.arange(400, dtype=float).reshape(20, 20)
    lab = graded(density, region, floor=0.6, gamma=2.0)
    assert (lab[~region] == 0).all()
    assert lab[region].min() >= 0.6 and lab[region].max() == pytest.approx(1.0)
    # Denser pixels get higher labels (monotone in the density's rank).
    assert np.all(np.diff(lab[region]) > 0)
    # floor + (1 - floor) u^2 > 0.8 <=> u > sqrt(0.5): the densest ~29 % of the region.
    assert (lab[region] > 0.8).mean() == pytest.approx(1 - 0.5 ** 0.5, abs=0.01)
