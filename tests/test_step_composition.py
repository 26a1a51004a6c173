"""What one training step optimises, for every row: on a fixed tiny batch, each loss is
recomputed here from the networks' outputs (copies taken before the step) and compared
with what the step logged, and the gradient each network received with the gradient of
the recomputed loss. The weights are distinct and far from 1, so a term with the wrong
weight, from the wrong tensor or missing changes a value or a gradient.

Patch sampling is made deterministic rather than replayed: every sampler is given more
patches than a layer has locations, so it takes all of them (uniform) or all region
locations (RCS / DSS), and PatchNCE's mean over queries does not depend on their order.
The tests therefore hold whatever order the step draws its random numbers in."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from fss.config import build
from fss.training.config import LossParams, ModelParams, RowParams, TrainingConfig, TrainParams
from fss.training.dataset import Batch
from fss.training.losses import PerceptualLoss, PerceptualParams, vgg_features
from fss.training.methods import build_method
from fss.training.sampling import SamplingParams, sample_indices

S = 32
ROWS = {  # conf/config.yaml's rows
    "cut": RowParams(model="cut", sampling="uniform"),
    "rcs": RowParams(model="cut", sampling="rcs"),
    "dss": RowParams(model="cut", sampling="dss"),
    "mask": RowParams(model="cut", sampling="dss", mask_input=True),
    "fss": RowParams(model="cut", sampling="dss", mask_input=True, pixel_losses=True),
    "pix2pix": RowParams(model="pix2pix"),
    "cyclegan": RowParams(model="cyclegan"),
    # official CUT's target: D and the identity term on another pair's sketch
    "cut_unpaired": RowParams(model="cut", sampling="uniform", unpaired_target=True),
}
# init_gain 1: with the default 0.02, H's outputs are tiny before their L2 normalisation,
# which amplifies float error in its gradient to ~1 %
MODEL = ModelParams(ngf=4, ndf=4, n_blocks=5, mlp_dim=8, nce_t=0.3, init_gain=1.0)
ALL = 100_000   # more patches than any layer has locations: samplers take them all
SAMPLING = SamplingParams(num_patches=ALL, n_face=ALL, n_hair=ALL)
# Distinct weights, none 1: each term's weight shows in the total and the gradients.
LOSS = LossParams(alpha=3.0, beta=1.7, gamma=0.6, pix2pix_l1=7.0, cycle=2.5, identity=0.3,
                  perceptual={"backbone": "vgg16", "weights": [0.5, 0.25, 2.0, 0.125, 4.0]})


def _cfg(row: str, **loss) -> TrainingConfig:
    return TrainingConfig(row_name=row, row=ROWS[row], model=MODEL, sampling=SAMPLING,
                          loss=replace(LOSS, **loss), train=TrainParams(threads=1), seed=0,
                          device="cpu")


def _batch() -> Batch:
    g = torch.Generator().manual_seed(1)
    face = torch.zeros(1, 1, S, S)
    face[..., 8:24, 8:24] = 0.6
    face[..., 12:20, 12:20] = 0.95          # above dss_threshold: DSS doubles these
    hair = torch.zeros(1, 1, S, S)
    hair[..., 0:8, 4:28] = 0.7
    return Batch(photo=torch.rand(1, 3, S, S, generator=g) * 2 - 1,
                 sketch=torch.rand(1, 1, S, S, generator=g) * 2 - 1,
                 mask=(torch.rand(1, 1, S, S, generator=g) > 0.3).float(),
                 face=face, hair=hair,
                 unpaired_sketch=torch.rand(1, 1, S, S, generator=g) * 2 - 1)


def _perceptual() -> PerceptualLoss:
    torch.manual_seed(5)
    return PerceptualLoss(build(PerceptualParams, LOSS.perceptual, "loss.perceptual"),
                          features=vgg_features("vgg16"))


def _run_step(cfg: TrainingConfig, batch: Batch):
    """(networks before the step, the method after it, what it logged)."""
    torch.manual_seed(0)
    method = build_method(cfg, _perceptual() if cfg.row.pixel_losses else None)
    before = {k: copy.deepcopy(n) for k, n in method.nets.items()}
    percep_before = copy.deepcopy(getattr(method, "perceptual", None))
    out = method.step(batch, torch.Generator().manual_seed(0))
    logged = {k: float(v) for k, v in out.items()}
    return before, percep_before, method, logged


# --- the losses, written out here -------------------------------------------------------

def _lsgan(pred: torch.Tensor, real: bool) -> torch.Tensor:
    return ((pred - (1.0 if real else 0.0)) ** 2).mean()


def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def _info_nce(q: torch.Tensor, k: torch.Tensor, idx: torch.Tensor, t: float) -> torch.Tensor:
    """Mean over queries of -log softmax of the positive (the key at the query's own
    location) among all keys, keys at the same location (DSS twins) left out."""
    k = k.detach()
    logits = q @ k.t() / t
    n = len(idx)
    twin = (idx[:, None] == idx[None, :]) & ~torch.eye(n, dtype=torch.bool)
    logits = logits.masked_fill(twin, float("-inf"))
    return (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()


def _locations(cfg: TrainingConfig, batch: Batch, h: int, w: int) -> torch.Tensor:
    idx = sample_indices(cfg.row.sampling, h, w, batch.face[0, 0], batch.hair[0, 0],
                         cfg.sampling, torch.Generator().manual_seed(123)).idx
    other = sample_indices(cfg.row.sampling, h, w, batch.face[0, 0], batch.hair[0, 0],
                           cfg.sampling, torch.Generator().manual_seed(7)).idx
    # all locations (or all region ones): the same multiset whatever the draw
    assert torch.equal(idx.sort().values, other.sort().values)
    return idx


def _nce(cfg: TrainingConfig, g, h, key_in: torch.Tensor, query_in: torch.Tensor,
         batch: Batch) -> torch.Tensor:
    layers = cfg.model.nce_layers
    fk, fq = g.encode(key_in, layers), g.encode(query_in, layers)
    total = torch.zeros(())
    for j, (q, k) in enumerate(zip(fq, fk, strict=True)):
        idx = _locations(cfg, batch, *k.shape[-2:])
        total = total + _info_nce(h(q, j, idx), h(k, j, idx), idx, cfg.model.nce_t)
    return total / len(layers)


def _as_photo_input(x: torch.Tensor, batch: Batch, mask_input: bool) -> torch.Tensor:
    """A 1-channel image in the generator's input layout (gray x3, plus the mask)."""
    x = x.expand(-1, 3, -1, -1)
    return torch.cat([x, batch.mask], 1) if mask_input else x


