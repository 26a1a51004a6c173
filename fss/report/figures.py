"""Figures: which images each figure shows (the paper's Fig. 5 and Figs. 6-8, and the
RCS maps) on a fixed set of test faces, and the labelled grid they are drawn into.
Reads the images it shows; writing them is ``write_figures``'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fss import published as pub
from fss.data.splits import ordered_subsets
from fss.paths import PathsParams
from fss.report.cells import REFERENCES, ablation_rows
from fss.runs import run_name, seed_paths

FIGS_PER_SUBSET = 2
LABEL_H = 14  # header band of a figure, px


# ---------------------------------------------------------------- figures

def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def figure_grid(tiles: Sequence[Sequence[np.ndarray | None]], labels: Sequence[str],
                tile: int) -> np.ndarray:
    """An RGB uint8 grid, one line per test id and one column per label, with the labels
    in a band on top; a missing image (None) is a flat grey tile. Size:
    (LABEL_H + lines * tile) x (columns * tile)."""
    cols = len(labels)
    grid = Image.new("RGB", (cols * tile, LABEL_H + len(tiles) * tile), (255, 255, 255))
    for i, line in enumerate(tiles):
        if len(line) != cols:
            raise ValueError(f"figure line {i} has {len(line)} tiles for {cols} labels")
        for j, a in enumerate(line):
            im = Image.new("RGB", (tile, tile), (128, 128, 128)) if a is None else _tile(a, tile)
            grid.paste(im, (j * tile, LABEL_H + i * tile))
    draw, font = ImageDraw.Draw(grid), _font()
    for j, text in enumerate(labels):
        draw.text((j * tile + 2, 1), text, fill=(0, 0, 0), font=font)
    return np.asarray(grid)


def _tile(a: np.ndarray, tile: int) -> Image.Image:
    im = Image.fromarray(np.asarray(a, dtype=np.uint8)).convert("RGB")
    return im if im.size == (tile, tile) else im.resize((tile, tile), Image.BILINEAR)


def figure_ids(test_ids: Mapping[str, Sequence[str]], per_subset: int = FIGS_PER_SUBSET
               ) -> list[tuple[str, str]]:
    """(subset, id): the first ``per_subset`` test ids of each subset, in splits.csv order,
    so the same faces appear in every run's report."""
    return [(s, i) for s in ordered_subsets(test_ids)
            for i in list(test_ids.get(s, []))[:per_subset]]


@dataclass(frozen=True)
class FigureSpec:
    name: str
    caption: str
    columns: tuple[tuple[str, str], ...]  # (label, path template relative to the root)


def _template(folder: Path, name: str) -> str:
    """A column's path template under ``folder`` (its braces kept out of the format)."""
    return str(folder).replace("{", "{{").replace("}", "}}") + "/" + name


def result_dir(root: Path, results: Path, row: str) -> Path | None:
    """``<results>/<row>/seed<k>`` (relative to ``root``) of the row's lowest seed
    present (a figure shows one run, the same one whichever seeds were added later), or
    None."""
    seeds = seed_paths(Path(root) / results, row, suffix="")
    return results / run_name(row, next(iter(seeds))) if seeds else None


def _result(root: Path, results: Path, row: str) -> tuple[str, str] | None:
    d = result_dir(root, results, row)
    return (None if d is None
            else (pub.NAMES.get(row, row), _template(d, "{subset}/{id}.png")))


def figure_specs(root: Path, paths: PathsParams, trained: Sequence[str]) -> list[FigureSpec]:
    """The paper's Fig. 5 (ablation) and Figs. 6-8 (comparison), with the rows that have
    results; plus the RCS maps, which method.md asks the report to show. ``paths`` are
    relative to ``root``, and so are the specs' templates."""
    # the layouts the align, masks and pretrain_rcs stages write in their folders
    photo = ("photo", _template(paths.aligned, "photos/{id}.png"))
    real = ("real sketch", _template(paths.aligned, "sketches/{id}.png"))
    abl = tuple(c for r in ablation_rows(trained) if (c := _result(root, paths.results, r)))
    comp = tuple(c for r in pub.COMPARISON_METHODS
                 if r not in pub.PUBLISHED_ONLY and (c := _result(root, paths.results, r)))
    # references are not trained: <results>/<ref>/ directly
    refs = tuple((r.replace("_", " "),
                  _template(paths.results_dir(r), "{subset}/{id}.png"))
                 for r in REFERENCES if (root / paths.results_dir(r)).is_dir())
    seed = " Trained rows: their lowest seed's run."
    specs = [
        FigureSpec("ablation", "Ablation rows on fixed test faces (cf. the paper's Fig. 5)."
                   + seed, (photo, real, *abl)),
        FigureSpec("comparison", "Trained comparison methods and the trivial references on "
                   "fixed test faces (cf. the paper's Figs. 6-8)." + seed,
                   (photo, real, *comp, *refs)),
    ]
    if (root / paths.rcs_maps).is_dir():
        specs.append(FigureSpec("rcs_maps", "Photo mask and pre-trained RCS maps (face B, "
                                "hair A) on the same faces.",
                                (photo, ("mask", _template(paths.masks, "{id}.png")),
                                 ("face map", _template(paths.rcs_maps, "{id}_face.png")),
                                 ("hair map", _template(paths.rcs_maps, "{id}_hair.png")))))
    return specs


def load_tiles(root: Path, spec: FigureSpec, ids: Sequence[tuple[str, str]]
               ) -> list[list[np.ndarray | None]]:
    out = []
    for subset, pid in ids:
        line = []
        for _, tmpl in spec.columns:
            p = root / tmpl.format(subset=subset, id=pid)
            line.append(_read(p))
        out.append(line)
    return out


def _read(p: Path) -> np.ndarray | None:
    if not p.is_file():
        return None
    with Image.open(p) as im:
        return np.asarray(im.convert("RGB"))


def _tile_size(tiles: Sequence[Sequence[np.ndarray | None]], default: int) -> int:
    for line in tiles:
        for a in line:
            if a is not None:
                return int(a.shape[0])
    return default
