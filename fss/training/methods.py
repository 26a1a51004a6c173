"""One training step per method. CUT covers the five ablation rows (what a row uses
is data: sampling strategy, mask input, pixel losses); pix2pix and CycleGAN are the
trained baselines. Each method owns its networks and optimizers by name, so the loop
can checkpoint any of them the same way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn as nn

from fss.config import ParamsError
from fss.models.discriminator import PatchDiscriminator
from fss.models.generator import ResnetGenerator
from fss.models.layers import init_weights
from fss.models.patchnce import PatchHead, patch_nce_loss
from fss.training import distributed
from fss.training.config import TrainingConfig, TrainParams
from fss.training.dataset import Batch
from fss.training.losses import PerceptualLoss, gan_loss, l1_loss
from fss.training.sampling import resize_map, sample_indices

NET_INPUTS = ("photo", "sketch", "mask", "unpaired_sketch")


def _adam(params, cfg: TrainingConfig) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=cfg.train.lr, betas=(cfg.train.beta1, cfg.train.beta2))


def amp_dtype(train: TrainParams, device: torch.device) -> torch.dtype | None:
    """The autocast dtype ``train.precision`` means on ``device`` (None: plain fp32)."""
    if train.precision == "fp32":
        return None
    bf16_gpu = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if train.precision == "auto":
        return torch.bfloat16 if bf16_gpu else None
    if device.type == "cuda" and not bf16_gpu:
        raise ParamsError(f"train.precision 'bf16': {device} has no bf16 support "
                          "(use auto or fp32)")
    return torch.bfloat16


def use_channels_last(train: TrainParams, device: torch.device) -> bool:
    # auto: only CUDA's convolutions gain from NHWC; on CPU it mostly adds conversions.
    return train.channels_last == "always" or (train.channels_last == "auto"
                                               and device.type == "cuda")


def _step(opts: torch.optim.Optimizer | Sequence[torch.optim.Optimizer], loss: torch.Tensor,
          world_size: int = 1) -> None:
    """zero_grad, backward, step; with several processes the gradients are averaged
    over them between backward and step (see ``fss.training.distributed``)."""
    opts = [opts] if isinstance(opts, torch.optim.Optimizer) else list(opts)
    for opt in opts:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    if world_size > 1:
        distributed.average_gradients(
            [p for opt in opts for group in opt.param_groups for p in group["params"]],
            world_size)
    for opt in opts:
        opt.step()


def _float(out: Any) -> Any:
    # Losses are taken in fp32: bf16 keeps ~3 digits, too few for PatchNCE's logits / 0.07.
    if isinstance(out, torch.Tensor):
        return out.float()
    if isinstance(out, list | tuple):
        return type(out)(_float(o) for o in out)
    return out


def _gray(rgb: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([0.299, 0.587, 0.114], device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(dim=1, keepdim=True)


def loss_values(losses: dict[str, torch.Tensor | float]) -> dict[str, float]:
    """A step's losses as floats: one host read each, so for tests and tools, not for
    the loop (which reads an epoch's worth at once, ``fss.training.loop.epoch_sums``)."""
    return {k: float(v) for k, v in losses.items()}


class Method:
    nets: dict[str, nn.Module]
    optims: dict[str, torch.optim.Optimizer]
    generator_key = "G"
    mask_input = False
    world_size = 1                      # processes whose gradients each step averages
    amp_dtype: torch.dtype | None = None  # autocast dtype of the forward passes
    channels_last = False
    device_type = "cpu"

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, torch.Tensor | float]:
        """One optimisation step. Losses come back as detached device tensors (floats
        for sampling statistics): the loop reads them once per epoch, since a read per
        loss per step is a host synchronisation on a GPU."""
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
        self.device_type = device.type
        return self

    def configure(self, *, amp: torch.dtype | None = None, channels_last: bool = False,
                  world_size: int = 1) -> Method:
        """Precision, memory layout and process count (call after ``to``)."""
        self.amp_dtype, self.channels_last, self.world_size = amp, channels_last, world_size
        if channels_last:
            for m in self.layout_modules():
                m.to(memory_format=torch.channels_last)
        return self

    def layout_modules(self) -> list[nn.Module]:
        return list(self.nets.values())

    def prepare(self, batch: Batch) -> Batch:
        """The images the networks read in their memory layout (the RCS maps only feed
        patch sampling, so they stay as they are)."""
        if not self.channels_last:
            return batch
        return replace(batch, **{k: _nhwc(getattr(batch, k)) for k in NET_INPUTS})

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.amp_dtype)

    def amp(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` under autocast, its output back in fp32 for the losses."""
        with self.autocast():
            return _float(fn(*args))

    def step_optimizers(self, names: Sequence[str], loss: torch.Tensor) -> None:
        _step([self.optims[k] for k in names], loss, self.world_size)


def _nhwc(t: torch.Tensor | None) -> torch.Tensor | None:
    if t is None or t.ndim != 4:
        return t
    return t.contiguous(memory_format=torch.channels_last)


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
        init_weights(g, m.init_gain, m.init_type)
        init_weights(d, m.init_gain, m.init_type)
        h = PatchHead(g.layer_channels(m.nce_layers), m.mlp_dim)
        init_weights(h, m.init_gain, m.init_type)
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

    def layout_modules(self) -> list[nn.Module]:
        extra = [self.perceptual] if self.perceptual is not None else []
        return super().layout_modules() + extra

    def encoder_input_of_sketch(self, sketch: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The sketch in the photo's input layout: gray replicated to 3 channels and,
        in mask rows, the same mask appended, so query and key share one encoder."""
        return self.generator_input(sketch.expand(-1, 3, -1, -1), mask)

    def layer_maps(self, batch: Batch, sizes: Sequence[tuple[int, int]]
                   ) -> list[tuple[torch.Tensor | None, torch.Tensor | None]]:
        """The RCS face / hair maps at each NCE layer's size, made once per step for
        both PatchNCE terms. They are host tensors (``make_batch``): the sampler draws
        from a CPU generator, so a run replays the same locations on any device."""
        if batch.face is None or batch.hair is None or self.cfg.row.sampling == "uniform":
            return [(None, None)] * len(sizes)
        face, hair = batch.face[0, 0], batch.hair[0, 0]
        return [(resize_map(face, h, w), resize_map(hair, h, w)) for h, w in sizes]

    def nce_loss(self, feats_q: Sequence[torch.Tensor], feats_k: Sequence[torch.Tensor],
                 maps: Sequence[tuple[torch.Tensor | None, torch.Tensor | None]],
                 gen: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """PatchNCE between the query features (of G's output, in the input layout) and
        the key features (of G's input, read off the forward that made the output) over
        the NCE layers, with this row's sampler; and what the sampling did: the share of
        layers that fell back to uniform and, for DSS, the share of sampled locations
        that were doubled at each layer."""
        h, m, row = self.nets["H"], self.cfg.model, self.cfg.row
        total = torch.zeros((), device=feats_q[0].device)
        fallbacks = 0
        sampling: dict[str, float] = {}
        for layer, (fq, fk, (face, hair)) in enumerate(zip(feats_q, feats_k, maps, strict=True)):
            hh, ww = fk.shape[-2:]
            loc = sample_indices(row.sampling, hh, ww, face, hair, self.cfg.sampling, gen)
            fallbacks += loc.fell_back
            if row.sampling == "dss":
                sampling[f"doubled_L{m.nce_layers[layer]}"] = loc.doubled_share()
            idx = loc.idx.to(fk.device)
            with torch.no_grad():  # keys are constants of the loss (CUT detaches them)
                k = self.amp(h, fk.detach(), layer, idx)
            total = total + patch_nce_loss(self.amp(h, fq, layer, idx), k, idx, m.nce_t)
        if row.sampling != "uniform":
            # Share of layers whose RCS regions were too small and sampled uniformly
            # instead: 0 with working RCS maps; 1 means the row is silently plain CUT.
            sampling["sampling_fallback"] = fallbacks / len(feats_q)
        return total / len(feats_q), sampling

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, torch.Tensor | float]:
        g, d = self.nets["G"], self.nets["D"]
        lp, mode, layers = self.cfg.loss, self.cfg.model.gan_mode, self.cfg.model.nce_layers
        src = self.generator_input(batch.photo, batch.mask)
        # what D calls real and the identity term encodes: the photo's own sketch, or
        # (unpaired_target) another pair's; the pixel losses always use the photo's own
        target = batch.sketch
        if self.cfg.row.unpaired_target:
            if batch.unpaired_sketch is None:
                raise ValueError("unpaired_target: the batch has no unpaired sketch")
            target = batch.unpaired_sketch
        if lp.nce_idt:
            # CUT runs photo and sketch through G as one batch of two (instance norm
            # keeps them independent); G(sketch) only feeds the identity term. The same
            # pass gives both terms' keys.
            sketch_in = self.encoder_input_of_sketch(target, batch.mask)
            out, feats = self.amp(g.forward_with_features, torch.cat([src, sketch_in]), layers)
            fake, idt = out.chunk(2)
        else:
            fake, feats = self.amp(g.forward_with_features, src, layers)

        d.requires_grad_(True)
        loss_d = 0.5 * (gan_loss(self.amp(d, fake.detach()), False, mode)
                        + gan_loss(self.amp(d, target), True, mode))
        self.step_optimizers(["D"], loss_d)

        d.requires_grad_(False)
        loss_gan = gan_loss(self.amp(d, fake), True, mode)
        queries_of = [self.encoder_input_of_sketch(fake, batch.mask)]
        if lp.nce_idt:
            queries_of.append(self.encoder_input_of_sketch(idt, batch.mask))
        # The queries of both terms in one encoder pass (again a batch of two).
        feats_q = self.amp(g.encode, torch.cat(queries_of), layers)
        maps = self.layer_maps(batch, [f.shape[-2:] for f in feats])
        loss_nce, sampling = self.nce_loss([f[:1] for f in feats_q], [f[:1] for f in feats],
                                           maps, gen)
        out_losses: dict[str, torch.Tensor | float] = {
            "D": loss_d.detach(), "G_GAN": loss_gan.detach(), "NCE": loss_nce.detach(),
            **sampling}
        if lp.nce_idt:
            loss_idt, _ = self.nce_loss([f[1:] for f in feats_q], [f[1:] for f in feats],
                                        maps, gen)
            out_losses["NCE_idt"] = loss_idt.detach()
            loss_nce = 0.5 * (loss_nce + loss_idt)
        loss_l1 = l1_loss(fake, batch.sketch)
        total = loss_gan + lp.beta * loss_nce
        if self.cfg.row.pixel_losses:
            total = total + lp.alpha * loss_l1
            if self.perceptual is not None:
                loss_p = self.amp(self.perceptual, fake, batch.sketch)
                total = total + lp.gamma * loss_p
                out_losses["perceptual"] = loss_p.detach()
        self.step_optimizers(["G", "H"], total)
        # L1 is logged for every row; a loss term only with pixel_losses.
        out_losses["L1"] = loss_l1.detach()
        out_losses["G_total"] = total.detach()
        return out_losses


class Pix2PixMethod(Method):
    """Paired baseline: ResNet generator, discriminator conditioned on the photo,
    GAN + L1 (``loss.pix2pix_l1``)."""

    def __init__(self, cfg: TrainingConfig):
        self.cfg = cfg
        g = ResnetGenerator(3, 1, cfg.model.generator())
        d = PatchDiscriminator(4, cfg.model.discriminator())
        init_weights(g, cfg.model.init_gain, cfg.model.init_type)
        init_weights(d, cfg.model.init_gain, cfg.model.init_type)
        self.nets = {"G": g, "D": d}
        self.optims = {"G": _adam(g.parameters(), cfg), "D": _adam(d.parameters(), cfg)}

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, torch.Tensor | float]:
        g, d, mode = self.nets["G"], self.nets["D"], self.cfg.model.gan_mode
        fake = self.amp(g, batch.photo)
        d.requires_grad_(True)
        fake_pair = torch.cat([batch.photo, fake.detach()], 1)
        real_pair = torch.cat([batch.photo, batch.sketch], 1)
        loss_d = 0.5 * (gan_loss(self.amp(d, fake_pair), False, mode)
                        + gan_loss(self.amp(d, real_pair), True, mode))
        self.step_optimizers(["D"], loss_d)
        d.requires_grad_(False)
        loss_gan = gan_loss(self.amp(d, torch.cat([batch.photo, fake], 1)), True, mode)
        loss_l1 = l1_loss(fake, batch.sketch)
        total = loss_gan + self.cfg.loss.pix2pix_l1 * loss_l1
        self.step_optimizers(["G"], total)
        return {"D": loss_d.detach(), "G_GAN": loss_gan.detach(), "L1": loss_l1.detach(),
                "G_total": total.detach()}


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
            init_weights(n, cfg.model.init_gain, cfg.model.init_type)
        self.nets = nets
        self.optims = {
            "G": _adam(list(nets["G"].parameters()) + list(nets["F"].parameters()), cfg),
            "D": _adam(list(nets["D_sketch"].parameters()) + list(nets["D_photo"].parameters()),
                       cfg),
        }

    def step(self, batch: Batch, gen: torch.Generator) -> dict[str, torch.Tensor | float]:
        g, f = self.nets["G"], self.nets["F"]
        ds, dp = self.nets["D_sketch"], self.nets["D_photo"]
        lp, mode = self.cfg.loss, self.cfg.model.gan_mode
        photo = batch.photo
        sketch = batch.unpaired_sketch if batch.unpaired_sketch is not None else batch.sketch

        a = self.amp
        fake_s, fake_p = a(g, photo), a(f, sketch)
        ds.requires_grad_(False)
        dp.requires_grad_(False)
        loss_gan = gan_loss(a(ds, fake_s), True, mode) + gan_loss(a(dp, fake_p), True, mode)
        loss_cyc = l1_loss(a(f, fake_s), photo) + l1_loss(a(g, fake_p), sketch)
        loss_idt = torch.zeros((), device=photo.device)
        if lp.identity > 0:
            loss_idt = (l1_loss(a(g, sketch.expand(-1, 3, -1, -1)), sketch)
                        + l1_loss(a(f, _gray(photo)), photo))
        total = loss_gan + lp.cycle * loss_cyc + lp.cycle * lp.identity * loss_idt
        self.step_optimizers(["G"], total)

        ds.requires_grad_(True)
        dp.requires_grad_(True)
        loss_d = 0.5 * (gan_loss(a(ds, sketch), True, mode)
                        + gan_loss(a(ds, fake_s.detach()), False, mode)
                        + gan_loss(a(dp, photo), True, mode)
                        + gan_loss(a(dp, fake_p.detach()), False, mode))
        self.step_optimizers(["D"], loss_d)
        with torch.no_grad():
            l1 = l1_loss(fake_s, batch.sketch)
        return {"D": loss_d.detach(), "G_GAN": loss_gan.detach(), "cycle": loss_cyc.detach(),
                "identity": loss_idt.detach(), "L1": l1.detach(), "G_total": total.detach()}


def build_method(cfg: TrainingConfig, perceptual: PerceptualLoss | None = None) -> Method:
    if cfg.row.model == "cut":
        return CUTMethod(cfg, perceptual)
    if cfg.row.model == "pix2pix":
        return Pix2PixMethod(cfg)
    return CycleGANMethod(cfg)