def _cut_expected(cfg: TrainingConfig, before, d_after, percep, batch: Batch):
    g, h, d = before["G"], before["H"], before["D"]
    lp, m = cfg.loss, cfg.row.mask_input
    photo_in = torch.cat([batch.photo, batch.mask], 1) if m else batch.photo
    fake = g(photo_in)
    target = batch.unpaired_sketch if cfg.row.unpaired_target else batch.sketch
    exp = {"D": 0.5 * (_lsgan(d(fake.detach()), False) + _lsgan(d(target), True)),
           # G meets the discriminator as its own step just left it
           "G_GAN": _lsgan(d_after(fake), True),
           # queries from G(photo), keys from the photo itself
           "NCE": _nce(cfg, g, h, photo_in, _as_photo_input(fake, batch, m), batch),
           "L1": _l1(fake, batch.sketch)}
    nce = exp["NCE"]
    if lp.nce_idt:
        sketch_in = _as_photo_input(target, batch, m)
        idt = g(sketch_in)
        exp["NCE_idt"] = _nce(cfg, g, h, sketch_in, _as_photo_input(idt, batch, m), batch)
        nce = 0.5 * (exp["NCE"] + exp["NCE_idt"])
    total = exp["G_GAN"] + lp.beta * nce
    if cfg.row.pixel_losses:
        exp["perceptual"] = _perceptual_value(percep, fake, batch.sketch, lp)
        total = total + lp.alpha * exp["L1"] + lp.gamma * exp["perceptual"]
    exp["G_total"] = total
    return exp, {"G": total, "H": total, "D": exp["D"]}


