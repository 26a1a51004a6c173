"""Issue 21's step without repeated work: the keys come from the forward's own
activations, both terms' queries from one encoder pass, the maps resized once per step,
and the losses stay on the device. What the step computes must not change: it is
checked here against the step as it was before (kept below as the reference), on every
CUT row, with and without the identity term."""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import fss
from fss.models.patchnce import patch_nce_loss
from fss.training.config import LossParams, RowParams, TrainingConfig, TrainParams
from fss.training.dataset import Batch, make_batch
from fss.training.losses import PerceptualLoss, PerceptualParams, gan_loss, l1_loss, vgg_features
from fss.training.methods import CUTMethod, loss_values
from fss.training.sampling import doubled_share, sample_indices
from tests.conftest import tiny_pairs
from tests.test_training import TINY_MODEL, TINY_SAMPLING

ROWS = {
    "cut": RowParams(sampling="uniform"),
    "rcs": RowParams(sampling="rcs"),
    "dss": RowParams(sampling="dss"),
    "mask": RowParams(sampling="dss", mask_input=True),
    "fss": RowParams(sampling="dss", mask_input=True, pixel_losses=True),
}


def _reference_nce(m: CUTMethod, src, fake_in, batch: Batch, gen):
    """The pre-issue-21 ``CUTMethod.nce_loss``: keys from a second encoder pass over
    ``src``, maps resized inside the sampler at every call."""
    g, h, mp = m.nets["G"], m.nets["H"], m.cfg.model
    feats_k = m.amp(g.encode, src, mp.nce_layers)
    feats_q = m.amp(g.encode, fake_in, mp.nce_layers)
    face = batch.face[0, 0].cpu() if batch.face is not None else None
    hair = batch.hair[0, 0].cpu() if batch.hair is not None else None
    total = torch.zeros(())
    fallbacks = 0
    sampling = {}
    for layer, (fq, fk) in enumerate(zip(feats_q, feats_k, strict=True)):
        hh, ww = fk.shape[-2:]
        loc = sample_indices(m.cfg.row.sampling, hh, ww, face, hair, m.cfg.sampling, gen)
        fallbacks += loc.fell_back
        if m.cfg.row.sampling == "dss":
            sampling[f"doubled_L{mp.nce_layers[layer]}"] = doubled_share(loc.idx)
        q, k = m.amp(h, fq, layer, loc.idx), m.amp(h, fk, layer, loc.idx)
        total = total + patch_nce_loss(q, k, loc.idx, mp.nce_t)
    if m.cfg.row.sampling != "uniform":
        sampling["sampling_fallback"] = fallbacks / len(feats_q)
    return total / len(feats_q), sampling


def _reference_step(m: CUTMethod, batch: Batch, gen) -> dict[str, float]:
    """The pre-issue-21 ``CUTMethod.step``, line for line."""
    g, d = m.nets["G"], m.nets["D"]
    lp, mode = m.cfg.loss, m.cfg.model.gan_mode
    src = m.generator_input(batch.photo, batch.mask)
    if lp.nce_idt:
        sketch_in = m.encoder_input_of_sketch(batch.sketch, batch.mask)
        fake, idt = m.amp(g, torch.cat([src, sketch_in])).chunk(2)
    else:
        fake = m.amp(g, src)
    d.requires_grad_(True)
    loss_d = 0.5 * (gan_loss(m.amp(d, fake.detach()), False, mode)
                    + gan_loss(m.amp(d, batch.sketch), True, mode))
    m.step_optimizers(["D"], loss_d)
    d.requires_grad_(False)
    loss_gan = gan_loss(m.amp(d, fake), True, mode)
    loss_nce, sampling = _reference_nce(m, src, m.encoder_input_of_sketch(fake, batch.mask),
                                        batch, gen)
    out = {"D": loss_d.item(), "G_GAN": loss_gan.item(), "NCE": loss_nce.item(), **sampling}
    if lp.nce_idt:
        loss_idt, _ = _reference_nce(m, sketch_in, m.encoder_input_of_sketch(idt, batch.mask),
                                     batch, gen)
        out["NCE_idt"] = loss_idt.item()
        loss_nce = 0.5 * (loss_nce + loss_idt)
    loss_l1 = l1_loss(fake, batch.sketch)
    total = loss_gan + lp.beta * loss_nce
    if m.cfg.row.pixel_losses:
        total = total + lp.alpha * loss_l1
        if m.perceptual is not None:
            loss_p = m.amp(m.perceptual, fake, batch.sketch)
            total = total + lp.gamma * loss_p
            out["perceptual"] = loss_p.item()
    m.step_optimizers(["G", "H"], total)
    out["L1"] = loss_l1.item()
    out["G_total"] = total.item()
    return out


