"""The report stage: ``reports/report.md`` and the figures it embeds, from the metrics
the other stages wrote. Every number of ours comes from ``metrics/*.json``; every
"(paper)" number from ``fss.published``. Rendering functions are pure (dicts in,
markdown or arrays out); only ``load_inputs`` and ``write_report`` touch the disk."""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageFont

from fss import published as pub
from fss.io import atomic_dir, save_png
from fss.runs import SEED_DIR, run_name, seed_paths, summarize_seeds
from fss.tracking import git_commit
from fss.weights import REGISTRY, short_hash

# The evaluate stage's trivial references (fss.evaluation.REFERENCES; not imported so
# that the report does not pull in torch).
REFERENCES: tuple[str, ...] = ("photo", "mean_sketch")
# The fid_reference stage's real-sketch floor (metrics/fid_floor.json), shown beside them.
FLOOR = "floor"
REFERENCE_NAMES = {"photo": "photo (grayscale test photo)",
                   "mean_sketch": "mean training sketch",
                   FLOOR: "real sketches (floor)"}
# evaluate writes KID's spread over KID subsets as "kid_std", the name summarize_seeds
# gives a spread over seeds; load_inputs renames it so that both can live in one dict.
KID_SPREAD = "kid_spread"
STAR = "✱"  # an ablation step whose interval excludes 0
DEFAULT_ROWS: tuple[str, ...] = ("cut", "rcs", "dss", "mask", "fss", "pix2pix", "cyclegan")
NOT_RUN = "not run"
PUBLISHED_ONLY = "published only"
DASH = "—"
FIGS_PER_SUBSET = 2
LABEL_H = 14  # header band of a figure, px


@dataclass(frozen=True)
class Metric:
    title: str
    decimals: int
    lower_is_better: bool
    published: bool = True  # False: the paper has no such number (no paper / Δ columns)


METRICS: dict[str, Metric] = {
    "fid": Metric("FID ↓", 2, True),
    "kid": Metric("KID×1000 ↓", 2, True, published=False),
    "psnr": Metric("PSNR ↑", 2, False),
    "ssim": Metric("SSIM ↑", 4, False),
    "rank1": Metric("rank-1 % ↑", 2, False),
}


# ---------------------------------------------------------------- numbers and cells

def _num(v: Any) -> float | None:
    """A finite number, or None (missing key, null, NaN)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def fmt(value: Any, decimals: int) -> str:
    v = _num(value)
    return DASH if v is None else f"{v:.{decimals}f}"


def _pair(v: Any) -> tuple[float, float] | None:
    """``[lo, hi]`` of finite numbers, or None."""
    if isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2:
        lo, hi = _num(v[0]), _num(v[1])
        if lo is not None and hi is not None:
            return lo, hi
    return None


def cell(m: Mapping[str, Any] | None, key: str, decimals: int, scale: float = 1.0) -> str:
    """One number of ours, the same way in every table: ``mean ± std`` when the row ran
    several seeds (``<key>_std``), else ``value [lo, hi]`` with its bootstrap interval
    over test images (``<key>_ci``), else the plain value. ``scale``: 100 for rates."""
    m = m or {}
    v = _num(m.get(key))
    if v is None:
        return DASH

    def f(x: float) -> str:
        return f"{x * scale:.{decimals}f}"

    std = _num(m.get(f"{key}_std"))
    if std is not None:
        return f"{f(v)} ± {f(std)}"
    ci = _pair(m.get(f"{key}_ci"))
    return f"{f(v)} [{f(ci[0])}, {f(ci[1])}]" if ci else f(v)


def kid_cell(m: Mapping[str, Any] | None) -> str:
    """KID x 1000 ± its spread over KID subsets (always shown: a single KID says little
    without it); with several seeds, their std after it. A dict straight from a file
    (not through load_inputs) still calls the spread ``kid_std``."""
    m = m or {}
    d = METRICS["kid"].decimals
    v = _num(m.get("kid"))
    if v is None:
        return DASH
    renamed = KID_SPREAD in m
    spread = _num(m.get(KID_SPREAD if renamed else "kid_std"))
    seed_std = _num(m.get("kid_std")) if renamed else None
    out = f"{v:.{d}f}" + (f" ± {spread:.{d}f}" if spread is not None else "")
    return out + (f" (seeds ± {seed_std:.{d}f})" if seed_std is not None else "")


def metric_cell(m: Mapping[str, Any] | None, key: str) -> str:
    return kid_cell(m) if key == "kid" else cell(m, key, METRICS[key].decimals)


def delta(ours: Any, paper: Any, metric: Metric) -> str:
    """Signed ours - paper, with whether ours is better in that metric's direction."""
    o, p = _num(ours), _num(paper)
    if o is None or p is None:
        return DASH
    d = round(o - p, metric.decimals)
    if d == 0:
        return f"{0:.{metric.decimals}f} (equal)"
    better = (d < 0) == metric.lower_is_better
    return f"{d:+.{metric.decimals}f} ({'better' if better else 'worse'})"


def row_label(row: str) -> str:
    if row in REFERENCE_NAMES:
        return f"{REFERENCE_NAMES[row]} *(reference)*"
    name = pub.NAMES.get(row, row)
    return f"{name} *({PUBLISHED_ONLY})*" if row in pub.PUBLISHED_ONLY else name


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(cells) + " |" for cells in lines]


@dataclass(frozen=True)
class Line:
    """One table line: ours (a metric dict, or None with ``status`` saying why) beside
    the paper's (None where the paper has no such row)."""

    row: str
    ours: Mapping[str, Any] | None
    paper: Mapping[str, float] | None
    status: str = NOT_RUN


def _ours(ln: Line, key: str) -> str:
    if ln.ours is not None:
        return metric_cell(ln.ours, key)
    # the paper has no number of this kind for a method it alone ran
    return DASH if ln.status == PUBLISHED_ONLY and not METRICS[key].published else ln.status


def compare_table(lines: Sequence[Line], metrics: Sequence[str]) -> list[str]:
    """Three adjacent columns per metric: ours | paper | delta; one (ours) for a metric
    the paper does not report. Δ is taken on the mean."""
    header = ["row"]
    for k in metrics:
        t = METRICS[k].title
        header += [f"{t} ours", f"{t} (paper)", "Δ"] if METRICS[k].published else [f"{t} ours"]
    body = []
    for ln in lines:
        cells = [row_label(ln.row)]
        for k in metrics:
            m = METRICS[k]
            ours = _ours(ln, k)
            if not m.published:
                cells.append(ours)
                continue
            paper = fmt(ln.paper.get(k), m.decimals) if ln.paper else DASH
            d = delta(ln.ours.get(k), ln.paper.get(k), m) if ln.ours and ln.paper else DASH
            cells += [ours, paper, d]
        body.append(cells)
    return _table(header, body)


def subset_metrics(rows: Mapping[str, dict | None], row: str, subset: str) -> dict | None:
    m = rows.get(row)
    if m is None:
        return None
    return (m.get("all") if subset == "all" else (m.get("subsets") or {}).get(subset)) or None


def _status(rows: Mapping[str, dict | None], row: str) -> str:
    return NOT_RUN if rows.get(row) is None else "not evaluated"


def _n_images(rows: Mapping[str, dict | None], subset: str) -> int | None:
    for r in rows:
        m = subset_metrics(rows, r, subset)
        if m and _num(m.get("n")) is not None:
            return int(m["n"])
    return None


def _subset_title(rows: Mapping[str, dict | None], subset: str) -> str:
    n = _n_images(rows, subset)
    return pub.SUBSET_NAMES[subset] + (f" ({n} test images)" if n is not None else "")


# ---------------------------------------------------------------- the paper's tables

