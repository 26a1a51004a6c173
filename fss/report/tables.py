"""The report's tables: the paper's Table 3 (ablation), Tables 4-6 (comparison) and
Table 7 (recognition), ours beside the paper's; the paired-bootstrap test of each
ablation step; and the tables beyond the paper (all test images, face/hair regions,
training, RCS maps). Pure: typed results (``summaries``) in, markdown out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fss import published as pub
from fss.evaluation.results import AblationStep, AblationTestsRecord, StepTest
from fss.metrics.table import ablation_keys, of_kind, table_columns
from fss.report.cells import (
    DASH,
    FLOOR,
    METRICS,
    NOT_RUN,
    PUBLISHED_ONLY,
    REFERENCES,
    STAR,
    Line,
    _level,
    _seed_list,
    _table,
    _text,
    ablation_rows,
    cell,
    compare_table,
    delta,
    fmt,
    metric_cell,
    paper_numbers,
    row_label,
    row_seeds,
    seeds_note,
)
from fss.report.summaries import (
    FidelityScores,
    RcsResults,
    RecognitionResults,
    RowResults,
    TrainingRuns,
    group_of,
)

Rows = Mapping[str, RowResults | None]


def _status(rows: Rows, row: str) -> str:
    return NOT_RUN if row not in rows or rows[row] is None else "not evaluated"


def _n_images(rows: Rows, subset: str) -> int | None:
    for r in rows:
        m = group_of(rows, r, subset)
        if m is not None and m.n is not None:
            return int(m.n)
    return None


def _subset_title(rows: Rows, subset: str) -> str:
    n = _n_images(rows, subset)
    return pub.SUBSET_NAMES.get(subset, subset) + (f" ({n} test images)" if n is not None
                                                    else "")


# ---------------------------------------------------------------- the paper's tables

METRIC_NOTE = (
    "SSIM is the paper's (Wang et al. 2004, as MATLAB's `ssim`: 11×11 Gaussian window, "
    "σ 1.5, population covariance, data range 255), so the paper's SSIM column is compared "
    "with it; scikit-image's default 7×7 SSIM, which earlier reports used, is in *All test "
    "images together*. FSIM (piq, on the 1-channel gray, `chromatic=False`), LPIPS (lpips "
    "0.1, VGG) and DISTS (DISTS_pytorch), ours only (the paper reports none of them): "
    "the grayscale sketches are replicated to 3 channels for LPIPS and DISTS, and every "
    "metric is computed at the aligned size without resizing (FID's Inception resizes to "
    "299 itself); '—' = not computed in this run.")
FLOOR_MISSING = "No FID floor: the fid_reference stage has not run."
ABLATION_MISSING = "No ablation tests: the ablation_tests stage has not run."


def size_note(rows: Rows) -> str:
    """The size the metrics were computed at, and whether it is the paper's."""
    sizes = sorted({s for m in rows.values() if m is not None for s in m.image_sizes})
    if not sizes:
        return ""
    txt = ", ".join(f"{s}×{s}" for s in sizes)
    if sizes == [pub.PAPER_IMAGE_SIZE]:
        return f"Size: {txt}, the paper's."
    return (f"Size: {txt}, not the paper's {pub.PAPER_IMAGE_SIZE}×{pub.PAPER_IMAGE_SIZE}: "
            "SSIM, PSNR and the perceptual metrics are not comparable with the paper's.")


def cells_legend(rows: Rows, floor: RowResults | None) -> str:
    """What a cell of ours holds, and what the floor line is."""
    parts = ["Ours: `value [lo, hi]` = one run's mean and its bootstrap interval over test "
             "images (see How to read).", seeds_note(row_seeds(rows))]
    parts.append("KID×1000 ± its spread over KID subsets, ours only (the paper reports no "
                 "KID).")
    parts += [METRIC_NOTE, size_note(rows)]
    parts.append("*Real sketches (floor)*: the real training sketches scored against the "
                 "real test sketches, what a perfect generator would get at these sample "
                 "sizes." if floor is not None else FLOOR_MISSING)
    return " ".join(p for p in parts if p)


def _reference_lines(rows: Rows, floor: RowResults | None, subset: str) -> list[Line]:
    lines = [Line(FLOOR, None if floor is None else floor.group(subset), None, NOT_RUN)]
    return lines + [Line(r, group_of(rows, r, subset), None, _status(rows, r))
                    for r in REFERENCES]


