"""The report's tables: the paper's Table 3 (ablation), Tables 4-6 (comparison) and
Table 7 (recognition), ours beside the paper's; the paired-bootstrap test of each
ablation step; and the tables beyond the paper (all test images, face/hair regions,
training, RCS maps). Pure: metric dicts in, markdown out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fss import published as pub
from fss.report.cells import (
    DASH,
    DEFAULT_ROWS,
    FLOOR,
    METRICS,
    NOT_RUN,
    PUBLISHED_ONLY,
    REFERENCES,
    STAR,
    Line,
    _level,
    _num,
    _pair,
    _seed_list,
    _table,
    _text,
    ablation_rows,
    cell,
    compare_table,
    delta,
    fmt,
    metric_cell,
    row_label,
    seeds_note,
    subset_metrics,
)


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

FLOOR_MISSING = "`metrics/fid_floor.json` not found: the fid_reference stage has not run."
ABLATION_MISSING = ("`metrics/ablation_tests.json` not found: the ablation_tests stage has "
                    "not run.")


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