def ablation_rows(trained: Sequence[str]) -> list[str]:
    """The paper's ablation rows, then any row added in params that the paper lacks."""
    known = set(pub.ABLATION_ROWS) | set(pub.COMPARISON_METHODS)
    return list(pub.ABLATION_ROWS) + [r for r in trained if r not in known]


FLOOR_MISSING = "`metrics/fid_floor.json` not found: the fid_reference stage has not run."
ABLATION_MISSING = ("`metrics/ablation_tests.json` not found: the ablation_tests stage has "
                    "not run.")


def _seed_list(seeds: Sequence[Any]) -> str:
    return ", ".join(str(s) for s in seeds)


def seeds_note(dicts: Mapping[str, Mapping[str, Any] | None]) -> str:
    """'mean ± std over seeds 0, 1' for the rows that ran several seeds; '' if none did.
    Dicts without ``seeds`` (the references, which are not trained) do not count."""
    runs = {r: list(d["seeds"]) for r, d in dicts.items() if d and d.get("seeds")}
    multi = {r: s for r, s in runs.items() if len(s) > 1}
    if not multi:
        return ""
    if len(multi) == len(runs) and len({tuple(s) for s in multi.values()}) == 1:
        return f"Mean ± std over seeds {_seed_list(next(iter(multi.values())))}."
    return ("Mean ± std over seeds for " + "; ".join(
        f"{pub.NAMES.get(r, r)} (seeds {_seed_list(s)})" for r, s in multi.items())
        + "; the other rows ran once.")


def cells_legend(rows: Mapping[str, dict | None], floor: Mapping[str, Any] | None) -> str:
    """What a cell of ours holds, and what the floor line is."""
    parts = ["Ours: `value [lo, hi]` = one run's mean and its bootstrap interval over test "
             "images (see How to read).", seeds_note(rows)]
    parts.append("KID×1000 ± its spread over KID subsets, ours only (the paper reports no "
                 "KID).")
    parts.append("*Real sketches (floor)*: the real training sketches scored against the "
                 "real test sketches, what a perfect generator would get at these sample "
                 "sizes." if floor is not None else FLOOR_MISSING)
    return " ".join(p for p in parts if p)


def _reference_lines(rows: Mapping[str, dict | None], floor: Mapping[str, Any] | None,
                     subset: str) -> list[Line]:
    lines = [Line(FLOOR, subset_metrics({FLOOR: floor}, FLOOR, subset), None, NOT_RUN)]
    return lines + [Line(r, subset_metrics(rows, r, subset), None, _status(rows, r))
                    for r in REFERENCES]


def table3(rows: Mapping[str, dict | None], trained: Sequence[str] = DEFAULT_ROWS,
           floor: Mapping[str, Any] | None = None) -> str:
    """Table 3 (ablation): one table per subset, FID / KID / PSNR / SSIM, ours beside the
    paper; the real-sketch floor and the trivial references below."""
    out = ["## Table 3: ablation (ours vs paper)", "", cells_legend(rows, floor), ""]
    for s in pub.SUBSETS:
        lines = [Line(r, subset_metrics(rows, r, s), pub.TABLE3.get(r, {}).get(s),
                      _status(rows, r)) for r in ablation_rows(trained)]
        lines += _reference_lines(rows, floor, s)
        out += [f"### {_subset_title(rows, s)}", ""]
        out += compare_table(lines, ("fid", "kid", "psnr", "ssim")) + [""]
    return "\n".join(out)


def tables4_6(rows: Mapping[str, dict | None], floor: Mapping[str, Any] | None = None) -> str:
    """Tables 4-6 (comparison), one per subset, FID / SSIM / PSNR as the paper prints them
    (KID beside FID, ours only)."""
    out = ["## Tables 4-6: comparison with other methods (ours vs paper)", "",
           f"Methods marked *({PUBLISHED_ONLY})* were not re-run here (no code): their "
           "numbers are the paper's. The paper gives FSS's AR SSIM as 0.6342 in Table 3 "
           "and 0.6340 in Table 5; each table here uses its own value. "
           + cells_legend(rows, floor), ""]
    for i, s in enumerate(pub.SUBSETS):
        lines = []
        for r in pub.COMPARISON_METHODS:
            if r in pub.PUBLISHED_ONLY:
                lines.append(Line(r, None, pub.TABLES4_6[r][s], PUBLISHED_ONLY))
            else:
                lines.append(Line(r, subset_metrics(rows, r, s), pub.TABLES4_6[r][s],
                                  _status(rows, r)))
        lines += _reference_lines(rows, floor, s)
        out += [f"### Table {4 + i}: {_subset_title(rows, s)}", ""]
        out += compare_table(lines, ("fid", "kid", "ssim", "psnr")) + [""]
    return "\n".join(out)


def _pct(v: Any) -> float | None:
    x = _num(v)
    return None if x is None else 100.0 * x


def table7(recognition: Mapping[str, Any] | None, trained: Sequence[str] = DEFAULT_ROWS) -> str:
    """Table 7 (rank-1 recognition, %): ours over all test images beside the paper's,
    then ours per subset (the paper gives only the overall rate). ``probes``: one per row
    (its seeds summarised, see ``summarize_probes``) plus ``test_photos``."""
    m = METRICS["rank1"]
    probes: Mapping[str, Any] = (recognition or {}).get("probes") or {}
    # Paper's methods first, then our other probed rows, each once.
    order = list(dict.fromkeys([*pub.RECOGNITION_METHODS, *trained, *probes]))
    header = ["probe", "rank-1 % ours", "rank-1 % (paper)", "Δ",
              *(f"{pub.SUBSET_NAMES[s]} % ours" for s in pub.SUBSETS)]
    body = []
    for r in order:
        paper = pub.TABLE7.get(r)
        if r in pub.PUBLISHED_ONLY:
            body.append([row_label(r), PUBLISHED_ONLY, fmt(paper, 2), DASH]
                        + [PUBLISHED_ONLY] * len(pub.SUBSETS))
            continue
        p = probes.get(r)
        if p is None:
            body.append([row_label(r), NOT_RUN, fmt(paper, 2), DASH]
                        + [NOT_RUN] * len(pub.SUBSETS))
            continue
        ours = _pct(p.get("all"))
        body.append([row_label(r), cell(p, "all", m.decimals, 100.0), fmt(paper, 2),
                     delta(ours, paper, m)]
                    + [cell(p, s, m.decimals, 100.0) for s in pub.SUBSETS])
    out = ["## Table 7: rank-1 face recognition (%, ours vs paper)", ""]
    if recognition is None:
        out += ["`metrics/recognition.json` not found: the recognize stage has not run.", ""]
    else:
        g = recognition.get("gallery", "?")
        n = recognition.get("n_gallery", "?")
        out += [f"Gallery: {g} ({n}); probes: each row's synthesized test sketches, and the "
                "test photos as the paper's 'Test set' column; rank-1 by cosine similarity "
                "of FaceNet embeddings. Subset columns: probes of that subset against the "
                "whole gallery. "
                "Ours: `rate [lo, hi]` with its bootstrap interval over test images. "
                + seeds_note({r: v for r, v in probes.items() if isinstance(v, Mapping)}),
                ""]
    out += _table(header, body)
    fb = (recognition or {}).get("crop_fallbacks")
    if isinstance(fb, Mapping) and fb:
        out += ["", "Face-crop fallbacks (MTCNN found no face; the median box of the same "
                "set used): "
                + ", ".join(f"{k} {v}" for k, v in fb.items()) + "."]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- beyond the paper

def _row_order(rows: Mapping[str, Any], trained: Sequence[str]) -> list[str]:
    order = [*trained, *REFERENCES]
    return order + [r for r in rows if r not in order]