# The paper's own columns, in its order; the table's other metrics follow.
TABLE3_ORDER = ("fid", "psnr", "ssim")
TABLES4_6_ORDER = ("fid", "ssim", "psnr")


def table3(rows: Rows, trained: Sequence[str], floor: RowResults | None = None) -> str:
    """Table 3 (ablation): one table per subset, FID / PSNR / SSIM ours beside the
    paper's, and the metric table's other metrics (KID, FSIM, LPIPS, DISTS, ...) ours
    only; the real-sketch floor and the trivial references below."""
    out = ["## Table 3: ablation (ours vs paper)", "", cells_legend(rows, floor), ""]
    for s in pub.SUBSETS:
        lines = [Line(r, group_of(rows, r, s), paper_numbers(r, s), _status(rows, r))
                 for r in ablation_rows(trained)]
        lines += _reference_lines(rows, floor, s)
        out += [f"### {_subset_title(rows, s)}", ""]
        out += compare_table(lines, table_columns(TABLE3_ORDER)) + [""]
    return "\n".join(out)


def own_data_table(rows: Rows, trained: Sequence[str], floor: RowResults | None,
                   subsets: Sequence[str]) -> str:
    """Data the paper did not use (a paired folder): per subset, every trained row and
    the references, ours only, in Table 3's column order."""
    out = ["## Results per subset", "", cells_legend(rows, floor), ""]
    for s in subsets:
        lines = [Line(r, group_of(rows, r, s), None, _status(rows, r)) for r in trained]
        lines += _reference_lines(rows, floor, s)
        out += [f"### {_subset_title(rows, s)}", ""]
        out += compare_table(lines, table_columns(TABLE3_ORDER), paper=False) + [""]
    return "\n".join(out)


def tables4_6(rows: Rows, floor: RowResults | None = None) -> str:
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
                lines.append(Line(r, group_of(rows, r, s), pub.TABLES4_6[r][s],
                                  _status(rows, r)))
        lines += _reference_lines(rows, floor, s)
        out += [f"### Table {4 + i}: {_subset_title(rows, s)}", ""]
        out += compare_table(lines, table_columns(TABLES4_6_ORDER)) + [""]
    return "\n".join(out)


def _crop_text(recognition: RecognitionResults) -> str:
    crop = recognition.crop
    box_s = ", ".join(fmt(v, 1) for v in crop.box)
    return (f"Crop: one fixed box ({box_s} px of the {crop.size} px aligned "
            "image, from the alignment's eye targets) for every image (photos, real and "
            f"synthesized sketches), resized to {crop.crop_size} px for "
            "FaceNet, so every row is cropped alike. *MTCNN crop*: the earlier route, each "
            "image cropped on its own MTCNN box (the set's median box where none is "
            "found). *Detectable*: the share of the probe set's images in which MTCNN "
            "finds a face, a quality signal of its own.")


