"""Foreground masks (person: face, hair, neck, shoulders) from the PHOTO alone, and
silhouettes from sketches to score them against.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import ndimage

from fss.config import Fraction, Level255, NonNegFloat, NonNegInt


METHODS = ("selfie", "background")


@dataclass(frozen=True)
class MaskParams:
    method: Literal[METHODS] = "selfie"  # selfie (MediaPipe) | background (border colour)
    threshold: Fraction = 0.5
    # Sketch silhouette: pixels darker than this (0-255) count as strokes.
    sketch_stroke_level: Level255 = 230
    sketch_close_radius: NonNegInt = 6
    wedge_level: Level255 = 40
    # Background method: colour distance (0-255 RGB) from the border colour.
    background_distance: NonNegFloat = 40.0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks; two empty masks score 1."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def _disk(r: int) -> np.ndarray:
    y, x = np.ogrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r


def largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask.astype(bool)
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    return labels == (1 + int(np.argmax(sizes)))


def fill_from_bottom(mask: np.ndarray) -> np.ndarray:
    """Fill holes, treating the bottom edge as closed: a person's shoulders run off
    the bottom of the frame, so their outline only encloses area together with it."""
    padded = np.pad(mask, ((0, 1), (0, 0)), constant_values=True)
    return ndimage.binary_fill_holes(padded)[:-1]


def sketch_silhouette(sketch: np.ndarray, p: MaskParams) -> np.ndarray:
    """Person silhouette of a pencil sketch (dark strokes on light paper), HxW bool."""
    g = sketch if sketch.ndim == 2 else sketch.mean(axis=2)
    g = ndimage.uniform_filter(g.astype(np.float64), size=3)
    strokes = g < p.sketch_stroke_level
    # Near-black regions touching the border are the database's rotation wedges, not
    # pencil: drop them (pencil never gets that dark over a whole region).
    labels, _ = ndimage.label(g < p.wedge_level)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    wedges = np.isin(labels, edge[edge > 0])
    strokes &= ~ndimage.binary_dilation(wedges, iterations=2)
    closed = ndimage.binary_closing(strokes, structure=_disk(p.sketch_close_radius),
                                    border_value=0)
    person = largest_component(closed)
    return ndimage.binary_opening(span_fill(person), structure=_disk(2))


def span_fill(mask: np.ndarray) -> np.ndarray:
    """Fill each row between its outermost pixels, and each column from its topmost
    pixel down. Pencil outlines of a face are often open (faint cheeks, a jaw line
    left out), so hole filling alone leaks; a head-and-shoulders silhouette is close
    to convex along rows and runs off the bottom of the frame."""
    h, w = mask.shape
    cols = np.arange(w)
    rows_any = mask.any(axis=1)
    left = np.where(rows_any, np.argmax(mask, axis=1), w)
    right = np.where(rows_any, w - 1 - np.argmax(mask[:, ::-1], axis=1), -1)
    row_fill = (cols[None, :] >= left[:, None]) & (cols[None, :] <= right[:, None])
    cols_any = mask.any(axis=0)
    top = np.where(cols_any, np.argmax(mask, axis=0), h)
    col_fill = np.arange(h)[:, None] >= top[None, :]
    return row_fill & col_fill


def background_mask(rgb: np.ndarray, p: MaskParams) -> np.ndarray:
    """Person = pixels far (in RGB) from the median border colour, holes filled.
    Needs no weights; works on CUFS's plain studio backgrounds."""
    img = rgb.astype(np.float64)
    border = np.concatenate([img[0], img[:, 0], img[:, -1]])
    bg = np.median(border, axis=0)
    dist = np.sqrt(((img - bg) ** 2).sum(axis=2))
    fg = ndimage.binary_opening(dist > p.background_distance, structure=_disk(2))
    return largest_component(fill_from_bottom(fg))


class SelfieSegmenter:
    """MediaPipe selfie segmentation (person incl. hair) through ai-edge-litert."""

    def __init__(self, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        from fss.weights import resolve

        self.interp = Interpreter(model_path=str(resolve("selfie_segmentation")),
                                  num_threads=num_threads)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]
        self.size = int(self.inp["shape"][1])

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Person probability, HxW float32 in [0, 1], at the input's size."""
        from PIL import Image

        h, w = rgb.shape[:2]
        x = np.asarray(Image.fromarray(rgb).resize((self.size, self.size), Image.BILINEAR),
                       dtype=np.float32)[None] / 255.0
        self.interp.set_tensor(self.inp["index"], x)
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])[0, :, :, 0]
        prob = Image.fromarray(y.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR)
        return np.clip(np.asarray(prob), 0.0, 1.0)


def selfie_mask(rgb: np.ndarray, segmenter: SelfieSegmenter, p: MaskParams) -> np.ndarray:
    fg = segmenter(rgb) > p.threshold
    return largest_component(fill_from_bottom(fg))


def mask_dataset(splits_csv: Path, out: Path, p: MaskParams) -> dict:
    """A PNG mask per photo (``out/<id>.png``, 255 = person) with ``p.method``, and
    ``metrics.json``: IoU of every candidate method against the sketch silhouettes of
    the TRAINING split (mean and worst 5), so the method is chosen by that number."""
    from tqdm import tqdm

    from fss.data.splits import read_splits
    from fss.io import atomic_dir, read_gray, read_rgb, save_png, write_json

    if p.method not in METHODS:
        raise ValueError(f"masks.method: '{p.method}' is not one of {', '.join(METHODS)}")
    df = read_splits(splits_csv)
    segmenter = SelfieSegmenter()
    scores: dict[str, list[tuple[float, str]]] = {m: [] for m in METHODS}
    with atomic_dir(out) as tmp:
        (tmp / "sketch_silhouettes").mkdir()
        for r in tqdm(df.itertuples(), total=len(df), desc="masks", unit="photo"):
            rgb = read_rgb(Path(r.photo))
            masks = {"selfie": selfie_mask(rgb, segmenter, p), "background": background_mask(rgb, p)}
            save_png(tmp / f"{r.id}.png", masks[p.method].astype(np.uint8) * 255)
            if r.split == "train":
                sil = sketch_silhouette(read_gray(Path(r.sketch)), p)
                save_png(tmp / "sketch_silhouettes" / f"{r.id}.png", sil.astype(np.uint8) * 255)
                for m in METHODS:
                    scores[m].append((iou(masks[m], sil), r.id))
        metrics = {"method": p.method, "split_scored": "train"}
        for m in METHODS:
            s = sorted(scores[m])
            metrics[m] = {
                "mean_iou": round(float(np.mean([x for x, _ in s])), 4) if s else None,
                "worst5": [{"id": i, "iou": round(x, 4)} for x, i in s[:5]],
            }
        metrics["mean_iou"] = metrics[p.method]["mean_iou"]
        write_json(tmp / "metrics.json", metrics)
    return metrics
