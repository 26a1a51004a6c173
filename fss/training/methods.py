"""One training step per method. CUT covers the five ablation rows (what a row uses
is data: sampling strategy, mask input, pixel losses); pix2pix and CycleGAN are the
trained baselines. Each method owns its networks and optimizers by name, so the loop
can checkpoint any of them the same way."""

from __future__ import annotations

import torch
import torch.nn as nn

from fss.losses import PerceptualLoss, gan_loss, l1_loss
from fss.models.discriminator import PatchDiscriminator
from fss.models.generator import ResnetGenerator
from fss.models.layers import init_weights
from fss.models.patchnce import PatchHead, patch_nce_loss
from fss.patch_sampling import sample_indices
from fss.training.config import TrainingConfig
from fss.training.dataset import Batch


def _adam(params, cfg: TrainingConfig) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=cfg.train.lr, betas=(cfg.train.beta1, cfg.train.beta2))


def _step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _gray(rgb: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([0.299, 0.587, 0.114], device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(dim=1, keepdim=True)


class Method:
    nets: dict[str, nn.Module]
    optims: dict[str, torch.optim.Optimizer]
    generator_key = "G"
    mask_input = False

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, float]:
        raise NotImplementedError

    def generator_input(self, photo: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.cat([photo, mask], dim=1) if self.mask_input else photo

    @torch.no_grad()
    def sketch(self, photo: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        g = self.nets[self.generator_key]
        was = g.training
        g.eval()
        out = g(self.generator_input(photo, mask))
        g.train(was)
        return out

    def set_lr(self, lr: float) -> None:
        for opt in self.optims.values():
            for group in opt.param_groups:
                group["lr"] = lr

    def to(self, device: torch.device) -> Method:
        for n in self.nets.values():
            n.to(device)
        return self


class CUTMethod(Method):
    """CUT with the FSS additions a row switches on: RCS/DSS sampling of the NCE
    patches, the photo mask as a 4th input channel, L1 + perceptual losses."""

    def __init__(self, cfg: TrainingConfig, perceptual: PerceptualLoss | None = None):
        self.cfg = cfg
        row, m = cfg.row, cfg.model
        self.mask_input = row.mask_input
        in_ch = 4 if row.mask_input else 3
        g = ResnetGenerator(in_ch, 1, m.generator())
        d = PatchDiscriminator(1, m.discriminator())
        init_weights(g, m.init_gain)
        init_weights(d, m.init_gain)
        h = PatchHead(g.layer_channels(m.nce_layers), m.mlp_dim)
        init_weights(h, m.init_gain)
        self.nets = {"G": g, "D": d, "H": h}
        self.optims = {"G": _adam(g.parameters(), cfg), "D": _adam(d.parameters(), cfg),
                       "H": _adam(h.parameters(), cfg)}
        self.perceptual = None
        if row.pixel_losses and cfg.loss.gamma > 0:
            self.perceptual = perceptual or PerceptualLoss(cfg.loss.perceptual_params())

    def to(self, device: torch.device) -> CUTMethod:
        super().to(device)
        if self.perceptual is not None:
            self.perceptual.to(device)
        return self

    def encoder_input_of_sketch(self, sketch: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The sketch in the photo's input layout: gray replicated to 3 channels and,
        in mask rows, the same mask appended, so query and key share one encoder."""
        return self.generator_input(sketch.expand(-1, 3, -1, -1), mask)

    def nce_loss(self, src: torch.Tensor, fake_in: torch.Tensor, batch: Batch,
                 gen: torch.Generator) -> torch.Tensor:
        g, h, m = self.nets["G"], self.nets["H"], self.cfg.model
        feats_k = g.encode(src, m.nce_layers)
        feats_q = g.encode(fake_in, m.nce_layers)
        face = batch.face[0, 0].cpu() if batch.face is not None else None
        hair = batch.hair[0, 0].cpu() if batch.hair is not None else None
        total = torch.zeros((), device=src.device)
        stats: dict[str, int] = {}
        for layer, (fq, fk) in enumerate(zip(feats_q, feats_k, strict=True)):
            hh, ww = fk.shape[-2:]
            idx = sample_indices(self.cfg.row.sampling, hh, ww, face, hair, self.cfg.sampling, gen,
                                 stats)
            idx = idx.to(src.device)
            total = total + patch_nce_loss(h(fq, layer, idx), h(fk, layer, idx), idx, m.nce_t)
        # Share of layers whose RCS regions were too small and sampled uniformly instead:
        # should be 0 with working RCS maps; 1 means the row is silently plain CUT.
        self.last_fallback = stats.get("fallbacks", 0) / len(feats_q)
        return total / len(feats_q)

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, float]:
        g, d = self.nets["G"], self.nets["D"]
        lp, mode = self.cfg.loss, self.cfg.model.gan_mode
        src = self.generator_input(batch.photo, batch.mask)
        fake = g(src)

        d.requires_grad_(True)
        loss_d = 0.5 * (gan_loss(d(fake.detach()), False, mode)
                        + gan_loss(d(batch.sketch), True, mode))
        _step(self.optims["D"], loss_d)

        d.requires_grad_(False)
        loss_gan = gan_loss(d(fake), True, mode)
        loss_nce = self.nce_loss(src, self.encoder_input_of_sketch(fake, batch.mask), batch, gen)
        loss_l1 = l1_loss(fake, batch.sketch)
        total = loss_gan + lp.beta * loss_nce
        out = {"D": loss_d.item(), "G_GAN": loss_gan.item(), "NCE": loss_nce.item()}
        if self.cfg.row.sampling != "uniform":
            out["sampling_fallback"] = self.last_fallback
        if self.cfg.row.pixel_losses:
            total = total + lp.alpha * loss_l1
            if self.perceptual is not None:
                loss_p = self.perceptual(fake, batch.sketch)
                total = total + lp.gamma * loss_p
                out["perceptual"] = loss_p.item()
        self.optims["G"].zero_grad(set_to_none=True)
        self.optims["H"].zero_grad(set_to_none=True)
        total.backward()
        self.optims["G"].step()
        self.optims["H"].step()
        out["L1"] = loss_l1.item()  # logged for every row; a loss term only with pixel_losses
        out["G_total"] = total.item()
        return out


class Pix2PixMethod(Method):
    """Paired baseline: ResNet generator, discriminator conditioned on the photo,
    GAN + L1 (``loss.pix2pix_l1``)."""

    def __init__(self, cfg: TrainingConfig):
        self.cfg = cfg
        g = ResnetGenerator(3, 1, cfg.model.generator())
        d = PatchDiscriminator(4, cfg.model.discriminator())
        init_weights(g, cfg.model.init_gain)
        init_weights(d, cfg.model.init_gain)
        self.nets = {"G": g, "D": d}
        self.optims = {"G": _adam(g.parameters(), cfg), "D": _adam(d.parameters(), cfg)}

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, float]:
        g, d, mode = self.nets["G"], self.nets["D"], self.cfg.model.gan_mode
        fake = g(batch.photo)
        d.requires_grad_(True)
        fake_pair = torch.cat([batch.photo, fake.detach()], 1)
        real_pair = torch.cat([batch.photo, batch.sketch], 1)
        loss_d = 0.5 * (gan_loss(d(fake_pair), False, mode) + gan_loss(d(real_pair), True, mode))
        _step(self.optims["D"], loss_d)
        d.requires_grad_(False)
        loss_gan = gan_loss(d(torch.cat([batch.photo, fake], 1)), True, mode)
        loss_l1 = l1_loss(fake, batch.sketch)
        total = loss_gan + self.cfg.loss.pix2pix_l1 * loss_l1
        _step(self.optims["G"], total)
        return {"D": loss_d.item(), "G_GAN": loss_gan.item(), "L1": loss_l1.item(),
                "G_total": total.item()}


class CycleGANMethod(Method):
    """Unpaired baseline: G photo->sketch, F sketch->photo, a discriminator each,
    cycle loss ``loss.cycle`` and identity ``loss.identity * loss.cycle``. Each photo
    meets a sketch of another, randomly drawn training pair (unpaired sampling)."""

    def __init__(self, cfg: TrainingConfig):
        self.cfg = cfg
        gp, dp = cfg.model.generator(), cfg.model.discriminator()
        nets = {"G": ResnetGenerator(3, 1, gp), "F": ResnetGenerator(1, 3, gp),
                "D_sketch": PatchDiscriminator(1, dp), "D_photo": PatchDiscriminator(3, dp)}
        for n in nets.values():
            init_weights(n, cfg.model.init_gain)
        self.nets = nets
        self.optims = {
            "G": _adam(list(nets["G"].parameters()) + list(nets["F"].parameters()), cfg),
            "D": _adam(list(nets["D_sketch"].parameters()) + list(nets["D_photo"].parameters()),
                       cfg),
        }

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, float]:
        g, f = self.nets["G"], self.nets["F"]
        ds, dp = self.nets["D_sketch"], self.nets["D_photo"]
        lp, mode = self.cfg.loss, self.cfg.model.gan_mode
        photo = batch.photo
        sketch = batch.unpaired_sketch if batch.unpaired_sketch is not None else batch.sketch

        fake_s, fake_p = g(photo), f(sketch)
        ds.requires_grad_(False)
        dp.requires_grad_(False)
        loss_gan = gan_loss(ds(fake_s), True, mode) + gan_loss(dp(fake_p), True, mode)
        loss_cyc = l1_loss(f(fake_s), photo) + l1_loss(g(fake_p), sketch)
        loss_idt = torch.zeros((), device=photo.device)
        if lp.identity > 0:
            loss_idt = (l1_loss(g(sketch.expand(-1, 3, -1, -1)), sketch)
                        + l1_loss(f(_gray(photo)), photo))
        total = loss_gan + lp.cycle * loss_cyc + lp.cycle * lp.identity * loss_idt
        _step(self.optims["G"], total)

        ds.requires_grad_(True)
        dp.requires_grad_(True)
        loss_d = 0.5 * (gan_loss(ds(sketch), True, mode)
                        + gan_loss(ds(fake_s.detach()), False, mode)
                        + gan_loss(dp(photo), True, mode)
                        + gan_loss(dp(fake_p.detach()), False, mode))
        _step(self.optims["D"], loss_d)
        with torch.no_grad():
            l1 = l1_loss(fake_s, batch.sketch)
        return {"D": loss_d.item(), "G_GAN": loss_gan.item(), "cycle": loss_cyc.item(),
                "identity": loss_idt.item(), "L1": l1.item(), "G_total": total.item()}


def build_method(cfg: TrainingConfig, perceptual: PerceptualLoss | None = None) -> Method:
    if cfg.row.model == "cut":
        return CUTMethod(cfg, perceptual)
    if cfg.row.model == "pix2pix":
        return Pix2PixMethod(cfg)
    return CycleGANMethod(cfg)