def table7(recognition: RecognitionResults | None, trained: Sequence[str],
           subsets: Sequence[str] = pub.SUBSETS, paper: bool = True) -> str:
    """Table 7 (rank-1 recognition, %): ours over all test images beside the paper's,
    then ours per subset (the paper gives only the overall rate), then the MTCNN-crop
    rank-1 and the detectable share; one line per row (its seeds summarised) plus the
    test photos. ``paper`` False (data the paper did not use): ours only, our rows
    only."""
    m, mm = METRICS["rank1"], METRICS["rank1_mtcnn"]
    probes = {} if recognition is None else recognition.probes
    mtcnn = {} if recognition is None else recognition.probes_mtcnn
    detectable = {} if recognition is None else recognition.detectable
    # Paper's methods first, then our other probed rows, each once.
    order = list(dict.fromkeys([*(pub.RECOGNITION_METHODS if paper else ["test_photos"]),
                                *trained, *probes]))
    header = ["probe", "rank-1 % ours", "rank-1 % (paper)", "Δ",
              *(f"{pub.SUBSET_NAMES.get(s, s)} % ours" for s in subsets),
              f"{mm.short} ours", "detectable %"]
    extra = 2
    body = []
    for r in order:
        theirs = pub.TABLE7[r] if r in pub.TABLE7 else None
        if r in pub.PUBLISHED_ONLY:
            body.append([row_label(r), PUBLISHED_ONLY, fmt(theirs, 2), DASH]
                        + [PUBLISHED_ONLY] * (len(subsets) + extra))
            continue
        if r not in probes:
            body.append([row_label(r), NOT_RUN, fmt(theirs, 2), DASH]
                        + [NOT_RUN] * (len(subsets) + extra))
            continue
        p = probes[r]
        ours = p.value("all")
        body.append([row_label(r), cell(p, "all", m.decimals, m.scale), fmt(theirs, 2),
                     delta(None if ours is None else m.scale * ours, theirs, m)]
                    + [cell(p, s, m.decimals, m.scale) for s in subsets]
                    + [cell(mtcnn[r], "all", mm.decimals, mm.scale) if r in mtcnn else NOT_RUN,
                       # a share, in %
                       cell(detectable[r], "all", 1, 100.0) if r in detectable else NOT_RUN])
    if not paper:   # the paper's columns go: it has no numbers on this data
        header = [h for i, h in enumerate(header) if i not in (2, 3)]
        body = [[c for i, c in enumerate(b) if i not in (2, 3)] for b in body]
    out = [("## Table 7: rank-1 face recognition (%, ours vs paper)" if paper
            else "## Rank-1 face recognition (%)"), ""]
    if recognition is None:
        out += ["No recognition results: the recognize stage has not run.", ""]
    else:
        out += [f"Gallery: {recognition.gallery} ({recognition.n_gallery}); probes: each "
                "row's synthesized test sketches, and the "
                "test photos as the paper's 'Test set' column; rank-1 by cosine similarity "
                "of FaceNet embeddings. Subset columns: probes of that subset against the "
                "whole gallery. "
                "Ours: `rate [lo, hi]` with its bootstrap interval over test images. "
                + _crop_text(recognition) + " " + seeds_note(recognition.seeds),
                ""]
    out += _table(header, body)
    fb = {} if recognition is None else recognition.crop_fallbacks
    if fb:
        out += ["", "MTCNN-crop fallbacks (MTCNN found no face; the median box of the same "
                "set used): "
                + ", ".join(f"{k} {_text(v)}" for k, v in fb.items()) + "."]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- beyond the paper

def _row_order(rows: Rows, trained: Sequence[str]) -> list[str]:
    order = [*trained, *REFERENCES]
    return order + [r for r in rows if r not in order]


def all_keys() -> tuple[str, ...]:
    """Every set and per-image metric of the table (tabled or not)."""
    return tuple(m.key for m in of_kind("set", "image"))


def all_images_table(rows: Rows, trained: Sequence[str],
                     floor: RowResults | None = None) -> str:
    """Every set and per-image metric over every test image at once (the paper reports
    subsets only), with the real-sketch floor."""
    keys = all_keys()
    header = ["row", "n", *(METRICS[k].label for k in keys)]
    body = []
    with_floor = {**rows, FLOOR: floor}
    for r in [*_row_order(rows, trained), FLOOR]:
        a = group_of(with_floor, r, "all")
        if a is None:
            body.append([row_label(r), *([_status(with_floor, r)] * (1 + len(keys)))])
        else:
            body.append([row_label(r), fmt(a.n, 0), *(metric_cell(a, k) for k in keys)])
    return "\n".join(["### All test images together", "", *_table(header, body)]) + "\n"


REGIONS = ("face", "hair")


def region_keys() -> list[tuple[str, str, int]]:
    """(key, header, decimals) of every region version the table asks for."""
    return [(f"{m.key}_{r}", f"{m.short} {r}", m.decimals) for r in REGIONS
            for m in of_kind("image") if m.regions]


def region_table(rows: Rows, trained: Sequence[str],
                 subsets: Sequence[str] = pub.SUBSETS) -> str:
    """SSIM / PSNR restricted to the RCS face and hair regions, per subset and overall."""
    keys = region_keys()
    header = ["row", "subset", *(h for _, h, _ in keys)]
    body = []
    for r in _row_order(rows, trained):
        if r not in rows or rows[r] is None:
            body.append([row_label(r), DASH, *([NOT_RUN] * len(keys))])
            continue
        for s in (*subsets, "all"):
            m = group_of(rows, r, s)
            body.append([row_label(r), pub.SUBSET_NAMES.get(s, s),
                         *(cell(m, k, d) for k, _, d in keys)])
    return "\n".join([
        "### SSIM / PSNR within the face and hair regions", "",
        "Regions: the RCS face map > 0.5, and the hair map > 0.5 outside the face "
        "(the sampler's regions), on the aligned test images; SSIM inside a region is the "
        "mean of the Gaussian SSIM map there, leaving out the window's 5-pixel border.", "",
        *_table(header, body),
    ]) + "\n"


