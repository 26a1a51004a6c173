"""The whole params file, typed: every section checked before a stage does any work,
so a bad value anywhere stops the first stage with one line (the key, the value, what
is allowed), exit code 2, nothing written. Stages read their sections from here, never
from the raw mapping."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from fss.config import NonNegInt, ParamsError, build, load_params
from fss.data.align import AlignParams
from fss.data.download import DataParams
from fss.data.masks import MaskParams
from fss.evaluation import EvaluateParams
from fss.metrics.recognition import RecognitionParams
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
    data: DataParams
    align: AlignParams
    masks: MaskParams
    rcs: RCSParams
    model: ModelParams
    sampling: SamplingParams
    loss: LossParams
    train: TrainParams
    rows: dict[str, RowParams]
    evaluate: EvaluateParams
    recognize: RecognitionParams
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
        else:
            out[name] = build(cls, raw[name], name)
    out["loss"].perceptual_params()  # the nested section, checked now too
    check_geometry(out["align"], out["model"])
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
    with torch.device("meta"):  # shapes only: no weights, no time
        try:
            d = PatchDiscriminator(1, model.discriminator())
            patches = d(torch.empty(1, 1, align.size, align.size)).shape[-1]
        except (RuntimeError, ValueError):  # a layer got too little (instance norm: 1x1)
            patches = 0
    if patches < 1:
        raise ParamsError(f"model.n_layers_d = {model.n_layers_d} with align.size = "
                          f"{align.size}: the discriminator's layers leave too little of the "
                          "image (fewer layers or a larger align.size)")


def read_params(path: str | Path = "params.yaml") -> Params:
    """``path`` read and checked; a problem is one ParamsError line naming the file."""
    raw = load_params(path)
    try:
        return check_params(raw)
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None


def row_seeds(p: Params) -> dict[str, list[int]]:
    """Each row's training runs: the CUT-based (ablation) rows run per ``train.seeds``,
    the trained baselines per ``train.baseline_seeds`` (dvc.yaml's train and
    train_baseline matrices)."""
    return {name: list(p.train.seeds if row.model == "cut" else p.train.baseline_seeds)
            for name, row in p.rows.items()}
