"""The model file (``generator.pt``): the generator's tensors plus the plain facts
needed to use it (architecture, channels, image size, alignment targets, mask
settings, provenance), so inference needs nothing else. It is read with
``torch.load(weights_only=True)``: a file carrying anything but tensors and plain
values is refused instead of run."""

from __future__ import annotations

import dataclasses
import os
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

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

    in_channels: int
    out_channels: int
    generator: GeneratorParams
    mask_input: bool
    image_size: int
    align: AlignParams
    masks: MaskParams | None = None
    row: str = ""
    seed: int | None = None
    profile: str = ""
    git_commit: str = ""
    iterations: int | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (tuples become lists), as ``weights_only`` loading needs."""
        d = _plain(asdict(self))
        return {"format": FORMAT, "version": VERSION, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "model") -> ModelInfo:
        from fss.config import ParamsError, build

        try:
            if d.get("format") != FORMAT:
                raise ModelFileError(f"{where}: not an fss model file (no format '{FORMAT}')")
            if int(d.get("version", 0)) > VERSION:
                raise ModelFileError(f"{where}: model file version {d['version']} is newer "
                                     f"than this fss reads ({VERSION}); update fss")
            fields = {f.name for f in dataclasses.fields(cls)}
            kw = {k: v for k, v in d.items() if k in fields}
            kw["generator"] = build(GeneratorParams, d["generator"], "generator")
            kw["align"] = build(AlignParams, d["align"], "align")
            kw["masks"] = build(MaskParams, d["masks"], "masks") if d.get("masks") else None
            info = cls(**kw)
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, ParamsError) as e:
            raise ModelFileError(f"{where}: malformed model metadata "
                                 f"({e.__class__.__name__}: {e})") from e
        if info.mask_input and info.masks is None:
            raise ModelFileError(f"{where}: the generator takes a mask but the file has no "
                                 "mask settings")
        return info


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(_cpu(obj), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
    return g.eval()


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