def training_table(train: Mapping[str, TrainingRuns | None], trained: Sequence[str]) -> str:
    """One line per row: its seeds' mean (± std when several) of each number."""
    header = ["row", "epochs", "iters/epoch", "device", "processes", "precision", "s/iter",
              "L1 first → last epoch", "last/first", "seconds (this run)"]
    body = []
    for r in [*trained, *(r for r in train if r not in trained)]:
        t = train[r] if r in train else None
        if t is None:
            body.append([row_label(r), *([NOT_RUN] * (len(header) - 1))])
            continue
        n = t.numbers
        body.append([row_label(r), *(_text(t.shown(k)) for k in
                                     ("epochs", "iters_per_epoch", "device", "world_size",
                                      "precision")),
                     cell(n, "seconds_per_iter", 3),
                     f"{cell(n, 'l1_first_epoch', 4)} → {cell(n, 'l1_last_epoch', 4)}",
                     cell(n, "l1_ratio", 3), cell(n, "seconds_this_run", 0)])
    note = seeds_note(row_seeds(train))
    return "\n".join([
        "### Training", "",
        "From each training run's metrics (the train stage). L1 is the mean held-in L1 to the real "
        "sketch per epoch (lower is better), a sanity check that each row learned."
        + (f" {note}" if note else ""), "",
        *_table(header, body),
    ]) + "\n"


DOUBLED = "doubled_L"   # training's log of DSS's doubled share at one NCE layer


def dss_share_table(train: Mapping[str, TrainingRuns | None], trained: Sequence[str]) -> str:
    """DSS's doubled share per NCE layer (the last epoch's mean over its iterations,
    logged by training as ``doubled_L<layer>``): how selective the 0.8 threshold is on
    the graded RCS maps. Empty when no row samples with DSS."""
    rows, layers = [], []
    for r in trained:
        t = train[r] if r in train else None
        if t is None:
            continue
        keys = sorted((k for k in t.final.values if k.startswith(DOUBLED)),
                      key=lambda k: int(k[len(DOUBLED):]))
        if keys:
            rows.append((r, t))
            layers = layers or keys

    if not rows:
        return ""

    def pct(t: TrainingRuns, k: str) -> str:
        v, sd = t.final.value(k), t.final.std(k)
        if v is None:
            return DASH
        return f"{100 * v:.1f} %" + (f" ± {100 * sd:.1f}" if sd is not None else "")

    header = ["row", *(f"layer {k[len(DOUBLED):]}" for k in layers)]
    return "\n".join([
        "### DSS: share of sampled locations doubled", "",
        "Per NCE layer, the share of the distinct sampled locations whose RCS density "
        "exceeds `sampling.dss_threshold` and which DSS therefore samples twice (last "
        "epoch's mean; the maps are frozen, so every epoch gives about the same). A working "
        "DSS doubles a minority; with nearly binary maps it doubles nearly everything and "
        "is RCS with every sample counted twice.", "",
        *_table(header, [[row_label(r), *(pct(t, k) for k in layers)] for r, t in rows]),
    ]) + "\n"


def official_cut_table(reference: FidelityScores | None, ours: FidelityScores | None) -> str:
    """Our `cut` row beside official CUT at the configuration official CUT was run at
    (benchmarks/official_cut.py), with the fidelity target: FID within 10 and SSIM
    (scikit-image's default) within 0.01 of official CUT's on every subset."""
    if reference is None or not reference.subsets:
        return ""
    out = ["### Fidelity: our `cut` row against official CUT", "",
           f"Official CUT: {_text(reference.config)}. Scoring: "
           f"{_text(reference.scoring)}. Ours: the `cut_official` profile (the same "
           "configuration), `benchmarks/official_cut.py score`.", ""]
    if ours is None:
        return "\n".join([*out, f"Ours: {NOT_RUN} (run the commands in the README, "
                           "'CUT as CUT trains it')."]) + "\n"
    body = []
    for s, r in reference.subsets.items():
        o = ours.subsets[s] if s in ours.subsets else None
        fid, ssim = (None, None) if o is None else (o.value("fid"), o.value("ssim_skimage"))
        ref_fid, ref_ssim = r.value("fid"), r.value("ssim_skimage")
        ok = (fid is not None and ssim is not None and ref_fid is not None
              and ref_ssim is not None and fid <= ref_fid + 10 and ssim >= ref_ssim - 0.01)
        body.append([pub.SUBSET_NAMES.get(s, s), fmt(ref_fid, 1), fmt(fid, 1),
                     fmt(ref_ssim, 3), fmt(ssim, 3), fmt(r.value("psnr"), 2),
                     fmt(None if o is None else o.value("psnr"), 2), "yes" if ok else "**no**"])
    return "\n".join([*out, *_table(
        ["subset", "FID official", "FID ours", "SSIM (7x7) official", "SSIM (7x7) ours",
         "PSNR official", "PSNR ours", "within target"], body)]) + "\n"


