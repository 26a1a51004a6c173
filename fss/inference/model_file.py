"""The model file (``generator.pt``): the generator's tensors plus the plain facts
needed to use it (architecture, channels, image size, alignment targets, mask
settings, provenance), so inference needs nothing else. It is read with
``torch.load(weights_only=True)``: a file carrying anything but tensors and plain
values is refused instead of run."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import torch
from pydantic import Field

from fss.data.align import AlignParams
from fss.data.masks import MaskParams
from fss.models.generator import GeneratorParams, ResnetGenerator

FORMAT = "fss-generator"
VERSION = 1
UPGRADE_HINT = "upgrade it once with: fss upgrade-model {path} --params params.yaml"


class ModelFileError(ValueError):
    """A file that is not a usable fss model file; the message names it."""


@dataclass(frozen=True)
class ModelInfo:
    """What a generator needs besides its weights. ``masks`` only when it takes a mask."""

    in_channels: Annotated[int, Field(ge=3, le=4)]   # photo, or photo + mask
    out_channels: Annotated[int, Field(ge=1)]
    generator: GeneratorParams
    mask_input: bool
    image_size: Annotated[int, Field(ge=16)]
    align: AlignParams
    masks: MaskParams | None = None
    row: str = ""
    seed: Annotated[int, Field(ge=0)] | None = None
    profile: str = ""
    git_commit: str = ""
    iterations: Annotated[int, Field(ge=0)] | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (tuples become lists), as ``weights_only`` loading needs."""
        d = _plain(asdict(self))
        return {"format": FORMAT, "version": VERSION, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "model") -> ModelInfo:
        """The metadata as read from a file, checked as strictly as params: every
        field typed and in range, no unknown or missing one, and the facts consistent
        with each other (a wrong one would fail only at the first photo)."""
        from fss.config import ParamsError, build

        if not isinstance(d, dict):
            raise ModelFileError(f"{where}: not an fss model file (metadata is not a mapping)")
        if d.get("format") != FORMAT:
            raise ModelFileError(f"{where}: not an fss model file (no format '{FORMAT}')")
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ModelFileError(f"{where}: metadata.version = {version!r}: should be a "
                                 "positive integer")
        if version > VERSION:
            raise ModelFileError(f"{where}: model file version {version} is newer than this "
                                 f"fss reads ({VERSION}); update fss")
        kw = {k: v for k, v in d.items() if k not in ("format", "version", "state_dict")}
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.name not in kw]
        if required:
            raise ModelFileError(f"{where}: model metadata lacks {', '.join(required)}")
        try:
            info = build(cls, kw, "metadata")
            build(GeneratorModelFields, dataclasses.asdict(info.generator), "metadata.generator")
        except ParamsError as e:
            raise ModelFileError(f"{where}: {str(e).replace('params section ', '')}") from None
        problem = _inconsistency(info)
        if problem:
            raise ModelFileError(f"{where}: model metadata: {problem}")
        return info


@dataclass(frozen=True)
class GeneratorModelFields:
    """The ranges of ``GeneratorParams`` a model file must respect (the dataclass
    itself carries none)."""

    ngf: Annotated[int, Field(ge=1)]
    n_blocks: Annotated[int, Field(ge=0)]
    norm: str
    n_downsampling: Annotated[int, Field(ge=0, le=6)]

    def __post_init__(self) -> None:
        from fss.models.layers import NORMS

        if self.norm not in NORMS:
            raise ValueError(f"norm {self.norm!r} should be one of {', '.join(NORMS)}")


def _inconsistency(info: ModelInfo) -> str | None:
    """The first way the metadata contradicts itself, or None."""
    step = 2 ** info.generator.n_downsampling
    if info.in_channels != (4 if info.mask_input else 3):
        return (f"in_channels {info.in_channels} with mask_input {info.mask_input} (3 for a "
                "photo, 4 for photo + mask)")
    if info.mask_input and info.masks is None:
        return "the generator takes a mask but the file has no mask settings"
    if info.image_size != info.align.size:
        return f"image_size {info.image_size} differs from align.size {info.align.size}"
    if info.image_size % step:
        return (f"image_size {info.image_size} is not a multiple of {step} (the generator's "
                f"{info.generator.n_downsampling} downsamplings)")
    return None


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _cpu(obj: Any) -> Any:
    # Contiguous too: a channels_last run's weights then load into any model as-is.
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().contiguous()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    """``torch.save`` of CPU copies to a temp name, then a rename: never half a file."""
    import shutil

    from fss.errors import UserError
    from fss.io import atomic_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    obj = _cpu(obj)
    with atomic_file(path) as tmp:
        try:
            torch.save(obj, tmp)
        except RuntimeError as e:  # how torch's writer reports a failed write (ENOSPC)
            free = shutil.disk_usage(path.parent).free
            why = " ".join(str(e).split())[:120]
            raise UserError(f"{path}: could not be written ({free // 2**20} MiB free on its "
                            f"filesystem; torch: {why})") from None


