"""``fss sketch``: a trained generator on any face photo(s). The photo is aligned on
its eyes exactly as the training data was (MTCNN, same targets and size), masked the
same way when the generator takes a mask, and sketched; optionally the sketch is
warped back into the photo's own frame."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fss.data.align import AlignParams, align_pair, warp_image
from fss.data.masks import MaskParams

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
PAPER_WHITE = 255.0


class NoFaceError(ValueError):
    pass


@dataclass
class Outcome:
    path: Path
    out: Path | None
    error: str | None = None


def list_photos(source: Path) -> list[Path]:
    """A photo file, or every image file under a folder (sorted)."""
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"{source}: no image files ({', '.join(IMAGE_SUFFIXES)})")
        return files
    raise FileNotFoundError(f"{source}: no such file or folder")


def paste_back(sketch: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """The aligned sketch warped back into the photo's frame (paper-white outside)."""
    inv = np.linalg.inv(matrix)
    canvas = warp_image(sketch, inv, max(height, width), fill=PAPER_WHITE)
    return canvas[:height, :width]


class Sketcher:
    """Photo (RGB uint8, any size) -> (aligned sketch uint8, alignment matrix).
    ``detect`` and ``segment`` default to the pipeline's MTCNN eyes and selfie mask;
    tests inject stand-ins."""

    def __init__(self, generator_path: Path, align: AlignParams, masks: MaskParams,
                 device: torch.device, detect: Callable | None = None,
                 segment: Callable | None = None):
        from fss.training.checkpoint import load_generator

        self.g = load_generator(generator_path, device)
        self.align, self.masks, self.device = align, masks, device
        if detect is None:
            from fss.data.align import EyeDetector

            detect = EyeDetector(str(device), min_face_px=align.min_face_px)
        self.detect = detect
        self.segment = segment
        if self.g.mask_input and segment is None:
            from fss.data.masks import SelfieSegmenter, selfie_mask

            seg = SelfieSegmenter()
            self.segment = lambda rgb: selfie_mask(rgb, seg, masks)

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from fss.training.dataset import to_tensor, to_uint8

        eyes, prob = self.detect(rgb)
        if eyes is None or prob < self.align.min_confidence:
            raise NoFaceError("no face found" if eyes is None
                              else f"face confidence {prob:.2f} below "
                                   f"align.min_confidence {self.align.min_confidence}")
        aligned = align_pair(rgb, None, np.asarray(eyes), self.align)
        x = to_tensor(aligned.photo, signed=True)[None]
        if self.g.mask_input:
            m = np.asarray(self.segment(aligned.photo), dtype=bool)
            x = torch.cat([x, torch.from_numpy(m)[None, None].float()], dim=1)
        y = self.g(x.to(self.device))[0, 0]
        sketch = to_uint8(y)
        return sketch, aligned.matrix


def sketch_photos(photos: Iterable[Path], source: Path, out: Path, sketcher: Sketcher,
                  paste: bool = False, progress: bool = True) -> list[Outcome]:
    """Sketch every photo into ``out`` (mirroring sub-folders of ``source``), writing
    ``<name>.png``; a photo that fails is reported and skipped, the rest continue."""
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    from fss.io import save_png

    photos = list(photos)
    results = []
    for path in tqdm(photos, desc="sketch", unit="photo", disable=not progress or len(photos) < 2):
        rel = path.relative_to(source) if source.is_dir() else Path(path.name)
        target = (out / rel).with_suffix(".png")
        try:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            sketch, matrix = sketcher(rgb)
            if paste:
                sketch = paste_back(sketch, matrix, *rgb.shape[:2])
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.stem}.tmp.png")
            save_png(tmp, sketch)
            tmp.replace(target)
            results.append(Outcome(path, target))
        except (NoFaceError, UnidentifiedImageError, OSError) as e:
            results.append(Outcome(path, None, str(e).splitlines()[0] or e.__class__.__name__))
    return results