def rcs_section(rcs: RcsResults | None) -> str:
    out = ["### RCS face/hair maps", ""]
    if rcs is None:
        missing = "No RCS metrics: the pretrain_rcs stage has not run."
        return "\n".join([*out, missing]) + "\n"
    size_s = "x".join(str(x) for x in rcs.size) if rcs.size else DASH

    def ious(split: str) -> str:
        n = rcs.ious[split] if split in rcs.ious else None
        return (f"face {fmt(None if n is None else n.value('face_iou'), 4)}, hair "
                f"{fmt(None if n is None else n.value('hair_iou'), 4)}")

    out += [f"IoU of the pre-trained RCS maps (> 0.5) with the weak labels on the test "
            f"photos: {ious('test')}"
            + (f" (train: {ious('train')})" if "train" in rcs.ious else "")
            + f"; {fmt(rcs.epochs, 0)} epochs at {size_s}."]
    if rcs.test_subsets:
        out += ["", *_table(["subset", "n", "face IoU", "hair IoU"], [
            [pub.SUBSET_NAMES.get(s, s), fmt(v.value("n"), 0), fmt(v.value("face_iou"), 4),
             fmt(v.value("hair_iou"), 4)] for s, v in rcs.test_subsets.items()])]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- are the steps real?

def claim_keys() -> tuple[str, ...]:
    """The metrics of the paper's Table 3 that we can test per step: published, with a
    per-image value (SSIM and PSNR; the paper gives no rank-1 for its ablation rows)."""
    return tuple(m.key for m in of_kind("image") if m.interval and m.published)


def _ablation_columns(tests: AblationTestsRecord) -> list[str]:
    """The tested metrics present in the file, in the table's order."""
    present = {k for p in tests.pairs for by in p.tests.values() for k in by}
    return [k for k in ablation_keys() if k in present]


def _diff_title(key: str) -> str:
    return f"Δ{METRICS[key].short}" + (" (pp)" if METRICS[key].scale == 100 else "")


def diff_cell(d: StepTest | None, key: str) -> str:
    """``+0.0123 [0.0050, 0.0190] ✱``: to − from, its interval, ✱ if it excludes 0.
    Rates (rank-1) are fractions in the file, percentage points here."""
    if d is None:
        return DASH
    dec, scale = METRICS[key].decimals, METRICS[key].scale
    out = f"{d.diff * scale:+.{dec}f} [{d.ci[0] * scale:.{dec}f}, {d.ci[1] * scale:.{dec}f}]"
    return out + (f" {STAR}" if d.significant else "")


def _step_name(a: str, b: str) -> str:
    return f"{pub.NAMES.get(a, a)} → {pub.NAMES.get(b, b)}"


def paper_step(a: str, b: str, subset: str) -> str:
    """The paper's own Table 3 difference (b − a) for one subset."""
    pa, pb = paper_numbers(a, subset), paper_numbers(b, subset)
    if not pa or not pb:
        return DASH
    return ", ".join(f"{METRICS[k].short} {pb[k] - pa[k]:+.{METRICS[k].decimals}f}"
                     for k in claim_keys())


def _test(p: AblationStep, group: str, key: str) -> StepTest | None:
    """One tested metric of a step; None when not tested (or not a finite difference,
    as a damaged file may hold: it is neither shown nor counted as a claim tested)."""
    by = p.tests[group] if group in p.tests else {}
    t = by[key] if key in by else None
    finite = t is not None and all(math.isfinite(x) for x in (t.diff, *t.ci))
    return t if finite else None