ALL_KEYS = ("fid", "kid", "psnr", "ssim")


def all_images_table(rows: Mapping[str, dict | None], trained: Sequence[str],
                     floor: Mapping[str, Any] | None = None) -> str:
    """FID / KID / PSNR / SSIM over every test image at once (the paper reports subsets
    only), with the real-sketch floor."""
    header = ["row", "n", *(METRICS[k].title for k in ALL_KEYS)]
    body = []
    with_floor = {**rows, FLOOR: floor}
    for r in [*_row_order(rows, trained), FLOOR]:
        a = subset_metrics(with_floor, r, "all")
        if a is None:
            body.append([row_label(r), *([_status(with_floor, r)] * (1 + len(ALL_KEYS)))])
        else:
            body.append([row_label(r), fmt(a.get("n"), 0),
                         *(metric_cell(a, k) for k in ALL_KEYS)])
    return "\n".join(["### All test images together", "", *_table(header, body)]) + "\n"


REGION_KEYS = (("ssim_face", 4), ("psnr_face", 2), ("ssim_hair", 4), ("psnr_hair", 2))


def region_table(rows: Mapping[str, dict | None], trained: Sequence[str]) -> str:
    """SSIM / PSNR restricted to the RCS face and hair regions, per subset and overall."""
    header = ["row", "subset", "SSIM face", "PSNR face", "SSIM hair", "PSNR hair"]
    body = []
    for r in _row_order(rows, trained):
        if rows.get(r) is None:
            body.append([row_label(r), DASH, *([NOT_RUN] * 4)])
            continue
        for s in (*pub.SUBSETS, "all"):
            m = subset_metrics(rows, r, s) or {}
            body.append([row_label(r), pub.SUBSET_NAMES[s],
                         *(cell(m, k, d) for k, d in REGION_KEYS)])
    return "\n".join([
        "### SSIM / PSNR within the face and hair regions", "",
        "Regions: the RCS face map > 0.5, and the hair map > 0.5 outside the face "
        "(the sampler's regions), on the aligned test images.", "", *_table(header, body),
    ]) + "\n"


# Optional columns of the training table: (key, header), shown when any row has the key
# (older train files, or a run that did not record it, lack them).
TRAIN_OPTIONAL = (("world_size", "processes"), ("precision", "precision"))


def _text(v: Any) -> str:
    """A string or count as a cell; a mean over seeds of a whole number prints whole."""
    x = _num(v)
    if x is not None:
        return str(int(x)) if x == int(x) else f"{x:g}"
    return DASH if v is None else str(v)


def training_table(train: Mapping[str, dict | None], trained: Sequence[str]) -> str:
    """One line per row: its seeds' mean (± std when several) of each number."""
    extra = [(k, h) for k, h in TRAIN_OPTIONAL if any(t and k in t for t in train.values())]
    header = ["row", "epochs", "iters/epoch", "device", *(h for _, h in extra), "s/iter",
              "L1 first → last epoch", "last/first", "seconds (this run)"]
    body = []
    for r in [*trained, *(r for r in train if r not in trained)]:
        t = train.get(r)
        if t is None:
            body.append([row_label(r), *([NOT_RUN] * (len(header) - 1))])
            continue
        body.append([row_label(r), _text(t.get("epochs")), _text(t.get("iters_per_epoch")),
                     _text(t.get("device")), *(_text(t.get(k)) for k, _ in extra),
                     cell(t, "seconds_per_iter", 3),
                     f"{cell(t, 'l1_first_epoch', 4)} → {cell(t, 'l1_last_epoch', 4)}",
                     cell(t, "l1_ratio", 3), cell(t, "seconds_this_run", 0)])
    note = seeds_note(train)
    return "\n".join([
        "### Training", "",
        "From `metrics/train/<row>/seed<k>.json`. L1 is the mean held-in L1 to the real "
        "sketch per epoch (lower is better), a sanity check that each row learned."
        + (f" {note}" if note else ""), "",
        *_table(header, body),
    ]) + "\n"


def rcs_section(rcs: Mapping[str, Any] | None) -> str:
    out = ["### RCS face/hair maps", ""]
    if rcs is None:
        missing = "`metrics/pretrain_rcs.json` not found: pretrain_rcs has not run."
        return "\n".join([*out, missing]) + "\n"
    size = rcs.get("size")
    size_s = "x".join(str(x) for x in size) if isinstance(size, list) else str(size or DASH)
    out += [f"IoU of the pre-trained RCS maps (> 0.5) with the weak labels on the test "
            f"photos: face {fmt(rcs.get('test_face_iou'), 4)}, hair "
            f"{fmt(rcs.get('test_hair_iou'), 4)}"
            + (f" (train: face {fmt(rcs.get('train_face_iou'), 4)}, hair "
               f"{fmt(rcs.get('train_hair_iou'), 4)})" if "train_face_iou" in rcs else "")
            + f"; {fmt(rcs.get('epochs'), 0)} epochs at {size_s}."]
    by = (rcs.get("by_subset") or {}).get("test")
    if isinstance(by, Mapping) and by:
        out += ["", *_table(["subset", "n", "face IoU", "hair IoU"], [
            [pub.SUBSET_NAMES.get(s, s), fmt(v.get("n"), 0), fmt(v.get("face_iou"), 4),
             fmt(v.get("hair_iou"), 4)] for s, v in by.items()])]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- setup, provenance