def _perceptual_value(net: PerceptualLoss, fake: torch.Tensor, real: torch.Tensor,
                      lp: LossParams) -> torch.Tensor:
    """sum_j w_j L1(phi_j(fake), phi_j(real)), VGG stages by hand on ImageNet-normalised
    3-channel input."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    stages = (1, 6, 11, 18, 25)   # relu1_1 .. relu5_1 in vgg16.features

    def feats(x):
        x = ((x.expand(-1, 3, -1, -1) + 1) / 2 - mean) / std
        out = []
        for i, layer in enumerate(net.features):
            x = layer(x)
            if i in stages:
                out.append(x)
        return out

    weights = lp.perceptual["weights"]
    return sum(w * _l1(a, b.detach()) for w, a, b in zip(weights, feats(fake), feats(real),
                                                        strict=True))


def _pix2pix_expected(cfg: TrainingConfig, before, d_after, batch: Batch):
    g, d = before["G"], before["D"]
    fake = g(batch.photo)
    pair = lambda s: torch.cat([batch.photo, s], 1)  # noqa: E731
    exp = {"D": 0.5 * (_lsgan(d(pair(fake.detach())), False) + _lsgan(d(pair(batch.sketch)), True)),
           "G_GAN": _lsgan(d_after(pair(fake)), True), "L1": _l1(fake, batch.sketch)}
    exp["G_total"] = exp["G_GAN"] + cfg.loss.pix2pix_l1 * exp["L1"]
    return exp, {"G": exp["G_total"], "D": exp["D"]}


def _cyclegan_expected(cfg: TrainingConfig, before, batch: Batch):
    g, f, ds, dp = before["G"], before["F"], before["D_sketch"], before["D_photo"]
    lp, photo, sketch = cfg.loss, batch.photo, batch.unpaired_sketch
    gray = (photo * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    fake_s, fake_p = g(photo), f(sketch)
    exp = {"G_GAN": _lsgan(ds(fake_s), True) + _lsgan(dp(fake_p), True),
           "cycle": _l1(f(fake_s), photo) + _l1(g(fake_p), sketch),
           "identity": _l1(g(sketch.expand(-1, 3, -1, -1)), sketch) + _l1(f(gray), photo),
           # D learns from the fakes G made before its own update, detached
           "D": 0.5 * (_lsgan(ds(sketch), True) + _lsgan(ds(fake_s.detach()), False)
                       + _lsgan(dp(photo), True) + _lsgan(dp(fake_p.detach()), False)),
           "L1": _l1(fake_s, batch.sketch)}     # logged only: against the paired sketch
    exp["G_total"] = (exp["G_GAN"] + lp.cycle * exp["cycle"]
                      + lp.cycle * lp.identity * exp["identity"])
    gl = exp["G_total"]
    return exp, {"G": gl, "F": gl, "D_sketch": exp["D"], "D_photo": exp["D"]}


def _expected(cfg, before, percep_before, method, batch):
    if cfg.row.model == "cut":
        return _cut_expected(cfg, before, method.nets["D"], percep_before, batch)
    if cfg.row.model == "pix2pix":
        return _pix2pix_expected(cfg, before, method.nets["D"], batch)
    return _cyclegan_expected(cfg, before, batch)


def _assert_grads(net_name: str, loss: torch.Tensor, net_before, net_after) -> None:
    params = list(net_before.parameters())
    want = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
    want = [torch.zeros_like(p) if w is None else w for p, w in zip(params, want, strict=True)]
    # one scale per network: a conv bias before instance norm has a true gradient of 0,
    # which float error alone fills
    scale = max(max(float(w.abs().max()) for w in want), 1e-8)
    for (name, p), w in zip(net_after.named_parameters(), want, strict=True):
        got = torch.zeros_like(p) if p.grad is None else p.grad
        torch.testing.assert_close(got, w, rtol=1e-3, atol=1e-4 * scale,
                                   msg=lambda m, n=name: f"{net_name}.{n}: {m}")


# --- the tests ---------------------------------------------------------------------------

CASES = [("cut", {}), ("rcs", {}), ("dss", {}), ("mask", {}), ("fss", {}),
         ("fss", {"nce_idt": False}), ("cut", {"nce_idt": False}),
         ("pix2pix", {}), ("cyclegan", {}), ("cut_unpaired", {})]


@pytest.mark.parametrize(("row", "loss"), CASES,
                         ids=[f"{r}{'-noidt' if loss else ''}" for r, loss in CASES])
def test_one_step_is_the_sum_of_its_terms(row, loss):
    cfg, batch = _cfg(row, **loss), _batch()
    before, percep_before, method, logged = _run_step(cfg, batch)
    exp, net_losses = _expected(cfg, before, percep_before, method, batch)

    # logged values: every term, and nothing the row does not have
    for k, v in exp.items():
        assert logged[k] == pytest.approx(float(v.detach()), rel=1e-4, abs=1e-6), k
    assert ("NCE_idt" in logged) == (cfg.row.model == "cut" and cfg.loss.nce_idt)
    assert ("perceptual" in logged) == cfg.row.pixel_losses
    # each network's gradient is that of its own loss (D's of D's loss alone: no
    # gradient of G's loss reaches it; G's and H's of G's total)
    assert set(net_losses) == set(method.nets)
    for name, loss_t in net_losses.items():
        _assert_grads(name, loss_t, before[name], method.nets[name])


@pytest.mark.parametrize("row", ["fss", "cut"])
def test_terms_reach_only_their_networks(row):
    """H learns only from PatchNCE (its gradient is beta * dNCE/dH, the GAN and pixel
    terms give none); the perceptual VGG receives no gradient and does not change; each
    optimiser stepped exactly its own networks."""
    cfg, batch = _cfg(row), _batch()
    before, percep_before, method, logged = _run_step(cfg, batch)
    exp, _ = _expected(cfg, before, percep_before, method, batch)
    nce = 0.5 * (exp["NCE"] + exp["NCE_idt"])
    _assert_grads("H", cfg.loss.beta * nce, before["H"], method.nets["H"])
    rest = exp["G_GAN"] + (cfg.loss.alpha * exp["L1"] + cfg.loss.gamma * exp["perceptual"]
                           if cfg.row.pixel_losses else 0)
    assert all(g is None for g in torch.autograd.grad(
        rest, list(before["H"].parameters()), allow_unused=True))
    # every network moved (its optimiser stepped) ...
    for name, net in method.nets.items():
        moved = [not torch.equal(a, b) for a, b in zip(net.parameters(),
                                                       before[name].parameters(), strict=True)]
        assert any(moved), f"{name} did not change"
    # ... and the perceptual net is frozen
    if cfg.row.pixel_losses:
        for p, p0 in zip(method.perceptual.parameters(), percep_before.parameters(),
                         strict=True):
            assert p.grad is None and not p.requires_grad
            assert torch.equal(p, p0)
        assert not method.perceptual.features.training
        owned = {id(p) for o in method.optims.values() for gr in o.param_groups
                 for p in gr["params"]}
        assert not owned & {id(p) for p in method.perceptual.parameters()}
