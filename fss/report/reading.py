"""The prose around the tables: how far this run is from the paper (setup and gap), how
to read the tables (FID floor, interval noise, which ablation gains survive, seed
spread), the setup summary, provenance and the deviations from the paper. Every number
in it comes from the ``Inputs``; pure, like the tables."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fss import published as pub
from fss.evaluation.results import AblationTestsRecord
from fss.report.cells import (
    METRICS,
    REFERENCE_NAMES,
    _get,
    _level,
    _num,
    _seed_list,
    _table,
    _text,
    ablation_rows,
    fmt,
    paper_numbers,
)
from fss.report.summaries import Group, RowResults, group_of
from fss.report.tables import (
    ABLATION_MISSING,
    FLOOR_MISSING,
    _step_name,
    _steps_text,
    claimed_steps,
    seed_levels,
)
from fss.weights import REGISTRY, short_hash

Rows = Mapping[str, RowResults | None]

if TYPE_CHECKING:  # only annotations: inputs sits above this module
    from fss.report.inputs import Inputs


# ---------------------------------------------------------------- setup, provenance

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
        ("vgg16_features", "LPIPS and DISTS backbone"),
    ]


def weights_hash(name: str) -> str:
    """The registry's sha256 prefix (what every use was verified against), or 'missing'."""
    return short_hash(name) if name in REGISTRY else "missing"


def _values(rows: Rows, key: str) -> list[str]:
    """Every value the rows' runs name (``profiles``, ``image_sizes``), as text."""
    return sorted({_text(v) for m in rows.values() if m is not None for v in getattr(m, key)})


def run_profile(inp: Inputs) -> tuple[str, list[str]]:
    """The profile that produced the metrics, and warnings where files disagree."""
    declared = str(_get(inp.params, "meta.profile", "unknown"))
    warnings = []
    profiles = _values(inp.rows, "profiles")
    if len(profiles) > 1 or (profiles and profiles[0] != declared):
        warnings.append(f"the metrics files come from profile(s) {', '.join(profiles)} "
                        f"but params.yaml says {declared}: numbers from different setups "
                        "are mixed below")
    sizes = _values(inp.rows, "image_sizes")
    size = _text(_get(inp.params, "align.size"))
    if len(sizes) > 1 or (sizes and sizes[0] != size):
        warnings.append(f"the metrics files were computed at image size(s) {', '.join(sizes)} "
                        f"but params.yaml says {size}")
    epochs = {_text(t.numbers.value("epochs")) for t in inp.train.values() if t is not None}
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
    manifest = f"`{inp.paths.raw}/manifest.csv`" if inp.paths else "the download manifest"
    if inp.manifest is not None:
        lines.append(("verified files", f"{inp.manifest[1]} files in {inp.manifest[0]} "
                                        f"manifest entries ({manifest})"))
    else:
        lines.append(("verified files", f"{manifest} missing"))
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
    found = [f"{pub.NAMES.get(r, r)} {_seed_list(d.seeds)}"
             for r in inp.trained if (d := inp.row(r)) is not None]
    base = _get(inp.params, "train.baseline_seeds", None)
    base_s = (f", train.baseline_seeds {_seed_list(base)} (pix2pix, CycleGAN)"
              if isinstance(base, list | tuple) else "")
    return (f"train.seeds {_seed_list(_seeds_param(inp.params))}{base_s}; evaluated runs: "
            + ("; ".join(found) or "none"))


def _seeds_param(params: Mapping[str, Any]) -> list[Any]:
    seeds = _get(params, "train.seeds", [0])
    return list(seeds) if isinstance(seeds, list | tuple) else [seeds]


def bootstrap_settings(inp: Inputs) -> tuple[int | None, float | None]:
    """(resamples, level) of the intervals: as the ablation_tests stage recorded them,
    else as params set them; None where neither says."""
    a = inp.ablation
    res = (float(a.resamples) if a is not None
           else _num(_get(inp.params, "evaluate.bootstrap_resamples")))
    lvl = a.level if a is not None else _num(_get(inp.params, "evaluate.bootstrap_level"))
    return (None if res is None else int(res)), lvl