def safe_load(path: Path, map_location: str | torch.device = "cpu",
              what: str = "model file") -> Any:
    """``torch.load`` that only builds tensors and plain values; anything else (a
    pickled object, a truncated or foreign file) is a one-line ``ModelFileError``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        if "Unsupported global" not in text and "GLOBAL" not in text:
            raise ModelFileError(f"{path}: not a readable {what} (damaged or not a torch "
                                 "file)") from e
        found = [ln.split("GLOBAL", 1)[1].split()[0] for ln in text.splitlines()
                 if "GLOBAL" in ln]
        raise ModelFileError(f"{path}: refused: it holds objects other than tensors and plain "
                             f"values ({', '.join(found[:1]) or 'a pickled object'}), and "
                             "loading those could run code") from e
    except Exception as e:  # a truncated or foreign file: torch raises many kinds
        first = (str(e).strip().splitlines() or [""])[0][:160]
        raise ModelFileError(f"{path}: not a readable {what} ({e.__class__.__name__}: "
                             f"{first})") from e


def is_legacy(obj: Any) -> bool:
    """A generator written before model files carried their settings."""
    return (isinstance(obj, dict) and "format" not in obj
            and all(k in obj for k in ("state_dict", "in_channels", "out_channels", "generator")))


def save_model(path: Path, state_dict: dict[str, torch.Tensor], info: ModelInfo) -> None:
    save_atomic({**info.to_dict(), "state_dict": state_dict}, path)


def read_model(path: Path, map_location: str | torch.device = "cpu"
               ) -> tuple[dict[str, torch.Tensor], ModelInfo]:
    """(state dict, metadata) of a model file, checked."""
    obj = safe_load(path, map_location)
    if is_legacy(obj):
        raise ModelFileError(f"{path}: a generator saved before model files carried their "
                             f"settings (image size, eye targets, mask); "
                             + UPGRADE_HINT.format(path=path))
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict):
        raise ModelFileError(f"{path}: not an fss model file (no generator weights)")
    return strip_ddp(obj["state_dict"]), ModelInfo.from_dict(obj, str(path))


def strip_ddp(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}


def build_generator(state: dict[str, torch.Tensor], info: ModelInfo,
                    where: str = "model") -> ResnetGenerator:
    g = ResnetGenerator(info.in_channels, info.out_channels, info.generator)
    try:
        g.load_state_dict(state)
    except RuntimeError as e:
        raise ModelFileError(f"{where}: weights do not fit the architecture it states "
                             f"({str(e).splitlines()[0]})") from e
    g.mask_input = info.mask_input
    g.eval()
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelFileError(f"{where}: {len(bad)} weight tensor(s) hold NaN or inf (e.g. "
                             f"{bad[0]}; a diverged run?)")
    with torch.inference_mode():
        check_probe(g(probe_input(info)), where)
    return g


def probe_input(info: ModelInfo) -> torch.Tensor:
    """A small fixed input (noise in [-1, 1], full mask): one forward of it at load
    tells a generator that outputs NaN or inf (it would write black sketches) for
    about 0.01 s; the size is the smallest the decoder gives back whole."""
    size = 4 * 2 ** info.generator.n_downsampling
    x = torch.rand(1, info.in_channels, size, size,
                   generator=torch.Generator().manual_seed(0)) * 2 - 1
    if info.mask_input:
        x[:, -1] = 1.0
    return x


def check_probe(y: torch.Tensor, where: str) -> None:
    if not torch.isfinite(y).all():
        raise ModelFileError(f"{where}: the generator outputs NaN or inf (on a probe input "
                             "at load); refused rather than writing black sketches")


def load_model(path: Path, device: str | torch.device = "cpu"
               ) -> tuple[ResnetGenerator, ModelInfo]:
    """The generator (eval mode, on ``device``, ``mask_input`` set) and its metadata."""
    state, info = read_model(path, "cpu")
    return build_generator(state, info, str(path)).to(device), info


def upgrade_legacy(path: Path, align: AlignParams, masks: MaskParams, *, profile: str = "",
                   out: Path | None = None, source: str = "params.yaml") -> ModelInfo:
    """Rewrite a pre-metadata generator as a model file, taking the image size,
    alignment and mask settings from the params it was trained with."""
    obj = safe_load(path)
    if not is_legacy(obj):
        if isinstance(obj, dict) and obj.get("format") == FORMAT:
            raise ModelFileError(f"{path}: already a model file with its settings; "
                                 "nothing to upgrade")
        raise ModelFileError(f"{path}: not an fss generator file (no weights and channels)")
    mask_input = bool(obj.get("mask_input", False))
    info = ModelInfo(
        in_channels=int(obj["in_channels"]), out_channels=int(obj["out_channels"]),
        generator=GeneratorParams(**obj["generator"]), mask_input=mask_input,
        image_size=align.size, align=align, masks=masks if mask_input else None,
        row=str(obj.get("row", "")), profile=profile,
        note=f"upgraded from a pre-metadata file with the settings of {source}")
    build_generator(strip_ddp(obj["state_dict"]), info, str(path))  # the weights must fit
    save_model(out or path, strip_ddp(obj["state_dict"]), info)
    return info


def describe(info: ModelInfo) -> str:
    """One line per fact, for ``fss model-info``."""
    g, m = info.generator, info.masks
    mask = f"yes ({m.method}, threshold {m.threshold})" if info.mask_input and m else "no"
    lines = [f"row: {info.row or '?'}  seed: {info.seed if info.seed is not None else '?'}  "
             f"profile: {info.profile or '?'}",
             f"generator: ngf {g.ngf}, {g.n_blocks} blocks, {g.norm} norm, "
             f"{info.in_channels} -> {info.out_channels} channels",
             f"image size: {info.image_size}  eyes at {list(info.align.eye_left)} and "
             f"{list(info.align.eye_right)} of the frame",
             f"mask input: {mask}",
             f"trained: {info.iterations if info.iterations is not None else '?'} iterations "
             f"at commit {info.git_commit or '?'}"]
    if info.note:
        lines.append(f"note: {info.note}")
    return "\n".join(lines)