def _method(row: RowParams, nce_idt: bool) -> CUTMethod:
    cfg = TrainingConfig(row_name="r", row=row, model=TINY_MODEL, sampling=TINY_SAMPLING,
                         loss=LossParams(nce_idt=nce_idt),
                         train=TrainParams(epochs=2, epochs_decay=1, threads=1), seed=0,
                         device="cpu")
    torch.manual_seed(0)
    # A random VGG trunk: the perceptual term's wiring, not ImageNet's weights, is tested.
    perceptual = PerceptualLoss(PerceptualParams(backbone="vgg16"), vgg_features("vgg16"))
    return CUTMethod(cfg, perceptual)


def _grads(m: CUTMethod) -> dict[str, torch.Tensor]:
    return {f"{k}.{n}": p.grad.clone() for k, net in m.nets.items()
            for n, p in net.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("nce_idt", [True, False])
@pytest.mark.parametrize("row", list(ROWS))
def test_step_equals_the_step_before_issue_21(row, nce_idt):
    new = _method(ROWS[row], nce_idt)
    old = copy.deepcopy(new)
    data = tiny_pairs()
    for i in range(3):   # a few steps: the optimizers' state enters from the second on
        batch = make_batch(data, i % len(data), i == 1, torch.device("cpu"))
        got = loss_values(new.step(batch, torch.Generator().manual_seed(i)))
        want = _reference_step(old, batch, torch.Generator().manual_seed(i))
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k], rel=1e-5, abs=1e-6), (row, i, k)
        if i == 0:
            # The gradients of the first step (the last backward of each optimizer),
            # within 1e-5 of the network's largest. Parameters are not compared: a conv
            # bias before an instance norm has a zero gradient up to rounding, which
            # Adam scales up to a full step.
            g_old, g_new = _grads(old), _grads(new)
            assert g_old.keys() == g_new.keys()
            for net in old.nets:
                scale = max(float(g.abs().max()) for k, g in g_old.items()
                            if k.startswith(f"{net}."))
                for k in [k for k in g_old if k.startswith(f"{net}.")]:
                    assert torch.allclose(g_new[k], g_old[k], rtol=0, atol=1e-5 * scale), k


def test_cut_step_reads_nothing_back_to_the_host(monkeypatch):
    """The losses stay on the device: no ``.item()`` / ``float()`` / ``.tolist()`` of
    a tensor anywhere in a step (on a GPU each is a synchronisation)."""
    m = _method(ROWS["fss"], True)
    data = tiny_pairs()
    batches = [make_batch(data, i, False, torch.device("cpu")) for i in range(3)]
    reads = []
    ours = str(Path(fss.__file__).parent)
    for name in ("item", "tolist", "__float__"):
        real = getattr(torch.Tensor, name)

        def counted(self, *a, _real=real, _name=name, **kw):
            # torch's Adam reads its step counter, a host tensor by design: only our
            # code's reads count.
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(ours):
                reads.append(f"{_name} in {caller}:{sys._getframe(1).f_lineno}")
            return _real(self, *a, **kw)

        monkeypatch.setattr(torch.Tensor, name, counted)
    out = [m.step(b, torch.Generator().manual_seed(i)) for i, b in enumerate(batches)]
    monkeypatch.undo()
    assert reads == []
    assert all(isinstance(v, torch.Tensor) and not v.requires_grad
               for o in out for k, v in o.items() if not k.startswith(("doubled", "sampling")))


def test_keys_are_the_forward_activations():
    """The features ``forward_with_features`` returns are those ``encode`` computes, and
    its output is the plain forward's."""
    m = _method(ROWS["fss"], True)
    g, layers = m.nets["G"], m.cfg.model.nce_layers
    x = torch.randn(2, 4, 16, 16)
    out, feats = g.forward_with_features(x, layers)
    assert torch.allclose(out, g(x), atol=1e-6)
    for a, b in zip(feats, g.encode(x, layers), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="outside the encoder"):
        g.forward_with_features(x, (0, 99))


def test_a_nan_loss_stops_the_epoch_naming_its_first_iteration():
    from fss.errors import DivergenceError
    from fss.training.loop import epoch_sums

    steps = {"D": [torch.tensor(0.5), torch.tensor(0.25), torch.tensor(float("nan"))],
             "L1": [torch.tensor(1.0), torch.tensor(float("inf")), torch.tensor(1.0)],
             "sampling_fallback": [0.0, 0.0, 0.0]}
    with pytest.raises(DivergenceError, match="epoch 3, iteration 2: loss L1 = inf"):
        epoch_sums(steps, "train r", 2)
    fine = {k: [torch.tensor(1.0)] * 3 for k in ("D", "L1")} | {"doubled_L4": [0.5, 0.25, 0.0]}
    assert epoch_sums(fine, "train r", 0) == {"D": 3.0, "L1": 3.0, "doubled_L4": 0.75}


def test_batch_maps_stay_on_the_host():
    data = tiny_pairs()
    assert data.face is not None
    b = make_batch(data, 0, True, torch.device("meta"))
    assert b.photo.device.type == "meta" and b.face.device.type == "cpu"
    assert torch.equal(b.face, data.face[:1].flip(-1))
    assert replace(b).hair.device.type == "cpu"