def intervals_provenance(inp: Inputs) -> str:
    res, lvl = bootstrap_settings(inp)
    out = (f"`[lo, hi]`: {_level(lvl)}percentile bootstrap over test images"
           + (f", {res} resamples" if res is not None else "")
           + " (every per-image metric and rank-1 of one run); ablation steps: bootstrap "
           "over seeds and test images (the ablation_tests stage); `±`: std over "
           "seeds (KID: over KID subsets)")
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
    ("loss.nce_idt", True, "CUT's NCE identity term"),
    ("train.load_scale", 1.117, "crop augmentation's load scale (CUT: 286/256; 1 = no crop)"),
    ("model.init_type", "xavier", "weight init (CUT: xavier, gain 0.02)"),
    ("model.gan_mode", "vanilla", "GAN loss (the paper's Eq. 11 is the log loss, `vanilla`; "
                                  "official CUT's default is LSGAN)"),
    ("sampling.dss_threshold", 0.8, "DSS density threshold"),
    ("data.limit_per_split", 0, "images per subset/split (0 = all)"),
)

# Always true of this implementation (docs/method-notes.md); keep in step with that file.
METHOD_DEVIATIONS: tuple[str, ...] = (
    "RCS pre-training: the paper gives no objective; here GRADED weak labels from the photo "
    "(face = landmark hull grown to the forehead, its density = closeness to the face "
    "mesh's vertices; hair = person mask minus face, above the jaw, its density = depth "
    "inside the hair; label = 0.6 + 0.4 u^3 with u the pixel's density rank in its region) "
    "with BCE towards the label + region Dice on both heads, so that DSS's 0.8 threshold "
    "picks a dense minority (the doubled share is measured, see 'DSS' above).",
    "Photo masks: MediaPipe selfie segmentation (person incl. hair) at 0.5, largest "
    "component, holes filled; the paper does not say how its mask is made.",
    "Alignment: eyes at (0.40, 0.50) and (0.60, 0.50) of the frame by the median of "
    "MTCNN detections on `align.copies` rescaled/shifted copies and one refinement on the "
    "aligned photo, replicated border; photos without a face fall back to CUFS's native "
    "eye positions. The paper only says the images are aligned and resized.",
    "Sketches are 1-channel (generator output and discriminator input); a synthesized "
    "sketch is replicated to 3 channels (plus the mask in mask rows) to be encoded for "
    "PatchNCE.",
    "DSS: a doubled location's twin is excluded from its negatives (our reading of Fig. 4); "
    "sampling falls back to uniform at a layer with fewer than two region locations.",
    "DSS density of a location = its own region's map value (face map for face samples, "
    "hair map for hair samples), area-resized to the layer.",
    "Augmentation (the paper gives none): CUT's, for every trained row: resize by 1.117, "
    "random crop back to the size (the same window for photo, sketch, mask and maps), "
    "horizontal flip; no crop in the decay epochs.",
    "Layer 0's RCS maps are reflect-padded like the generator's input (3 px), not "
    "stretched; strided layers take area-resized maps.",
    "pix2pix: the same ResNet generator as the CUT rows (not a U-Net), no dropout, "
    "PatchGAN on photo+sketch, GAN + 100 L1, LSGAN.",
    "CycleGAN: no image history buffer (the original keeps a pool of 50 fakes); unpaired "
    "sampling pairs each photo with a random training sketch; LSGAN.",
    "pix2pix and CycleGAN are trained with this project's schedule (epochs, lr decay) of "
    "the profile, not their papers' defaults.",
    "Recognition: FaceNet with CASIA-WebFace weights (the paper does not say which); "
    "gallery = real test sketches, rank-1 by cosine similarity; every image cropped at one "
    "fixed box from the alignment's eye targets (the paper does not say how it crops).",
    "LPIPS and DISTS (not in the paper) use the ImageNet VGG16 as an fp16 copy (the "
    "registry's `vgg16_features`), not torchvision's fp32 download: values may differ "
    "from the packages' defaults in the last digits.",
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
    return out + _target_deviations(params) + list(METHOD_DEVIATIONS)


def _target_deviations(params: Mapping[str, Any]) -> list[str]:
    """The CUT rows' target: ours pairs it with the photo unless ``unpaired_target``."""
    rows = _get(params, "rows", {})
    paired = [r for r in rows if _get(rows, f"{r}.model") == "cut"
              and _get(rows, f"{r}.sampling") == "uniform" and not _get(rows, f"{r}.mask_input")
              and not _get(rows, f"{r}.unpaired_target")]
    if not paired:
        return []
    return [f"{', '.join(paired)} row: the discriminator and the NCE identity term see the "
            "photo's own sketch (paired: the same crop and flip), where official CUT draws an "
            "unpaired sketch with its own crop; `-S 'row@rows.cut=[cut,unpaired]'` switches "
            "to CUT's sampling (one measured run: README, \"Measured: the unpaired target\")."]


def _why(key: str, ours: Any) -> str:
    if key == "loss.perceptual.backbone" and ours == "vgg16":
        return " — the same five stages relu1_1..relu5_1; VGG19 weights cannot be had offline"
    if key == "train.iters_per_epoch":
        return " — short epochs so the training curves have points"
    return ""


# ---------------------------------------------------------------- how far from the paper

def _train_iters(inp: Inputs, row: str) -> int | None:
    t = inp.train[row] if row in inp.train else None
    if t is not None:
        ep, it = t.numbers.value("epochs"), t.numbers.value("iters_per_epoch")
        if ep is not None and it is not None:
            return int(ep * it)
    ep, it = _num(_get(inp.params, "train.epochs")), _num(_get(inp.params, "train.iters_per_epoch"))
    if ep is None or it is None:
        return None
    return int(ep * (it or pub.PAPER_TRAIN_PAIRS))


def _metric(rows: Rows, row: str, subset: str, metric: str) -> float | None:
    g = group_of(rows, row, subset)
    return None if g is None else g.value(metric)


def mean_gap(rows: Rows, row: str, metric: str) -> float | None:
    """Mean over the subsets of ours - paper (Table 3) for one row and metric."""
    gaps = [o - p for s in pub.SUBSETS
            if (o := _metric(rows, row, s, metric)) is not None
            and (theirs := paper_numbers(row, s)) is not None and metric in theirs
            and (p := _num(theirs[metric])) is not None]
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
    if inp.row("fss") is None:
        parts.append("The FSS row has no metrics (not run), so no gap can be given.")
    else:
        gaps = []
        for k in ("fid", "psnr", "ssim"):
            g, m = mean_gap(inp.rows, "fss", k), METRICS[k]
            if g is not None:
                word = "better" if (g < 0) == m.lower_is_better and g != 0 else "worse"
                gaps.append(f"{m.short} {g:+.{m.decimals}f} ({word})")
        if gaps:
            parts.append("Mean gap of our FSS row to the paper's over CUHK, AR and XM2VTS "
                         "(ours − paper): " + ", ".join(gaps) + ".")
        parts += _ordering(inp.rows)
    if profile != "paper":
        parts.append("A profile smaller than the paper's checks that the whole pipeline runs "
                     "on the real data; its numbers are not expected to reach the paper's, "
                     "and the gaps below should be read with that in mind.")
    size = _num(_get(inp.params, "align.size"))
    if size is not None and size != pub.PAPER_IMAGE_SIZE:
        parts.append(f"SSIM and PSNR here are measured at {int(size)}x{int(size)}, not the "
                     f"paper's {pub.PAPER_IMAGE_SIZE}x{pub.PAPER_IMAGE_SIZE}, so they are not "
                     "comparable with the paper's: downsampling smooths away fine pencil "
                     "strokes, which raises SSIM, so an SSIM 'better' than the paper's does "
                     "not mean a better sketch; compare rows within this report instead.")
    out = ["## How far this run is from the paper", "", " ".join(parts)]
    if warnings:
        out += ["", *(f"**Warning:** {w}." for w in warnings)]
    return "\n".join(out) + "\n"


def _ordering(rows: Rows) -> list[str]:
    """Does the paper's main ablation claim (FSS beats CUT everywhere) hold here?"""
    if "cut" not in rows or rows["cut"] is None:
        return []
    counts = []
    for k in ("fid", "psnr", "ssim"):
        m, wins, n = METRICS[k], 0, 0
        for s in pub.SUBSETS:
            f, c = _metric(rows, "fss", s, k), _metric(rows, "cut", s, k)
            if f is not None and c is not None:
                n += 1
                wins += (f < c) if m.lower_is_better else (f > c)
        if n:
            counts.append(f"{m.short} {wins}/{n}")
    if not counts:
        return []
    return [f"Subsets where our FSS beats our CUT (the paper: 3/3 on each): {', '.join(counts)}."]


# ---------------------------------------------------------------- how to read

def interval_halfwidth(rows: Rows, trained: Sequence[str], key: str,
                       subset: str) -> float | None:
    """Median over the trained rows of half the width of ``key``'s interval on
    ``subset`` (rows of one run: several seeds' summaries carry no interval)."""
    widths = [(ci[1] - ci[0]) / 2 for r in trained
              if (g := group_of(rows, r, subset)) is not None and (ci := g.ci(key))]
    return statistics.median(widths) if widths else None


def _floor_bullet(floor: RowResults | None, rows: Rows,
                  subsets: Sequence[str] = pub.SUBSETS) -> str:
    if floor is None:
        return (f"**FID floor.** {FLOOR_MISSING} FID is biased upward at small sample sizes, "
                "so without the floor only differences between rows mean anything.")
    subs = [(s, m, fid) for s in subsets
            if (m := floor.group(s)) is not None and (fid := m.value("fid")) is not None]
    if not subs:
        return "**FID floor.** The fid_reference stage's floor has no per-subset FID."

    def sizes(m: Group) -> str:
        n, nt = m.n, m.n_train
        return f" ({_text(n)} test vs {_text(nt)} training sketches)" if n and nt else ""

    fids = ", ".join(f"≈ {fmt(fid, 1)} on {pub.SUBSET_NAMES.get(s, s)}{sizes(m)}"
                     for s, m, fid in subs)
    out = (f"**FID floor.** A perfect generator would still score FID {fids} at these sample "
           "sizes: that is real training sketches against the real test sketches. FID is "
           "biased upward in small samples, so FID values below or near the floor are not "
           "meaningful differences.")
    kids = [f"≈ {fmt(m.value('kid'), 1)} × 10⁻³ on {pub.SUBSET_NAMES.get(s, s)}"
            for s, m, _ in subs if m.value("kid") is not None]
    if kids:
        out += " KID removes that bias: its floor is " + ", ".join(kids) + "."
    below = [f"{pub.NAMES.get(r, REFERENCE_NAMES.get(r, r))} on {pub.SUBSET_NAMES.get(s, s)} "
             f"({fmt(f, 2)} ≤ {fmt(fid, 2)})" for r in rows for s, _, fid in subs
             if (f := _metric(rows, r, s, "fid")) is not None and f <= fid]
    if below:
        out += " At or below the floor here (no better than real sketches): " + \
            ", ".join(below) + "."
    return out


def _noise_bullet(rows: Rows, trained: Sequence[str],
                  level: float | None, subsets: Sequence[str] = pub.SUBSETS) -> str:
    widths = []
    for s in subsets:
        ss, ps = (interval_halfwidth(rows, trained, k, s) for k in ("ssim", "psnr"))
        if ss is not None or ps is not None:
            widths.append(f"±{fmt(ss, 4)} SSIM and ±{fmt(ps, 2)} dB PSNR on "
                          f"{pub.SUBSET_NAMES.get(s, s)}")
    if not widths:
        return ""
    return (f"**Noise.** `[lo, hi]` is the {_level(level)}bootstrap interval of a mean over "
            "the test images: how much it would move on another draw of test faces of the "
            "same size. The typical half-width (median over rows) is "
            + ", ".join(widths) + ": a difference between rows smaller than that is inside "
            "the noise.")


def _ablation_bullet(tests: AblationTestsRecord | None) -> str:
    if tests is None:
        return f"**Ablation steps.** {ABLATION_MISSING}"
    steps, cells = claimed_steps(tests)
    if not cells:
        return "**Ablation steps.** No step of the paper's Table 3 was tested."
    by = {v: [s for s in steps if s.verdict == v] for v in ("significant", "noise", "reversed")}
    covers = ("training seeds and test images" if seed_levels(tests)
              else "test images only (one training run per row)")
    out = (f"**Ablation steps.** The paper's Table 3 shows a gain in {len(steps)} of the "
           f"{cells} SSIM/PSNR step × subset cells tested here; {len(by['significant'])} of "
           f"those {len(steps)} claimed gains survive our test, which resamples {covers}"
           + (f" ({_steps_text(by['significant'])})" if by["significant"] else "")
           + f"; {len(by['noise'])} are inside the noise"
           + (f" ({_steps_text(by['noise'])})" if by["noise"] else ""))
    if by["reversed"]:
        out += (f", and {len(by['reversed'])} significantly reversed "
                f"({_steps_text(by['reversed'])})")
    return out + " (see *Are the ablation steps real?*)."


def _seeds_bullet(rows: Rows, trained: Sequence[str]) -> str:
    multi = [r for r in trained if (m := rows[r] if r in rows else None) is not None
             and len(m.seeds) > 1]
    if not multi:
        if not any(r in rows and rows[r] is not None for r in trained):
            return ""
        # The intervals hold each trained model fixed; with one run per row nothing
        # here measures how much a second training run would differ.
        return ("**One training run per row.** The intervals and ✱ marks cover the draw "
                "of test faces only, not training randomness: a GAN trained again with "
                "another seed can move by more than these intervals, so a row-to-row "
                "difference is a difference between these two trained models, not yet "
                "between methods. Train more seeds (`-S 'train.seeds=[0,1,2]'`) to see "
                "the seed spread.")
    seeds = sorted({s for r in multi for s in rows[r].seeds})
    stds = {k: [v for r in multi
                if (g := group_of(rows, r, "all")) is not None and (v := g.std(k)) is not None]
            for k in ("ssim", "fid")}
    out = f"**Seeds.** Over seeds {_seed_list(seeds)}, "
    if stds["ssim"]:
        out += (f"a row's all-image SSIM varies with a std of "
                f"{fmt(statistics.median(stds['ssim']), 4)} (median over rows)")
        out += (f" and its FID with {fmt(statistics.median(stds['fid']), 2)}"
                if stds["fid"] else "")
    else:
        out += "no all-image SSIM std was found"
    ssim = {r: v for r in ablation_rows(trained)
            if r in trained and (v := _metric(rows, r, "all", "ssim")) is not None}
    abl = list(ssim)
    diffs = [f"{_step_name(a, b)} {ssim[b] - ssim[a]:+.4f}"
             for a, b in zip(abl[:-1], abl[1:], strict=True)]
    if diffs:
        out += "; successive ablation rows (of those run) differ in mean SSIM by " + \
            ", ".join(diffs)
    return out + ". A difference not well above the seed std is not one between methods."


def how_to_read(inp: Inputs) -> str:
    """A few bullets, every number from the inputs: the FID floor, the interval noise,
    which of the paper's ablation gains survive, and the seed spread."""
    _, level = bootstrap_settings(inp)
    paper = inp.dataset == "cufs"    # the paper's claims are about CUFS
    bullets = [_floor_bullet(inp.floor, inp.rows, inp.subsets),
               _noise_bullet(inp.rows, inp.trained, level, inp.subsets),
               _ablation_bullet(inp.ablation) if paper else "",
               _seeds_bullet(inp.rows, inp.trained)]
    return "\n".join(["## How to read these tables", "",
                      *(f"- {b}" for b in bullets if b)]) + "\n"
