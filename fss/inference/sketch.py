"""``fss sketch``: a trained generator on any face photo(s). The photo is aligned on
its eyes exactly as the training data was (MTCNN, the model file's targets and size),
masked the same way when the generator takes a mask, and sketched; optionally the
sketch is warped back into the photo's own frame. Every photo that fails is
reported (and listed in ``sketches.csv``) while the rest continue."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fss.data.align import AlignParams, align_pair, warp_image
from fss.data.masks import MaskParams
from fss.errors import UserError
from fss.inference.runtime import Runner
from fss.tensors import generator_input, sketch_uint8

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
PAPER_WHITE = 255.0
CSV_NAME = "sketches.csv"


class PhotoError(ValueError):
    """This photo cannot be sketched (the message says why); the others go on."""


class NoFaceError(PhotoError):
    pass


@dataclass
class Outcome:
    path: Path
    out: Path | None
    error: str | None = None


def list_photos(source: Path, exclude: Path | None = None) -> list[Path]:
    """A photo file, or every image file under a folder (sorted), leaving out anything
    under ``exclude`` (the output folder, when it sits inside the source)."""
    if source.is_file():
        return [source]
    if source.is_dir():
        skip = exclude.resolve() if exclude is not None else None
        files = sorted(p for p in source.rglob("*")
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and not (skip is not None and p.resolve().is_relative_to(skip)))
        if not files:
            raise FileNotFoundError(f"{source}: no image files ({', '.join(IMAGE_SUFFIXES)})")
        return files
    raise FileNotFoundError(f"{source}: no such file or folder")


def output_name(path: Path, source: Path) -> Path:
    """Where ``path``'s sketch goes, relative to the output folder: its sub-folder
    under ``source`` and its name with the extension kept (``a.jpg`` ->
    ``a_jpg.png``), so ``a.jpg`` and ``a.png`` never overwrite each other."""
    rel = path.relative_to(source) if source.is_dir() else Path(path.name)
    ext = rel.suffix.lstrip(".")
    return rel.with_name(f"{rel.stem}_{ext}.png" if ext else f"{rel.name}.png")


def read_photo(path: Path) -> np.ndarray:
    """Any image file -> HxWx3 uint8 RGB, upright (EXIF orientation applied), 16-bit
    and float images scaled rather than clipped, palette and alpha flattened onto
    white."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        im.load()
        if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
            a = np.asarray(im, dtype=np.float64)
            full = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
            if im.mode == "F" and a.max() <= 1.0:
                full = 1.0
            gray = np.clip(np.round(a / full * 255.0), 0, 255).astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=2)
        if im.mode == "P":
            im = im.convert("RGBA")
        if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
            rgba = im.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(canvas, rgba)
        return np.asarray(im.convert("RGB"))