def seed_levels(tests: AblationTestsRecord) -> bool:
    """True when the test resampled training seeds as well as test images (a file of
    the two-level bootstrap with more than one seed in some row)."""
    return "seeds" in tests.levels


def _seeds_text(tests: AblationTestsRecord) -> str:
    # the JSON's keys come sorted by name; a reader follows the ablation's order
    order = [r for r in pub.TABLE3 if r in tests.seeds]
    order += [r for r in tests.seeds if r not in order]
    return "; ".join(f"{pub.NAMES.get(r, r)} {_seed_list(tests.seeds[r])}" for r in order)


def method_text(tests: AblationTestsRecord) -> str:
    """What the ✱ of this file means: which randomness its intervals cover."""
    lvl, res = _level(tests.level), f" ({tests.resamples} resamples)"
    if seed_levels(tests):
        return (f"its {lvl}interval from a two-level bootstrap{res}: each resample draws "
                "each row's training runs (seeds) with replacement, then the test images "
                "(the same images for both rows), so the interval covers training "
                f"randomness and the draw of test faces (seeds: {_seeds_text(tests)})")
    return (f"its {lvl}interval from a paired bootstrap over those images{res}. One "
            "training run per row: the interval covers the draw of test faces only, not "
            f"training randomness (seeds: {_seeds_text(tests)})")


def ablation_section(tests: AblationTestsRecord | None, subsets: Sequence[str] = pub.SUBSETS,
                     paper: bool = True) -> str:
    """One line per adjacent ablation pair and subset: our differences with their
    intervals, beside the paper's Table 3 differences."""
    out = ["## Are the ablation steps real? (bootstrap over seeds and test images)", ""]
    if tests is None:
        return "\n".join([*out, ABLATION_MISSING]) + "\n"
    out.append(
        "Each line: our next ablation row minus the previous one (to − from) on the same "
        f"test images, with {method_text(tests)}. {STAR} = the interval excludes "
        "0: the step changes the metric by more than that randomness would. "
        + ("The claim tested: the paper presents each step as improving every metric on "
           "every subset (its Table 3; its own differences in the last column). Rates are "
           "in percentage points; the paper gives no rank-1 for its ablation rows."
           if paper else "Rates are in percentage points."))
    keys = _ablation_columns(tests)
    header = ["step", "subset", "n", *(_diff_title(k) for k in keys),
              *(["paper's Δ (Table 3)"] if paper else [])]
    body = []
    for p in tests.pairs:
        a, b = p.from_row, p.to_row
        for s in (*subsets, "all"):
            if s not in p.n:
                continue
            body.append([_step_name(a, b), pub.SUBSET_NAMES.get(s, s), fmt(p.n[s], 0),
                         *(diff_cell(_test(p, s, k), k) for k in keys),
                         *([paper_step(a, b, s) if s != "all" else DASH] if paper else [])])
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


def _better(diff: float, key: str) -> bool:
    return (diff < 0) if METRICS[key].lower_is_better else (diff > 0)


def claimed_steps(tests: AblationTestsRecord | None) -> tuple[list[Step], int]:
    """The paper-claimed gains we tested (paper's b better than a on that subset and
    metric), and how many step x subset x metric cells of the paper we tested in all."""
    steps, cells = [], 0
    for p in () if tests is None else tests.pairs:
        a, b = p.from_row, p.to_row
        for s in pub.SUBSETS:
            pa, pb = paper_numbers(a, s), paper_numbers(b, s)
            if not pa or not pb or s not in p.tests:
                continue
            for k in claim_keys():
                d = _test(p, s, k)
                if d is None:
                    continue
                cells += 1
                if k in pa and k in pb and _better(pb[k] - pa[k], k):
                    verdict = ("noise" if not d.significant
                               else "significant" if _better(d.diff, k) else "reversed")
                    steps.append(Step(a, b, s, k, verdict))
    return steps, cells


def _steps_text(steps: Sequence[Step]) -> str:
    """'CUT → W/ RCS: SSIM CUHK/AR, PSNR AR; ...'"""
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for st in steps:
        groups.setdefault((st.a, st.b), {}).setdefault(st.metric, []).append(
            pub.SUBSET_NAMES[st.subset])
    return "; ".join(f"{_step_name(a, b)}: " + ", ".join(
        f"{METRICS[k].short} {'/'.join(subs)}" for k, subs in by.items())
        for (a, b), by in groups.items())
