"""The whole params file, typed: every section checked before a stage does any work,
so a bad value anywhere stops the first stage with one line (the key, the value, what
is allowed), exit code 2, nothing written. Stages read their sections from here, never
from the raw mapping."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from fss.config import NonNegInt, ParamsError, build, load_params
from fss.data.align import AlignParams
from fss.data.download import DataParams
from fss.data.masks import MaskParams
from fss.evaluation.curves import CurveParams
from fss.evaluation.evaluate import EvaluateParams
from fss.evaluation.metric_gate import GateParams
from fss.metrics.recognition import RecognitionParams
from fss.paths import PathsParams
from fss.rcs.net import RCSParams
from fss.training.config import LossParams, ModelParams, RowParams, TrainParams
from fss.training.sampling import SamplingParams


@dataclass(frozen=True)
class MetaParams:
    profile: str = "paper"      # set by the profile file; reported beside every number


@dataclass(frozen=True)
class BaseParams:
    seed: NonNegInt = 0
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")] = "auto"


@dataclass(frozen=True)
class Params:
    """One field per section of params.yaml, in the file's order; ``raw`` is the file
    as read (MLflow logs it flattened)."""

    meta: MetaParams
    base: BaseParams
    paths: PathsParams
    data: DataParams
    align: AlignParams
    masks: MaskParams
    rcs: RCSParams
    model: ModelParams
    sampling: SamplingParams
    loss: LossParams
    train: TrainParams
    ablation: tuple[str, ...]
    baselines: tuple[str, ...]
    curves: CurveParams
    evaluate: EvaluateParams
    recognize: RecognitionParams
    gate: GateParams
    rows: dict[str, RowParams]
    raw: dict[str, Any] = field(repr=False, compare=False)


def section_types() -> dict[str, type]:
    """Section name -> its dataclass (``rows`` -> the dataclass of one row)."""
    hints = typing.get_type_hints(Params)
    out = {}
    for f in dataclasses.fields(Params):
        if f.name == "raw":
            continue
        t = hints[f.name]
        out[f.name] = typing.get_args(t)[1] if typing.get_origin(t) is dict else t
    return out


def check_params(raw: dict[str, Any]) -> Params:
    """Every section of ``raw`` typed and validated; the first problem raises one
    ParamsError line."""
    types = section_types()
    unknown = sorted(str(k) for k in raw if k not in types)
    if unknown:
        raise ParamsError(f"unknown params section(s) {', '.join(unknown)}; "
                          f"known: {', '.join(types)}")
    missing = [k for k in types if k not in raw]
    if missing:
        raise ParamsError(f"params section(s) {', '.join(missing)} missing (compose the file "
                          "from conf/ with `fss params`)")
    out: dict[str, Any] = {}
    for name, cls in types.items():
        if name == "rows":
            rows = raw[name]
            if not isinstance(rows, dict) or not rows:
                raise ParamsError(f"params section 'rows' = {rows!r:.60}: should be a "
                                  "non-empty mapping of row name -> row")
            out[name] = {str(r): build(cls, v, f"rows.{r}") for r, v in rows.items()}
        elif name in CHAINS:
            out[name] = _chain(raw[name], name)
        else:
            out[name] = build(cls, raw[name], name)
    out["loss"].perceptual_params()  # the nested section, checked now too
    check_geometry(out["align"], out["model"])
    _check_chains(out["rows"], out["ablation"], out["baselines"])
    if loose := [r for r in out["curves"].rows if r not in out["ablation"]]:
        raise ParamsError(f"curves.rows: {', '.join(loose)} not in ablation "
                          f"({', '.join(out['ablation'])}): the curve stage scores the runs "
                          "of train.seeds")
    return Params(**out, raw=raw)


def check_geometry(align: AlignParams, model: ModelParams) -> None:
    """Rules across sections that the networks impose on the image size: the
    generator halves it ``n_downsampling`` times and doubles it back (any other size
    comes back a few pixels off, and the L1 or NCE between input and output fails
    mid-training), and the PatchGAN discriminator must still see at least one patch."""
    import torch

    from fss.models.discriminator import PatchDiscriminator

    step = 2 ** model.generator().n_downsampling
    if align.size % step:
        raise ParamsError(f"align.size = {align.size}: should be a multiple of {step} (the "
                          f"generator halves the image {step.bit_length() - 1} times and "
                          f"doubles it back), e.g. {align.size // step * step or step}")
    # Shapes only, so a one-channel-wide net on the CPU (a few ms; the meta device's
    # first use imported torch._dynamo, 2.3 s in every process that reads params).
    # (fork_rng: reading params must not move torch's global random stream)
    with torch.random.fork_rng(devices=[]):
        d = PatchDiscriminator(1, replace(model.discriminator(), ndf=1))
        try:
            with torch.no_grad():
                patches = d(torch.zeros(1, 1, align.size, align.size)).shape[-1]
        except (RuntimeError, ValueError):  # a layer got too little (instance norm: 1x1)
            patches = 0
    if patches < 1:
        raise ParamsError(f"model.n_layers_d = {model.n_layers_d} with align.size = "
                          f"{align.size}: the discriminator's layers leave too little of the "
                          "image (fewer layers or a larger align.size)")


# The lists of trained rows dvc.yaml's matrices run: the ablation chain (train.seeds),
# the trained baselines (train.baseline_seeds).
CHAINS = ("ablation", "baselines")


def _chain(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
        raise ParamsError(f"params section '{name}' = {value!r:.60}: should be a list of row "
                          "names")
    if len(set(value)) != len(value):
        raise ParamsError(f"{name} {value}: should not repeat a row")
    return tuple(value)


def _check_chains(rows: dict[str, RowParams], ablation: tuple[str, ...],
                  baselines: tuple[str, ...]) -> None:
    """Every row is trained by exactly one list, and the lists name only rows."""
    if not ablation:
        raise ParamsError("ablation = []: should name at least one row")
    for name, chain in (("ablation", ablation), ("baselines", baselines)):
        if unknown := [r for r in chain if r not in rows]:
            raise ParamsError(f"{name}: {', '.join(unknown)} not in rows ({', '.join(rows)})")
    if both := sorted(set(ablation) & set(baselines)):
        raise ParamsError(f"{', '.join(both)}: in both ablation and baselines")
    if loose := [r for r in rows if r not in ablation and r not in baselines]:
        raise ParamsError(f"rows {', '.join(loose)}: in neither ablation nor baselines, so "
                          "dvc.yaml would never train them")


def read_params(path: str | Path = "params.yaml") -> Params:
    """``path`` read and checked; a problem is one ParamsError line naming the file."""
    raw = load_params(path)
    try:
        return check_params(raw)
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None


def row_seeds(p: Params) -> dict[str, list[int]]:
    """Each row's training runs: the ablation rows run per ``train.seeds``, the trained
    baselines per ``train.baseline_seeds`` (dvc.yaml's train and train_baseline
    matrices), in that order."""
    return ({r: list(p.train.seeds) for r in p.ablation}
            | {r: list(p.train.baseline_seeds) for r in p.baselines})
