"""The params sections training reads (``train``, ``rows.<row>`` with the row's
``model`` / ``sampling`` / ``loss`` keys), one small dataclass each."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from fss.config import NonNegFloat, NonNegInt, ParamsError, PosFloat, PosInt, build
from fss.models.discriminator import DiscriminatorParams
from fss.models.generator import GeneratorParams
from fss.models.layers import INIT_TYPES, NORMS
from fss.training.losses import GAN_MODES, PerceptualParams
from fss.training.sampling import STRATEGIES, SamplingParams

if TYPE_CHECKING:
    from fss.params import Params

METHODS = ("cut", "pix2pix", "cyclegan")
PRECISIONS = ("auto", "fp32", "bf16")  # no fp16: it would need a GradScaler
CHANNELS_LAST = ("auto", "always", "never")


@cache
def encoder_layers(p: GeneratorParams) -> int:
    """How many layers the generator's encoder has (the NCE layers index them), read
    off a one-channel-wide generator (the count does not depend on the width): one
    source, ~10 ms. (On the meta device the first build imported torch._dynamo, 2.3 s
    in every process that reads params.)"""
    import torch

    from fss.models.generator import ResnetGenerator

    with torch.random.fork_rng(devices=[]):  # the global random stream stays where it was
        return ResnetGenerator(3, 1, replace(p, ngf=1)).n_encoder_layers


Beta = Annotated[float, Field(ge=0, lt=1)]


@dataclass(frozen=True)
class ModelParams:
    ngf: PosInt = 64
    n_blocks: PosInt = 9
    ndf: PosInt = 64
    n_layers_d: PosInt = 3
    norm: Literal[NORMS] = "instance"
    gan_mode: Literal[GAN_MODES] = "lsgan"
    init_gain: PosFloat = 0.02
    nce_layers: Annotated[tuple[NonNegInt, ...], Field(min_length=1)] = (0, 4, 8, 12, 16)
    nce_t: PosFloat = 0.07
    mlp_dim: PosInt = 256
    init_type: Literal[INIT_TYPES] = "xavier"    # xavier (CUT) | normal (pix2pix / CycleGAN)

    def __post_init__(self) -> None:
        if self.nce_layers is None:  # a row's own section, for a row without PatchNCE
            return
        if len(set(self.nce_layers)) != len(self.nce_layers):
            raise ParamsError(f"nce_layers {list(self.nce_layers)} should not repeat a layer")
        n = encoder_layers(self.generator())
        outside = [i for i in self.nce_layers if i >= n]
        if outside:
            raise ParamsError(f"nce_layers {list(self.nce_layers)}: layer(s) {outside} outside "
                              f"the generator's encoder (layers 0..{n - 1} with n_blocks "
                              f"{self.n_blocks})")

    def generator(self) -> GeneratorParams:
        return GeneratorParams(ngf=self.ngf, n_blocks=self.n_blocks, norm=self.norm)

    def discriminator(self) -> DiscriminatorParams:
        return DiscriminatorParams(ndf=self.ndf, n_layers=self.n_layers_d, norm=self.norm)


@dataclass(frozen=True)
class LossParams:
    alpha: NonNegFloat = 100.0        # L1, rows with pixel_losses
    beta: NonNegFloat = 1.0           # PatchNCE
    gamma: NonNegFloat = 1.0          # perceptual, rows with pixel_losses
    perceptual: dict[str, Any] = field(default_factory=dict)
    pix2pix_l1: NonNegFloat = 100.0
    cycle: NonNegFloat = 10.0
    identity: NonNegFloat = 0.5       # CycleGAN: times ``cycle``
    nce_idt: bool = True   # CUT's identity term: PatchNCE(sketch, G(sketch)), averaged in

    def perceptual_params(self) -> PerceptualParams:
        return build(PerceptualParams, self.perceptual, "loss.perceptual")


@dataclass(frozen=True)
class TrainParams:
    epochs: PosInt = 400
    epochs_decay: NonNegInt = 200     # linear decay to 0 over the last N epochs
    lr: PosFloat = 2e-4
    beta1: Beta = 0.5
    beta2: Beta = 0.999
    flip: bool = True           # horizontal flip of the whole pair (and its maps)
    iters_per_epoch: NonNegInt = 0    # 0 = every training pair once per epoch
    checkpoint_every: PosInt = 50  # epochs
    sample_every: PosInt = 50      # epochs between sample grids (and the last)
    sample_ids: NonNegInt = 3      # training pairs shown in each grid
    # a generator snapshot (a model file) every N training iterations, for the budget
    # curves (the curve stage scores them); 0 = none
    snapshot_every: NonNegInt = 0
    threads: NonNegInt = 0         # torch CPU threads; 0 = torch's default
    # one training run per seed (a DVC matrix)
    seeds: Annotated[tuple[NonNegInt, ...], Field(min_length=1)] = (0,)
    # the trained baselines' runs (pix2pix, CycleGAN): a multi-seed run of the ablation rows
    # may keep these at one seed
    baseline_seeds: Annotated[tuple[NonNegInt, ...], Field(min_length=1)] = (0,)
    # auto (bf16 on a CUDA device that has it, else fp32) | fp32 | bf16
    precision: Literal[PRECISIONS] = "auto"
    channels_last: Literal[CHANNELS_LAST] = "auto"  # auto (on CUDA only) | always | never
    # resize by this, random-crop back (CUT's 286 -> 256) in the constant epochs; 1 = off
    load_scale: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.117

    def __post_init__(self) -> None:
        if self.epochs_decay > self.epochs:
            raise ParamsError(f"epochs_decay ({self.epochs_decay}) should be <= epochs "
                              f"({self.epochs})")
        for key in ("seeds", "baseline_seeds"):
            seeds = getattr(self, key)
            if len(set(seeds)) != len(seeds):
                raise ParamsError(f"{key} {list(seeds)} should not repeat a seed")


# Every method's generator and discriminator settings (``model`` keys).
NETS = ("ngf", "n_blocks", "ndf", "n_layers_d", "norm", "gan_mode", "init_gain", "init_type")


@dataclass(frozen=True)
class RowParams:
    """A row is data: which method and, for CUT-based rows, what it uses. ``uses`` holds
    every ``model`` / ``sampling`` / ``loss`` key the row's training reads, copied from
    the global keys when params.yaml is composed (conf/row/); training reads those
    sections only from here, so the train stage depends on ``rows.<row>`` alone."""

    model: Literal[METHODS] = "cut"
    sampling: Literal[STRATEGIES] = "uniform"
    mask_input: bool = False
    pixel_losses: bool = False
    # official CUT's target: D and the identity term see a sketch of another, randomly
    # drawn pair with its own crop, where by default they see the photo's own sketch
    unpaired_target: bool = False
    uses: dict[str, dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.unpaired_target and (self.model != "cut" or self.sampling != "uniform"
                                     or self.mask_input):
            # the RCS maps and the mask belong to the photo: they would not fit a sketch
            # of someone else (CycleGAN is unpaired already, pix2pix paired by design)
            raise ParamsError("unpaired_target: only for a CUT row with uniform sampling and "
                              f"no mask input (this row: model {self.model}, sampling "
                              f"{self.sampling}, mask_input {self.mask_input})")
        if self.uses is not None:
            self.sections()  # the keys are exactly those read, and each value is valid

    @property
    def needs_maps(self) -> bool:
        return self.model == "cut" and self.sampling != "uniform"

    def reads(self) -> dict[str, tuple[str, ...]]:
        """The keys of each section this row's training reads (fss.training.methods:
        CUTMethod with these switches, Pix2PixMethod, CycleGANMethod)."""
        if self.model == "pix2pix":
            return {"model": NETS, "sampling": (), "loss": ("pix2pix_l1",)}
        if self.model == "cyclegan":
            return {"model": NETS, "sampling": (), "loss": ("cycle", "identity")}
        sampling = ("num_patches",)  # uniform, and the fallback of the region samplers
        if self.sampling != "uniform":
            sampling += ("n_face", "n_hair", "region_threshold")
        if self.sampling == "dss":
            sampling += ("dss_threshold",)
        loss = ("beta", "nce_idt") + (("alpha", "gamma", "perceptual") if self.pixel_losses
                                      else ())
        return {"model": NETS + ("nce_layers", "nce_t", "mlp_dim"), "sampling": sampling,
                "loss": loss}

    def sections(self) -> tuple[ModelParams, SamplingParams, LossParams]:
        """``uses`` typed: each section's dataclass, None in every key the row does not
        read. A key missing from ``uses`` or one the row does not read is an error: the
        row's DVC dependency would be false."""
        if self.uses is None:
            raise ValueError("'uses' missing (compose params.yaml from conf/ with `fss params`)")
        unknown = sorted(set(self.uses) - {"model", "sampling", "loss"})
        if unknown:
            raise ValueError(f"uses: unknown section(s) {', '.join(unknown)}")
        out = []
        for name, cls in (("model", ModelParams), ("sampling", SamplingParams),
                          ("loss", LossParams)):
            have, need = dict(self.uses.get(name) or {}), self.reads()[name]
            if missing := [k for k in need if k not in have]:
                raise ValueError(f"uses.{name} lacks {', '.join(missing)}, which this row "
                                 "reads (compose params.yaml from conf/)")
            if extra := sorted(k for k in have if k not in need):
                raise ValueError(f"uses.{name} has {', '.join(extra)}, which this row does "
                                 "not read (set a row's features with "
                                 "-S 'row@rows.<row>=[...]')")
            typed = build(cls, have, f"uses.{name}")
            if name == "loss" and "perceptual" in have:
                typed.perceptual_params()
            out.append(replace(typed, **{f.name: None for f in fields(cls)
                                         if f.name not in have}))
        return out[0], out[1], out[2]

@dataclass(frozen=True)
class TrainingConfig:
    row_name: str
    row: RowParams
    model: ModelParams
    sampling: SamplingParams
    loss: LossParams
    train: TrainParams
    seed: int
    device: str


def training_config(params: Params, row_name: str, seed: int) -> TrainingConfig:
    """The row's config from checked params: ``model``, ``sampling`` and ``loss`` from
    the row's ``uses`` (a key the row does not read is None), ``train`` and the device
    from the global sections; ``seed`` is one of ``train.seeds``."""
    if row_name not in params.rows:
        raise ParamsError(f"row '{row_name}' is not in params rows ({', '.join(params.rows)})")
    row = params.rows[row_name]
    try:
        model, sampling, loss = row.sections()
    except ValueError as e:
        raise ParamsError(f"rows.{row_name}: {e}") from None
    return TrainingConfig(row_name=row_name, row=row, model=model, sampling=sampling,
                          loss=loss, train=params.train, seed=int(seed),
                          device=params.base.device)