def _get(params: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    cur: Any = params
    for k in dotted.split("."):
        if not isinstance(cur, Mapping) or k not in cur:
            return default
        cur = cur[k]
    return cur


def setup_summary(params: Mapping[str, Any]) -> str:
    """'128x128, 12 epochs, ngf 16, 6 residual blocks, perceptual vgg16'."""
    size = _get(params, "align.size")
    return (f"{size}x{size}, {_get(params, 'train.epochs', '?')} epochs, "
            f"ngf {_get(params, 'model.ngf', '?')}, {_get(params, 'model.n_blocks', '?')} "
            f"residual blocks, perceptual {_get(params, 'loss.perceptual.backbone', '?')}")


PAPER_SETUP = (f"{pub.PAPER_IMAGE_SIZE}x{pub.PAPER_IMAGE_SIZE}, {pub.PAPER_EPOCHS} epochs, "
               "ngf 64, 9 residual blocks, perceptual vgg19")


def weights_used(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(registry name, what it is used for) for every pretrained file behind a number."""
    backbone = _get(params, "loss.perceptual.backbone", "vgg19")
    return [
        ("mtcnn_pnet", "eye detection (align)"), ("mtcnn_rnet", "eye detection (align)"),
        ("mtcnn_onet", "eye detection (align)"),
        ("selfie_segmentation", "photo masks"), ("face_landmark", "RCS weak labels"),
        ("vgg16_features" if backbone == "vgg16" else "vgg19", "perceptual loss (fss row)"),
        ("inception_fid", "FID"), ("facenet_casia", "recognition (Table 7)"),
    ]


def weights_hash(name: str) -> str:
    """The registry's sha256 prefix (what every use was verified against), or 'missing'."""
    return short_hash(name) if name in REGISTRY else "missing"


@dataclass
class Inputs:
    """Everything the report reads; a file that was not there is None (or empty)."""

    params: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, dict | None] = field(default_factory=dict)
    train: dict[str, dict | None] = field(default_factory=dict)
    recognition: dict | None = None  # probes per row (seeds summarised) + test_photos
    floor: dict | None = None  # metrics/fid_floor.json
    ablation: dict | None = None  # metrics/ablation_tests.json
    rcs: dict | None = None
    alignment: dict | None = None
    source: dict[str, str] = field(default_factory=dict)
    manifest: tuple[int, int] | None = None  # (entries, files)
    test_ids: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # metrics files read, for provenance

    @property
    def trained(self) -> list[str]:
        return trained_rows(self.params)


def trained_rows(params: Mapping[str, Any]) -> list[str]:
    """params' rows in the paper's order, then rows the paper lacks in params' order."""
    rows = list(params.get("rows") or DEFAULT_ROWS)
    return [r for r in DEFAULT_ROWS if r in rows] + [r for r in rows if r not in DEFAULT_ROWS]


def _values(rows: Mapping[str, dict | None], key: str) -> list[Any]:
    # _text: a mean over seeds (128.0) must still match params' 128
    return sorted({_text(m.get(key)) for m in rows.values() if m and m.get(key) is not None})


def run_profile(inp: Inputs) -> tuple[str, list[str]]:
    """The profile that produced the metrics, and warnings where files disagree."""
    declared = str(_get(inp.params, "meta.profile", "unknown"))
    warnings = []
    profiles = _values(inp.rows, "profile")
    if len(profiles) > 1 or (profiles and profiles[0] != declared):
        warnings.append(f"the metrics files come from profile(s) {', '.join(profiles)} "
                        f"but params.yaml says {declared}: numbers from different setups "
                        "are mixed below")
    sizes = _values(inp.rows, "image_size")
    size = _text(_get(inp.params, "align.size"))
    if len(sizes) > 1 or (sizes and sizes[0] != size):
        warnings.append(f"the metrics files were computed at image size(s) {', '.join(sizes)} "
                        f"but params.yaml says {size}")
    epochs = {_text(t.get("epochs")) for t in inp.train.values() if t}
    want = _text(_get(inp.params, "train.epochs"))
    if epochs and epochs != {want}:
        warnings.append(f"rows were trained for {', '.join(sorted(epochs))} epochs but "
                        f"params.yaml says {want}")
    return (profiles[0] if len(profiles) == 1 else declared), warnings


def provenance(inp: Inputs, commit: str, date: str) -> str:
    p = inp.params
    profile, _ = run_profile(inp)
    lines = [
        ("profile", f"{profile} ({setup_summary(p)})"),
        ("image size", f"{_get(p, 'align.size', '?')} px square"),
        ("epochs", f"{_get(p, 'train.epochs', '?')} (lr decay over the last "
                   f"{_get(p, 'train.epochs_decay', '?')}), "
                   f"{_get(p, 'train.iters_per_epoch', '?')} iterations per epoch (0 = every "
                   "training pair)"),
        ("data source (params)", str(_get(p, "data.source", "?"))),
    ]
    if inp.source:
        lines.append(("data source (download stage)",
                      ", ".join(f"{k} {v}" for k, v in inp.source.items())))
    if inp.manifest is not None:
        lines.append(("verified files", f"{inp.manifest[1]} files in {inp.manifest[0]} "
                                        "manifest entries (`data/raw/manifest.csv`)"))
    else:
        lines.append(("verified files", "`data/raw/manifest.csv` missing"))
    if inp.alignment is not None:
        lines.append(("alignment", ", ".join(f"{k} {v}" for k, v in inp.alignment.items()
                                             if not isinstance(v, dict | list))))
    lines += [("seeds", seeds_provenance(inp)), ("intervals", intervals_provenance(inp))]
    lines += [(f"weights: {name}", f"sha256 {weights_hash(name)} ({why})")
              for name, why in weights_used(p)]
    lines += [("metrics files", ", ".join(f"`{f}`" for f in inp.files) or "none"),
              ("git commit", commit), ("report date", date)]
    return "\n".join(["## Provenance", "", *_table(["item", "value"], lines)]) + "\n"


def seeds_provenance(inp: Inputs) -> str:
    """params' seeds, and the seeds each trained row's evaluation was found for."""
    found = [f"{pub.NAMES.get(r, r)} {_seed_list(d.get('seeds') or [])}"
             for r in inp.trained if (d := inp.rows.get(r))]
    return (f"train.seeds {_seed_list(_seeds_param(inp.params))}; evaluated runs: "
            + ("; ".join(found) or "none"))


def _seeds_param(params: Mapping[str, Any]) -> list[Any]:
    seeds = _get(params, "train.seeds", [0])
    return list(seeds) if isinstance(seeds, list | tuple) else [seeds]


def bootstrap_settings(inp: Inputs) -> tuple[int | None, float | None]:
    """(resamples, level) of the intervals: as the ablation_tests stage recorded them,
    else as params set them; None where neither says."""
    a = inp.ablation or {}
    res = _num(a.get("resamples"))
    res = res if res is not None else _num(_get(inp.params, "evaluate.bootstrap_resamples"))
    lvl = _num(a.get("level"))
    lvl = lvl if lvl is not None else _num(_get(inp.params, "evaluate.bootstrap_level"))
    return (None if res is None else int(res)), lvl


def _level(level: float | None) -> str:
    return "" if level is None else f"{100 * level:g} % "


def intervals_provenance(inp: Inputs) -> str:
    res, lvl = bootstrap_settings(inp)
    out = (f"`[lo, hi]`: {_level(lvl)}percentile bootstrap over test images"
           + (f", {res} resamples" if res is not None else "")
           + " (SSIM, PSNR, rank-1 of one run); ablation steps: paired bootstrap "
           "(`metrics/ablation_tests.json`); `±`: std over seeds (KID: over KID subsets)")
    return out


# ---------------------------------------------------------------- deviations

# (dotted params key, the paper's value (or method.md's reading), what it is)
PAPER_SETTINGS: tuple[tuple[str, Any, str], ...] = (
    ("align.size", pub.PAPER_IMAGE_SIZE, "image size"),
    ("train.epochs", pub.PAPER_EPOCHS, "epochs"),
    ("train.epochs_decay", 200, "epochs of linear lr decay"),
    ("train.iters_per_epoch", 0, "iterations per epoch (0 = every training pair)"),
    ("train.lr", 0.0002, "learning rate"),
    ("train.beta1", 0.5, "Adam beta1"),
    ("train.beta2", 0.999, "Adam beta2"),
    ("model.ngf", 64, "generator width ngf"),
    ("model.n_blocks", 9, "generator residual blocks"),
    ("model.ndf", 64, "discriminator width ndf"),
    ("model.mlp_dim", 256, "PatchNCE MLP head width"),
    ("model.nce_t", 0.07, "PatchNCE temperature"),
    ("sampling.num_patches", 256, "uniform (CUT) samples per layer"),
    ("sampling.n_face", 256, "face samples per layer"),
    ("sampling.n_hair", 128, "hair samples per layer"),
    ("loss.alpha", 100.0, "pixel (L1) loss weight"),
    ("loss.beta", 1.0, "PatchNCE weight"),
    ("loss.gamma", 1.0, "perceptual loss weight"),
    ("loss.perceptual.backbone", "vgg19", "perceptual backbone"),
    ("data.limit_per_split", 0, "images per subset/split (0 = all)"),
)

# Always true of this implementation (docs/method-notes.md); keep in step with that file.
METHOD_DEVIATIONS: tuple[str, ...] = (
    "RCS pre-training: the paper gives no objective; here weak labels from the photo "
    "(face = landmark hull grown to the forehead, hair = person mask minus face, above the "
    "jaw) with BCE + Dice on both heads.",
    "Photo masks: MediaPipe selfie segmentation (person incl. hair) at 0.5, largest "
    "component, holes filled; the paper does not say how its mask is made.",
    "Alignment: eyes at (0.40, 0.50) and (0.60, 0.50) of the frame by a 9-copy median of "
    "MTCNN detections, replicated border; photos without a face fall back to CUFS's native "
    "eye positions. The paper only says the images are aligned and resized.",
    "Sketches are 1-channel (generator output and discriminator input); a synthesized "
    "sketch is replicated to 3 channels (plus the mask in mask rows) to be encoded for "
    "PatchNCE.",
    "No PatchNCE identity term (CUT's default nce_idt): it is not among Eq. 14's terms.",
    "DSS: a doubled location's twin is excluded from its negatives (our reading of Fig. 4); "
    "sampling falls back to uniform at a layer with fewer than two region locations.",
    "DSS density of a location = its own region's map value (face map for face samples, "
    "hair map for hair samples), area-resized to the layer.",
    "Augmentation: horizontal flip only (CUT's and pix2pix's default); no random crop.",
    "pix2pix: the same ResNet generator as the CUT rows (not a U-Net), no dropout, "
    "PatchGAN on photo+sketch, GAN + 100 L1, LSGAN.",
    "CycleGAN: no image history buffer (the original keeps a pool of 50 fakes); unpaired "
    "sampling pairs each photo with a random training sketch; LSGAN.",
    "pix2pix and CycleGAN are trained with this project's schedule (epochs, lr decay) of "
    "the profile, not their papers' defaults.",
    "Recognition: FaceNet with CASIA-WebFace weights (the paper does not say which); "
    "gallery = real test sketches, rank-1 by cosine similarity.",
    "MDAL, FaceSketchWild, FSGAN, T2V and Dif-Fusion are not re-run: their numbers are "
    "the paper's published values.",
    "Metrics are computed at the profile's image size (FID's Inception resizes to 299 "
    "internally); the paper's at 256x256.",
)


def deviations(params: Mapping[str, Any], data_kind: str | None = None) -> list[str]:
    """Every way this run differs from the paper: the profile's settings first, then the
    implementation's fixed choices."""
    out = []
    if data_kind and data_kind != "real":
        out.append(f"Data: {data_kind} images, not the real CUFS database: the numbers say "
                   "nothing about the method's quality.")
    for key, paper, what in PAPER_SETTINGS:
        ours = _get(params, key)
        if ours is None or ours == paper:
            continue
        out.append(f"{what}: {ours} (paper: {paper})" + _why(key, ours))
    return out + list(METHOD_DEVIATIONS)


def _why(key: str, ours: Any) -> str:
    if key == "loss.perceptual.backbone" and ours == "vgg16":
        return " — the same five stages relu1_1..relu5_1; VGG19 weights cannot be had offline"
    if key == "train.iters_per_epoch":
        return " — short epochs so the training curves have points"
    return ""


# ---------------------------------------------------------------- how far from the paper

def _train_iters(inp: Inputs, row: str) -> int | None:
    t = inp.train.get(row) or {}
    ep, it = _num(t.get("epochs")), _num(t.get("iters_per_epoch"))
    if ep is not None and it is not None:
        return int(ep * it)
    ep, it = _num(_get(inp.params, "train.epochs")), _num(_get(inp.params, "train.iters_per_epoch"))
    if ep is None or it is None:
        return None
    return int(ep * (it or pub.PAPER_TRAIN_PAIRS))


def mean_gap(rows: Mapping[str, dict | None], row: str, metric: str) -> float | None:
    """Mean over the subsets of ours - paper (Table 3) for one row and metric."""
    gaps = [o - p for s in pub.SUBSETS
            if (o := _num((subset_metrics(rows, row, s) or {}).get(metric))) is not None
            and (p := _num(pub.TABLE3.get(row, {}).get(s, {}).get(metric))) is not None]
    return sum(gaps) / len(gaps) if gaps else None


def how_far(inp: Inputs) -> str:
    """A short honest paragraph: this run's setup against the paper's, and the gap."""
    profile, warnings = run_profile(inp)
    size = _num(_get(inp.params, "align.size"))
    parts = [f"This run used profile **{profile}** ({setup_summary(inp.params)}); the paper: "
             f"{PAPER_SETUP}."]
    iters = _train_iters(inp, "fss")
    paper_iters = pub.PAPER_EPOCHS * pub.PAPER_TRAIN_PAIRS
    if iters:
        pix = f" at {100 * (size / pub.PAPER_IMAGE_SIZE) ** 2:.3g}% of its pixels" if size else ""
        parts.append(f"FSS trained for {iters:,} iterations (batch 1), "
                     f"{100 * iters / paper_iters:.2f}% of the paper's {paper_iters:,} "
                     f"(400 epochs x 268 pairs){pix}.")
    if inp.rows.get("fss") is None:
        parts.append("The FSS row has no metrics (not run), so no gap can be given.")
    else:
        gaps = []
        for k in ("fid", "psnr", "ssim"):
            g, m = mean_gap(inp.rows, "fss", k), METRICS[k]
            if g is not None:
                word = "better" if (g < 0) == m.lower_is_better and g != 0 else "worse"
                gaps.append(f"{m.title.split()[0]} {g:+.{m.decimals}f} ({word})")
        if gaps:
            parts.append("Mean gap of our FSS row to the paper's over CUHK, AR and XM2VTS "
                         "(ours − paper): " + ", ".join(gaps) + ".")
        parts += _ordering(inp.rows)
    if profile != "paper":
        parts.append("A profile smaller than the paper's checks that the whole pipeline runs "
                     "on the real data; its numbers are not expected to reach the paper's, "
                     "and the gaps below should be read with that in mind.")
    size = _num(_get(inp.params, "align.size"))
    if size is not None and size != 256:
        parts.append(f"SSIM and PSNR here are measured at {int(size)}x{int(size)}, not the "
                     "paper's 256x256: downsampling smooths away fine pencil strokes, which "
                     "raises SSIM, so an SSIM 'better' than the paper's does not mean a better "
                     "sketch; compare rows within this report instead.")
    out = ["## How far this run is from the paper", "", " ".join(parts)]
    if warnings:
        out += ["", *(f"**Warning:** {w}." for w in warnings)]
    return "\n".join(out) + "\n"


def _ordering(rows: Mapping[str, dict | None]) -> list[str]:
    """Does the paper's main ablation claim (FSS beats CUT everywhere) hold here?"""
    if rows.get("cut") is None:
        return []
    counts = []
    for k in ("fid", "psnr", "ssim"):
        m, wins, n = METRICS[k], 0, 0
        for s in pub.SUBSETS:
            f = _num((subset_metrics(rows, "fss", s) or {}).get(k))
            c = _num((subset_metrics(rows, "cut", s) or {}).get(k))
            if f is not None and c is not None:
                n += 1
                wins += (f < c) if m.lower_is_better else (f > c)
        if n:
            counts.append(f"{m.title.split()[0]} {wins}/{n}")
    if not counts:
        return []
    return [f"Subsets where our FSS beats our CUT (the paper: 3/3 on each): {', '.join(counts)}."]


# ---------------------------------------------------------------- are the steps real?

ABLATION_KEYS: tuple[tuple[str, str], ...] = (
    ("ssim", "ΔSSIM"), ("psnr", "ΔPSNR"), ("rank1", "Δrank-1 (pp)"))
# The paper's Table 3 reports these two per row and subset (FID has no per-image value
# to resample; the paper gives no rank-1 for its ablation rows).
CLAIM_KEYS: tuple[str, ...] = ("ssim", "psnr")


def _significant(d: Mapping[str, Any]) -> bool:
    sig = d.get("significant")
    if isinstance(sig, bool):
        return sig
    ci = _pair(d.get("ci"))
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def diff_cell(d: Any, key: str) -> str:
    """``+0.0123 [0.0050, 0.0190] ✱``: to − from, its interval, ✱ if it excludes 0.
    rank-1 differences are fractions in the file, percentage points here."""
    if not isinstance(d, Mapping) or _num(d.get("diff")) is None:
        return DASH
    dec, scale = METRICS[key].decimals, (100.0 if key == "rank1" else 1.0)
    ci = _pair(d.get("ci"))
    out = f"{d['diff'] * scale:+.{dec}f}"
    out += f" [{ci[0] * scale:.{dec}f}, {ci[1] * scale:.{dec}f}]" if ci else ""
    return out + (f" {STAR}" if _significant(d) else "")


def _step_name(a: str, b: str) -> str:
    return f"{pub.NAMES.get(a, a)} → {pub.NAMES.get(b, b)}"


def paper_step(a: str, b: str, subset: str) -> str:
    """The paper's own Table 3 difference (b − a) for one subset."""
    pa, pb = pub.TABLE3.get(a, {}).get(subset), pub.TABLE3.get(b, {}).get(subset)
    if not pa or not pb:
        return DASH
    return ", ".join(f"{k.upper()} {pb[k] - pa[k]:+.{METRICS[k].decimals}f}" for k in CLAIM_KEYS)


def _pairs(tests: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [p for p in (tests or {}).get("pairs") or [] if isinstance(p, Mapping)]


def ablation_section(tests: Mapping[str, Any] | None, level: float | None = None,
                     resamples: int | None = None) -> str:
    """One line per adjacent ablation pair and subset: our paired differences with
    their intervals, beside the paper's Table 3 differences."""
    out = ["## Are the ablation steps real? (paired bootstrap)", ""]
    if tests is None:
        return "\n".join([*out, ABLATION_MISSING]) + "\n"
    lvl = _num(tests.get("level"))
    lvl = level if lvl is None else lvl
    res = _num(tests.get("resamples"))
    res = resamples if res is None else int(res)
    seeds = tests.get("seeds") or []
    out.append(
        "Each line: our next ablation row minus the previous one (to − from) on the same "
        f"test images, with its {_level(lvl)}interval from a paired bootstrap over those "
        "images" + (f" ({res} resamples" if res is not None else " (")
        + (f"; per-image scores averaged over seeds {_seed_list(seeds)})" if len(seeds) > 1
           else ")")
        + f". {STAR} = the interval excludes 0: the step changes the metric by more than "
        "another draw of test faces of the same size would. The claim tested: the paper "
        "presents each step as improving every metric on every subset (its Table 3; its "
        "own differences in the last column). Δrank-1 is in percentage points; the paper "
        "gives no rank-1 for its ablation rows.")
    header = ["step", "subset", "n", *(t for _, t in ABLATION_KEYS), "paper's Δ (Table 3)"]
    body = []
    for p in _pairs(tests):
        a, b = str(p.get("from")), str(p.get("to"))
        subs = p.get("subsets") or {}
        for s in (*pub.SUBSETS, "all"):
            d = subs.get(s)
            if not isinstance(d, Mapping):
                continue
            body.append([_step_name(a, b), pub.SUBSET_NAMES[s], fmt(d.get("n"), 0),
                         *(diff_cell(d.get(k), k) for k, _ in ABLATION_KEYS),
                         paper_step(a, b, s) if s != "all" else DASH])
    if not body:
        return "\n".join([*out, "", "No pairs were tested (fewer than two ablation rows)."]
                         ) + "\n"
    return "\n".join([*out, "", *_table(header, body)]) + "\n"


@dataclass(frozen=True)
class Step:
    """One gain the paper's Table 3 shows between adjacent rows, and our test of it."""

    a: str
    b: str
    subset: str
    metric: str
    verdict: str  # "significant" (our gain excludes 0), "noise", or "reversed"


def claimed_steps(tests: Mapping[str, Any] | None) -> tuple[list[Step], int]:
    """The paper-claimed gains we tested (paper's b > a on that subset and metric), and
    how many step x subset x metric cells of the paper we tested in all."""
    steps, cells = [], 0
    for p in _pairs(tests):
        a, b = str(p.get("from")), str(p.get("to"))
        for s in pub.SUBSETS:
            pa, pb = pub.TABLE3.get(a, {}).get(s), pub.TABLE3.get(b, {}).get(s)
            ours = (p.get("subsets") or {}).get(s)
            if not pa or not pb or not isinstance(ours, Mapping):
                continue
            for k in CLAIM_KEYS:
                d = ours.get(k)
                if not isinstance(d, Mapping) or (diff := _num(d.get("diff"))) is None:
                    continue
                cells += 1
                if pb[k] > pa[k]:
                    verdict = ("noise" if not _significant(d)
                               else "significant" if diff > 0 else "reversed")
                    steps.append(Step(a, b, s, k, verdict))
    return steps, cells


def _steps_text(steps: Sequence[Step]) -> str:
    """'CUT → W/ RCS: SSIM CUHK/AR, PSNR AR; ...'"""
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for st in steps:
        groups.setdefault((st.a, st.b), {}).setdefault(st.metric, []).append(
            pub.SUBSET_NAMES[st.subset])
    return "; ".join(f"{_step_name(a, b)}: " + ", ".join(
        f"{k.upper()} {'/'.join(subs)}" for k, subs in by.items())
        for (a, b), by in groups.items())


# ---------------------------------------------------------------- how to read

def interval_halfwidth(rows: Mapping[str, dict | None], trained: Sequence[str], key: str,
                       subset: str) -> float | None:
    """Median over the trained rows of half the width of ``<key>_ci`` on ``subset``."""
    widths = [(ci[1] - ci[0]) / 2 for r in trained
              if (ci := _pair((subset_metrics(rows, r, subset) or {}).get(f"{key}_ci")))]
    return statistics.median(widths) if widths else None


def _floor_bullet(floor: Mapping[str, Any] | None, rows: Mapping[str, dict | None]) -> str:
    if floor is None:
        return (f"**FID floor.** {FLOOR_MISSING} FID is biased upward at small sample sizes, "
                "so without the floor only differences between rows mean anything.")
    subs = [(s, m) for s in pub.SUBSETS
            if (m := subset_metrics({FLOOR: floor}, FLOOR, s)) and _num(m.get("fid")) is not None]
    if not subs:
        return "**FID floor.** `metrics/fid_floor.json` has no per-subset FID."

    def sizes(m: Mapping[str, Any]) -> str:
        n, nt = _num(m.get("n")), _num(m.get("n_train"))
        return f" ({_text(n)} test vs {_text(nt)} training sketches)" if n and nt else ""

    fids = ", ".join(f"≈ {fmt(m['fid'], 1)} on {pub.SUBSET_NAMES[s]}{sizes(m)}"
                     for s, m in subs)
    out = (f"**FID floor.** A perfect generator would still score FID {fids} at these sample "
           "sizes: that is real training sketches against the real test sketches. FID is "
           "biased upward in small samples, so FID values below or near the floor are not "
           "meaningful differences.")
    kids = [f"≈ {fmt(m.get('kid'), 1)} × 10⁻³ on {pub.SUBSET_NAMES[s]}" for s, m in subs
            if _num(m.get("kid")) is not None]
    if kids:
        out += " KID removes that bias: its floor is " + ", ".join(kids) + "."
    below = [f"{pub.NAMES.get(r, REFERENCE_NAMES.get(r, r))} on {pub.SUBSET_NAMES[s]} "
             f"({fmt(f, 2)} ≤ {fmt(m['fid'], 2)})" for r in rows for s, m in subs
             if (f := _num((subset_metrics(rows, r, s) or {}).get("fid"))) is not None
             and f <= m["fid"]]
    if below:
        out += " At or below the floor here (no better than real sketches): " + \
            ", ".join(below) + "."
    return out


def _noise_bullet(rows: Mapping[str, dict | None], trained: Sequence[str],
                  level: float | None) -> str:
    widths = []
    for s in pub.SUBSETS:
        ss, ps = (interval_halfwidth(rows, trained, k, s) for k in ("ssim", "psnr"))
        if ss is not None or ps is not None:
            widths.append(f"±{fmt(ss, 4)} SSIM and ±{fmt(ps, 2)} dB PSNR on "
                          f"{pub.SUBSET_NAMES[s]}")
    if not widths:
        return ""
    return (f"**Noise.** `[lo, hi]` is the {_level(level)}bootstrap interval of a mean over "
            "the test images: how much it would move on another draw of test faces of the "
            "same size. The typical half-width (median over rows) is "
            + ", ".join(widths) + ": a difference between rows smaller than that is inside "
            "the noise.")


def _ablation_bullet(tests: Mapping[str, Any] | None) -> str:
    if tests is None:
        return f"**Ablation steps.** {ABLATION_MISSING}"
    steps, cells = claimed_steps(tests)
    if not cells:
        return "**Ablation steps.** No step of the paper's Table 3 was tested."
    by = {v: [s for s in steps if s.verdict == v] for v in ("significant", "noise", "reversed")}
    out = (f"**Ablation steps.** The paper's Table 3 shows a gain in {len(steps)} of the "
           f"{cells} SSIM/PSNR step × subset cells tested here; of those {len(steps)}, "
           f"{len(by['significant'])} are significant here"
           + (f" ({_steps_text(by['significant'])})" if by["significant"] else "")
           + f", {len(by['noise'])} inside the noise"
           + (f" ({_steps_text(by['noise'])})" if by["noise"] else ""))
    if by["reversed"]:
        out += (f", and {len(by['reversed'])} significantly reversed "
                f"({_steps_text(by['reversed'])})")
    return out + " (see *Are the ablation steps real?*)."


def _seeds_bullet(rows: Mapping[str, dict | None], trained: Sequence[str]) -> str:
    multi = [r for r in trained if len((rows.get(r) or {}).get("seeds") or []) > 1]
    if not multi:
        if not any(rows.get(r) for r in trained):
            return ""
        # The intervals hold each trained model fixed; with one run per row nothing
        # here measures how much a second training run would differ.
        return ("**One training run per row.** The intervals and ✱ marks cover the draw "
                "of test faces only, not training randomness: a GAN trained again with "
                "another seed can move by more than these intervals, so a row-to-row "
                "difference is a difference between these two trained models, not yet "
                "between methods. Train more seeds (`-S 'train.seeds=[0,1,2]'`) to see "
                "the seed spread.")
    seeds = sorted({s for r in multi for s in rows[r]["seeds"]})
    stds = {k: [v for r in multi
                if (v := _num((subset_metrics(rows, r, "all") or {}).get(f"{k}_std")))
                is not None] for k in ("ssim", "fid")}
    out = f"**Seeds.** Over seeds {_seed_list(seeds)}, "
    if stds["ssim"]:
        out += (f"a row's all-image SSIM varies with a std of "
                f"{fmt(statistics.median(stds['ssim']), 4)} (median over rows)")
        out += (f" and its FID with {fmt(statistics.median(stds['fid']), 2)}"
                if stds["fid"] else "")
    else:
        out += "no all-image SSIM std was found"
    abl = [r for r in pub.ABLATION_ROWS if r in trained and
           _num((subset_metrics(rows, r, "all") or {}).get("ssim")) is not None]
    diffs = [f"{_step_name(a, b)} {rows[b]['all']['ssim'] - rows[a]['all']['ssim']:+.4f}"
             for a, b in zip(abl[:-1], abl[1:], strict=True)]
    if diffs:
        out += "; successive ablation rows (of those run) differ in mean SSIM by " + \
            ", ".join(diffs)
    return out + ". A difference not well above the seed std is not one between methods."


def how_to_read(inp: Inputs) -> str:
    """A few bullets, every number from the inputs: the FID floor, the interval noise,
    which of the paper's ablation gains survive, and the seed spread."""
    _, level = bootstrap_settings(inp)
    bullets = [_floor_bullet(inp.floor, inp.rows), _noise_bullet(inp.rows, inp.trained, level),
               _ablation_bullet(inp.ablation), _seeds_bullet(inp.rows, inp.trained)]
    return "\n".join(["## How to read these tables", "",
                      *(f"- {b}" for b in bullets if b)]) + "\n"


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
    return [(s, i) for s in pub.SUBSETS for i in list(test_ids.get(s, []))[:per_subset]]


@dataclass(frozen=True)
class FigureSpec:
    name: str
    caption: str
    columns: tuple[tuple[str, str], ...]  # (label, path template relative to the root)


PHOTO = ("photo", "data/aligned/photos/{id}.png")
REAL = ("real sketch", "data/aligned/sketches/{id}.png")


def result_dir(root: Path, row: str) -> str | None:
    """``results/<row>/seed<k>`` of the row's lowest seed present (a figure shows one
    run, the same one whichever seeds were added later), or None."""
    seeds = seed_paths(Path(root) / "results", row, suffix="")
    return f"results/{run_name(row, next(iter(seeds)))}" if seeds else None


def _result(root: Path, row: str) -> tuple[str, str] | None:
    d = result_dir(root, row)
    return None if d is None else (pub.NAMES.get(row, row), f"{d}/{{subset}}/{{id}}.png")


def figure_specs(root: Path, trained: Sequence[str]) -> list[FigureSpec]:
    """The paper's Fig. 5 (ablation) and Figs. 6-8 (comparison), with the rows that have
    results; plus the RCS maps, which method.md asks the report to show."""
    abl = tuple(c for r in ablation_rows(trained) if (c := _result(root, r)))
    comp = tuple(c for r in pub.COMPARISON_METHODS
                 if r not in pub.PUBLISHED_ONLY and (c := _result(root, r)))
    # references are not trained: results/<ref>/ directly
    refs = tuple((r.replace("_", " "), f"results/{r}/{{subset}}/{{id}}.png")
                 for r in REFERENCES if (root / "results" / r).is_dir())
    seed = " Trained rows: their lowest seed's run."
    specs = [
        FigureSpec("ablation", "Ablation rows on fixed test faces (cf. the paper's Fig. 5)."
                   + seed, (PHOTO, REAL, *abl)),
        FigureSpec("comparison", "Trained comparison methods and the trivial references on "
                   "fixed test faces (cf. the paper's Figs. 6-8)." + seed,
                   (PHOTO, REAL, *comp, *refs)),
    ]
    if (root / "data" / "rcs_maps").is_dir():
        specs.append(FigureSpec("rcs_maps", "Photo mask and pre-trained RCS maps (face B, "
                                "hair A) on the same faces.",
                                (PHOTO, ("mask", "data/masks/{id}.png"),
                                 ("face map", "data/rcs_maps/{id}_face.png"),
                                 ("hair map", "data/rcs_maps/{id}_hair.png"))))
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


# ---------------------------------------------------------------- reading the inputs

def _json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    with open(path) as f:
        data = json.load(f)
    return data if isinstance(data, dict) else None


# pretrain_rcs's IoU file ("metrics/rcs.json" is the rcs row's evaluation).
RCS_METRICS = ("pretrain_rcs.json",)


def _evaluation(path: Path) -> dict | None:
    """A row's evaluation metrics, or None; a file of another kind (see RCS_METRICS) is
    not taken for one."""
    d = _json(path)
    return d if d is not None and isinstance(d.get("subsets"), dict) else None


def metrics_files(root: Path) -> list[str]:
    """Every metrics file present, relative to ``metrics/`` (for the provenance table)."""
    m = Path(root) / "metrics"
    return sorted(str(p.relative_to(m)) for p in m.rglob("*.json")) if m.is_dir() else []


def _manifest_counts(path: Path) -> tuple[int, int] | None:
    """(entries, files): a real-data entry is a pair with one sha256 per file."""
    if not path.is_file():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    files = sum(max(1, sum(1 for k, v in r.items() if k and k.endswith("sha256") and v))
                for r in rows)
    return len(rows), files


def _key_values(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {r["key"]: r["value"] for r in csv.DictReader(f) if "key" in r and "value" in r}


def _test_ids(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if path.is_file():
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r.get("split") == "test":
                    out.setdefault(r["subset"], []).append(r["id"])
    return out


def split_kid_spread(d: dict | None) -> dict | None:
    """An evaluation (or floor) dict with each subset's ``kid_std`` (KID's spread over
    KID subsets) renamed ``kid_spread``, so that summarize_seeds's ``kid_std`` (spread
    over seeds) does not overwrite it."""
    if d is None:
        return None

    def fix(m: Any) -> Any:
        if not isinstance(m, Mapping):
            return m
        return {(KID_SPREAD if k == "kid_std" else k): v for k, v in m.items()}

    out = dict(d)
    if isinstance(out.get("subsets"), Mapping):
        out["subsets"] = {s: fix(m) for s, m in out["subsets"].items()}
    if "all" in out:
        out["all"] = fix(out["all"])
    return out


def seed_runs(folder: Path, row: str, read: Callable[[Path], dict | None]) -> dict | None:
    """``folder/<row>/seed<k>.json`` of every seed present, summarised (mean ± std when
    several); None when the row has none."""
    runs = {s: d for s, p in seed_paths(folder, row).items() if (d := read(p)) is not None}
    return summarize_seeds(list(runs.values()), list(runs)) if runs else None


def summarize_probes(probes: Mapping[str, Any]) -> dict[str, Any]:
    """recognition.json's probes keyed by run (``fss/seed0``) -> one per row, its seeds
    summarised like the evaluations; other probes (``test_photos``) as they are."""
    by_row: dict[str, dict[int, Mapping[str, Any]]] = {}
    out: dict[str, Any] = {}
    for name, p in probes.items():
        row, _, tail = str(name).partition("/")
        m = SEED_DIR.match(tail)
        if m and isinstance(p, Mapping):
            out.setdefault(row, None)  # keep the file's order
            by_row.setdefault(row, {})[int(m.group(1))] = p
        else:
            out[name] = p
    for row, runs in by_row.items():
        seeds = sorted(runs)
        out[row] = summarize_seeds([runs[s] for s in seeds], seeds)
    return out


def _recognition(path: Path) -> dict | None:
    d = _json(path)
    if d is None or not isinstance(d.get("probes"), Mapping):
        return d
    return {**d, "probes": summarize_probes(d["probes"])}


def _evaluation_runs(path: Path) -> dict | None:
    return split_kid_spread(_evaluation(path))


def load_inputs(root: Path) -> Inputs:
    root = Path(root)
    params_path = root / "params.yaml"
    params = yaml.safe_load(params_path.read_text()) if params_path.is_file() else {}
    params = params if isinstance(params, dict) else {}
    trained = trained_rows(params)
    m = root / "metrics"
    ablation = _json(m / "ablation_tests.json")
    return Inputs(
        params=params,
        rows={**{r: seed_runs(m, r, _evaluation_runs) for r in trained},
              **{r: _evaluation_runs(m / f"{r}.json") for r in REFERENCES}},
        train={r: seed_runs(m / "train", r, _json) for r in trained},
        recognition=_recognition(m / "recognition.json"),
        floor=_evaluation_runs(m / "fid_floor.json"),
        ablation=ablation if ablation is not None and "pairs" in ablation else None,
        rcs=next((d for p in RCS_METRICS if (d := _json(m / p)) and "test_face_iou" in d),
                 None),
        alignment=_json(root / "data" / "aligned" / "metrics.json"),
        source=_key_values(root / "data" / "raw" / "source.csv"),
        manifest=_manifest_counts(root / "data" / "raw" / "manifest.csv"),
        test_ids=_test_ids(root / "data" / "splits.csv"),
        files=metrics_files(root),
    )


# ---------------------------------------------------------------- the whole report

def render_report(inp: Inputs, figures: Sequence[tuple[str, str]], commit: str,
                  date: str) -> str:
    """The markdown; ``figures`` = (file name under figures/, caption)."""
    profile, _ = run_profile(inp)
    trained = inp.trained
    resamples, level = bootstrap_settings(inp)
    dev = deviations(inp.params, inp.source.get("kind"))
    parts = [
        "# FSS reproduction report", "",
        f"All numbers below: profile **{profile}** ({setup_summary(inp.params)}), read from "
        "`metrics/` (a trained row's runs: `metrics/<row>/seed<k>.json`); numbers marked "
        "*(paper)* are the published values (Du et al., "
        f"Sci. Rep. 15:16056, 2025; {PAPER_SETUP}). Δ = ours − paper; FID: lower is better, "
        "PSNR, SSIM and rank-1: higher is better; the word after Δ says which ours is. "
        f"'{NOT_RUN}' = the row's metrics file is missing; 'not evaluated' = the file has "
        "no numbers for that subset.", "",
        how_far(inp),
        how_to_read(inp),
        table3(inp.rows, trained, inp.floor),
        ablation_section(inp.ablation, level, resamples),
        tables4_6(inp.rows, inp.floor),
        table7(inp.recognition, trained),
        "## Figures", "",
    ]
    if figures:
        for name, caption in figures:
            parts += [f"![{caption}](figures/{name})", "", f"*{caption}*", ""]
        parts += [f"Test ids shown: {', '.join(i for _, i in figure_ids(inp.test_ids))}; grey "
                  "tile = image missing.", ""]
    else:
        parts += ["No figures: `data/splits.csv` or the images are missing.", ""]
    parts += [
        "## Beyond the paper", "",
        all_images_table(inp.rows, trained, inp.floor),
        region_table(inp.rows, trained),
        training_table(inp.train, trained),
        rcs_section(inp.rcs),
        provenance(inp, commit, date),
        "## Deviations from the paper", "",
        *(f"- {d}" for d in dev), "",
    ]
    return "\n".join(parts)


def write_figures(root: Path, inp: Inputs, out: Path) -> list[tuple[str, str]]:
    """Render every figure into ``out/figures`` (replaced atomically as one folder)."""
    ids = figure_ids(inp.test_ids)
    written: list[tuple[str, str]] = []
    with atomic_dir(out / "figures") as tmp:
        if not ids:
            return written
        default = int(_num(_get(inp.params, "align.size")) or 64)
        for spec in figure_specs(root, inp.trained):
            tiles = load_tiles(root, spec, ids)
            grid = figure_grid(tiles, [c[0] for c in spec.columns], _tile_size(tiles, default))
            save_png(tmp / f"{spec.name}.png", grid)
            written.append((f"{spec.name}.png", spec.caption))
    return written


def write_report(root: Path, out: Path) -> Path:
    """Read everything under ``root``; write ``out/report.md`` and ``out/figures/``, each
    replaced atomically (other files under ``out``, e.g. committed baselines, untouched)."""
    root, out = Path(root), Path(out)
    inp = load_inputs(root)
    figures = write_figures(root, inp, out)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = render_report(inp, figures, git_commit(root, mark_dirty=True), date)
    target = out / "report.md"
    for stale in out.glob(".report.md.tmp-*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    tmp = out / f".report.md.tmp-{os.getpid()}"
    try:
        tmp.write_text(text)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
