"""The params sections training reads (``model``, ``sampling``, ``loss``, ``train``,
``rows.<row>``), one small dataclass each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fss.config import ParamsError, build
from fss.models.discriminator import DiscriminatorParams
from fss.models.generator import GeneratorParams
from fss.models.layers import INIT_TYPES
from fss.training.losses import PerceptualParams
from fss.training.sampling import STRATEGIES, SamplingParams

METHODS = ("cut", "pix2pix", "cyclegan")
PRECISIONS = ("auto", "fp32", "bf16")  # no fp16: it would need a GradScaler
CHANNELS_LAST = ("auto", "always", "never")


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParamsError(f"{key} '{value}' is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class ModelParams:
    ngf: int = 64
    n_blocks: int = 9
    ndf: int = 64
    n_layers_d: int = 3
    norm: str = "instance"
    gan_mode: str = "lsgan"
    init_gain: float = 0.02
    init_type: str = "xavier"   # xavier (CUT) | normal (pix2pix / CycleGAN)
    nce_layers: tuple[int, ...] = (0, 4, 8, 12, 16)
    nce_t: float = 0.07
    mlp_dim: int = 256

    def generator(self) -> GeneratorParams:
        return GeneratorParams(ngf=self.ngf, n_blocks=self.n_blocks, norm=self.norm)

    def discriminator(self) -> DiscriminatorParams:
        return DiscriminatorParams(ndf=self.ndf, n_layers=self.n_layers_d, norm=self.norm)

    def __post_init__(self) -> None:
        _one_of("model.init_type", self.init_type, INIT_TYPES)


@dataclass(frozen=True)
class LossParams:
    alpha: float = 100.0        # L1, rows with pixel_losses
    beta: float = 1.0           # PatchNCE
    nce_idt: bool = True        # CUT's identity term: PatchNCE(sketch, G(sketch)), averaged in
    gamma: float = 1.0          # perceptual, rows with pixel_losses
    perceptual: dict[str, Any] = field(default_factory=dict)
    pix2pix_l1: float = 100.0
    cycle: float = 10.0
    identity: float = 0.5       # CycleGAN: times ``cycle``

    def perceptual_params(self) -> PerceptualParams:
        return build(PerceptualParams, self.perceptual, "loss.perceptual")


@dataclass(frozen=True)
class TrainParams:
    epochs: int = 400
    epochs_decay: int = 200     # linear decay to 0 over the last N epochs
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    flip: bool = True           # horizontal flip of the whole pair (and its maps)
    load_scale: float = 1.117   # resize by this, random-crop back (CUT's 286 -> 256); 1 = off
    iters_per_epoch: int = 0    # 0 = every training pair once per epoch
    checkpoint_every: int = 50  # epochs
    sample_every: int = 50      # epochs between sample grids (and the last)
    sample_ids: int = 3         # training pairs shown in each grid
    threads: int = 0            # torch CPU threads; 0 = torch's default
    seeds: tuple[int, ...] = (0,)  # one training run per seed (a DVC matrix)
    precision: str = "auto"     # auto (bf16 on a CUDA device that has it, else fp32) | fp32 | bf16
    channels_last: str = "auto"  # auto (on CUDA only) | always | never

    def __post_init__(self) -> None:
        if self.load_scale < 1:
            raise ParamsError(f"train.load_scale {self.load_scale} is below 1 (1 = no crop)")
        _one_of("train.precision", self.precision, PRECISIONS)
        _one_of("train.channels_last", self.channels_last, CHANNELS_LAST)


@dataclass(frozen=True)
class RowParams:
    """A row is data: which method and, for CUT-based rows, what it uses."""

    model: str = "cut"
    sampling: str = "uniform"
    mask_input: bool = False
    pixel_losses: bool = False

    def __post_init__(self) -> None:
        if self.model not in METHODS:
            raise ParamsError(f"row model '{self.model}' is not one of {', '.join(METHODS)}")
        if self.sampling not in STRATEGIES:
            raise ParamsError(f"row sampling '{self.sampling}' is not one of "
                              f"{', '.join(STRATEGIES)}")

    @property
    def needs_maps(self) -> bool:
        return self.model == "cut" and self.sampling != "uniform"


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


def training_config(params: dict[str, Any], row_name: str, seed: int | None = None
                    ) -> TrainingConfig:
    """The row's config; ``seed`` (one of ``train.seeds``) overrides ``base.seed``."""
    rows = params.get("rows") or {}
    if row_name not in rows:
        raise ParamsError(f"row '{row_name}' is not in params rows ({', '.join(rows)})")
    base = params.get("base") or {}
    return TrainingConfig(
        row_name=row_name,
        row=build(RowParams, rows[row_name], f"rows.{row_name}"),
        model=build(ModelParams, params.get("model"), "model"),
        sampling=build(SamplingParams, params.get("sampling"), "sampling"),
        loss=build(LossParams, params.get("loss"), "loss"),
        train=build(TrainParams, params.get("train"), "train"),
        seed=int(base.get("seed", 0)) if seed is None else int(seed),
        device=str(base.get("device", "auto")),
    )