def paste_back(sketch: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """The aligned sketch warped back into the photo's frame (paper-white outside)."""
    inv = np.linalg.inv(matrix)
    canvas = warp_image(sketch, inv, max(height, width), fill=PAPER_WHITE)
    return canvas[:height, :width]


def make_segmenter(masks: MaskParams) -> Callable[[np.ndarray], np.ndarray]:
    """The person mask exactly as the masks stage makes it, by the model's method."""
    from fss.data.masks import background_mask

    if masks.method == "background":
        return lambda rgb: background_mask(rgb, masks)
    from fss.data.masks import SelfieSegmenter, selfie_mask

    seg = SelfieSegmenter()
    return lambda rgb: selfie_mask(rgb, seg, masks)


class Sketcher:
    """Photo (RGB uint8, any size) -> (aligned sketch uint8, alignment matrix).
    ``align`` and ``masks`` come from the model file (see ``settings``); ``detect``
    and ``segment`` default to the pipeline's MTCNN eyes and the model's mask
    method; tests inject stand-ins."""

    def __init__(self, runner: Runner, align: AlignParams, masks: MaskParams | None,
                 device: str = "cpu", detect: Callable | None = None,
                 segment: Callable | None = None, min_face: int | None = None):
        self.run, self.align, self.masks = runner, align, masks
        self.mask_input = runner.info.mask_input
        self.min_face = align.min_face_px if min_face is None else min_face
        if detect is None:
            from fss.data.align import EyeDetector

            detect = EyeDetector.for_alignment(align, device, self.min_face)
        self.detect = detect
        if self.mask_input and segment is None:
            if masks is None:
                raise ValueError("the generator takes a mask but no mask settings were given")
            segment = make_segmenter(masks)
        self.segment = segment

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        if min(h, w) < self.min_face:
            raise PhotoError(f"photo is {w}x{h} px, smaller than the smallest face looked "
                             f"for ({self.min_face} px; see --min-face)")
        eyes, prob = self.detect(rgb)
        if eyes is None or prob < self.align.min_confidence:
            raise NoFaceError("no face found" if eyes is None
                              else f"face confidence {prob:.2f} below "
                                   f"align.min_confidence {self.align.min_confidence}")
        aligned = align_pair(rgb, None, np.asarray(eyes), self.align, refine=self.detect)
        mask = self.segment(aligned.photo) if self.mask_input else None
        y = self.run(generator_input(aligned.photo, mask, self.mask_input))
        return sketch_uint8(y[0, 0]), aligned.matrix


def settings(runner: Runner, params: dict | None) -> tuple[AlignParams, MaskParams | None,
                                                             list[str]]:
    """Alignment and mask settings: the model file's, with ``params`` (a params.yaml,
    optional) overriding the detector and mask details. The geometry the generator
    learned (size, eye targets) and its mask method stay the model's: the notes
    returned say where ``params`` disagreed."""
    import dataclasses

    from fss.config import build

    info, notes = runner.info, []
    align, masks = info.align, info.masks
    if params is None:
        return align, masks, notes
    fixed = {"size": info.image_size, "eye_left": align.eye_left, "eye_right": align.eye_right}
    given_align = params.get("align") or {}
    merged = build(AlignParams, {**dataclasses.asdict(align), **given_align}, "align")
    for k, v in fixed.items():
        if k in given_align and getattr(merged, k) != v:
            notes.append(f"align.{k} {getattr(merged, k)} from params differs from the "
                         f"model's {v}; using the model's")
    align = dataclasses.replace(merged, **fixed)
    given_masks = params.get("masks") or {}
    if masks is not None and given_masks:
        merged_m = build(MaskParams, {**dataclasses.asdict(masks), **given_masks}, "masks")
        if merged_m.method != masks.method:
            notes.append(f"masks.method {merged_m.method} from params differs from the "
                         f"model's {masks.method}; using the model's")
        masks = dataclasses.replace(merged_m, method=masks.method)
    return align, masks, notes


def shown(p: Path | str) -> str:
    """A path as text any terminal or UTF-8 file takes: bytes of a name that is not
    valid UTF-8 (kept by Python as surrogates) written escaped, ``\\xff``."""
    return os.fsencode(str(p)).decode("utf-8", "backslashreplace")


def _relative(p: Path | None, base: Path) -> str:
    if p is None:
        return ""
    try:
        return shown(p.relative_to(base))
    except ValueError:
        return shown(p)


class OutputError(UserError):
    """The output folder cannot take the sketches (the message says why)."""


def prepare_output(photos: list[Path], source: Path, out: Path,
                   overwrite: bool = False) -> list[Path]:
    """Check, before any work, that ``out`` can take every photo's sketch and
    ``sketches.csv``: a folder (made if missing) that accepts a file, holding none of
    the outputs already unless ``overwrite``. Returns the target of each photo."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{shown(out)}: exists and is not a folder (-o names the folder "
                          "for the sketches and sketches.csv)")
    targets = [out / output_name(p, source) for p in photos]
    existing = [t for t in [*targets, out / CSV_NAME] if t.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputError(f"{shown(existing[0])}: exists{more}; pass --overwrite to replace")
    # Made for the check and removed again: a command that fails later (a bad model
    # file) leaves no empty folder behind.
    made = _missing_folders(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, prefix=".fss-write-check-"):
            pass
    except OSError as e:
        raise OutputError(f"{shown(out)}: cannot write there ({e.strerror or e})") from None
    finally:
        _remove_empty(made)
    return targets


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors up to the first that exists (one stat per photo
    once the folder is there)."""
    missing = []
    for d in [folder, *folder.parents]:
        if d.exists():
            break
        missing.append(d)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove those of ``folders`` that are empty, deepest first."""
    for d in sorted(set(folders), key=lambda d: len(d.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()


def write_report(out: Path, results: list[Outcome]) -> Path:
    """``out/sketches.csv``: input, output, status (ok | failed), reason; one row per
    input, written whole or not at all; names that are not valid UTF-8 escaped."""
    from fss.io import write_text

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["input", "output", "status", "reason"])
    for r in results:
        w.writerow([shown(r.path), _relative(r.out, out), "failed" if r.error else "ok",
                    shown(r.error or "")])
    path = out / CSV_NAME
    write_text(path, buf.getvalue())
    return path


def _reason(e: BaseException) -> str:
    first = (str(e).strip().splitlines() or [""])[0]
    if isinstance(e, PhotoError):
        return first
    if isinstance(e, OSError) and e.strerror:
        return f"{e.__class__.__name__}: {e.strerror}"
    return f"{e.__class__.__name__}: {first}" if first else e.__class__.__name__


def sketch_photos(photos: Iterable[Path], source: Path, out: Path, sketcher: Sketcher,
                  paste: bool = False, progress: bool = True) -> list[Outcome]:
    """Sketch every photo into ``out`` (mirroring sub-folders of ``source``; names per
    ``output_name``); a photo that fails for any reason is reported and skipped, the
    rest continue. Each sketch is written to a temp name and renamed, the temp file
    removed whatever fails. A write the output refuses (full, read-only, quota) stops
    the run: the photos not reached are listed as such. ``out/sketches.csv`` is
    written last in every case, listing every input; then an ``OutputError`` names
    the write that failed. When sketches.csv cannot be written either (a disk full
    from the first byte), the folders this run made and left empty are removed."""
    from tqdm import tqdm

    from fss.io import WRITE_FAULTS, save_png_atomic

    photos = list(photos)
    results: list[Outcome] = []
    fault: tuple[Path, OSError] | None = None
    made = _missing_folders(out)
    out.mkdir(parents=True, exist_ok=True)
    for path in tqdm(photos, desc="sketch", unit="photo", disable=not progress or len(photos) < 2):
        if fault is not None:
            results.append(Outcome(path, None, f"not sketched: the output failed at "
                                               f"{shown(fault[0].name)} ({fault[1].strerror})"))
            continue
        target = out / output_name(path, source)
        try:
            rgb = read_photo(path)
            sketch, matrix = sketcher(rgb)
            if paste:
                sketch = paste_back(sketch, matrix, *rgb.shape[:2])
        except Exception as e:  # noqa: BLE001 - one bad photo must not stop a folder
            # (decode errors alone come as OSError, ValueError, SyntaxError, struct.error,
            # DecompressionBombError...)
            results.append(Outcome(path, None, _reason(e)))
            continue
        try:
            made += _missing_folders(target.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            save_png_atomic(target, sketch)
            results.append(Outcome(path, target))
        except OSError as e:
            results.append(Outcome(path, None, _reason(e)))
            # the output's fault, not the photo's: the next photo would fail the same
            # way, so the run stops there
            if e.errno in WRITE_FAULTS:
                fault = (target, e)
    done = sum(r.error is None for r in results)
    try:
        write_report(out, results)
    except OSError as e:
        _remove_empty(made)
        first = f"{shown(fault[0])}: {fault[1].strerror}; " if fault is not None else ""
        raise OutputError(f"{first}{shown(out / CSV_NAME)}: {e.strerror or e}; {done} of "
                          f"{len(results)} photos sketched, no sketches.csv written") from None
    if fault is not None:
        raise OutputError(f"{shown(fault[0])}: {fault[1].strerror}; {done} of {len(results)} "
                          f"photos sketched, every input listed in {shown(out / CSV_NAME)}")
    return results
