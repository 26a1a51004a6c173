"""The report stage on a small fixture tree: tables, deltas, missing rows, figures,
provenance, atomic outputs; seeds (mean ± std), bootstrap intervals, the FID floor and
the ablation tests; and the published values against method.md."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fss import published as pub
from fss.evaluation.results import (
    ABLATION_SCHEMA,
    EVALUATION_SCHEMA,
    RECOGNITION_SCHEMA,
    TRAINING_SCHEMA,
)
from fss.paths import read_paths
from fss.report import (
    LABEL_H,
    STAR,
    Line,
    cell,
    compare_table,
    deviations,
    figure_grid,
    figure_ids,
    kid_cell,
    seeds_note,
    weights_hash,
    write_report,
)
from fss.report.summaries import Group, Numbers

# as tests/conftest.py's (imported from there, the module would need the repo root on
# sys.path, which a plain `pytest tests/test_report.py` does not give)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

SIZE = 16
# where the tree's files lie: the repository's own paths section (a hand-made tree
# without a params file passes them)
REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
PATHS = read_paths(REPO_PARAMS)
IDS = {"cuhk": ["cuhk-a", "cuhk-b", "cuhk-c"], "ar": ["ar-a", "ar-b"],
       "xm2vts": ["xm-a", "xm-b", "xm-c"]}
PARAMS = {
    "meta": {"profile": "cpu"}, "align": {"size": SIZE}, "data": {"source": "auto"},
    "model": {"ngf": 16, "n_blocks": 6}, "loss": {"perceptual": {"backbone": "vgg16"}},
    "train": {"epochs": 12, "epochs_decay": 6, "iters_per_epoch": 67},
    "ablation": ["cut", "rcs", "dss", "mask", "fss"], "baselines": ["pix2pix", "cyclegan"],
    "paths": yaml.safe_load(REPO_PARAMS.read_text())["paths"],
}


def _metrics(row: str, kind: str, fid: float, ssim: float, psnr: float, seed: int | None = 0
             ) -> dict:
    """An evaluate-stage file: KID = FID / 10 (x 1000) with spread 1.5; intervals ±0.01
    SSIM, ±0.5 dB PSNR; scikit-image's SSIM 0.05 above the Gaussian one; FSIM 0.7,
    LPIPS 0.3, DISTS 0.2 with ±0.02 intervals."""
    sub = {"n": 3, "fid": fid, "kid": fid / 10, "kid_spread": 1.5, "ssim": ssim, "psnr": psnr,
           "ssim_ci": [ssim - 0.01, ssim + 0.01], "psnr_ci": [psnr - 0.5, psnr + 0.5],
           "ssim_skimage": ssim + 0.05, "fsim": 0.7, "fsim_ci": [0.68, 0.72],
           "lpips": 0.3, "lpips_ci": [0.28, 0.32], "dists": 0.2, "dists_ci": [0.18, 0.22],
           "ssim_face": 0.5, "psnr_face": 15.0, "ssim_hair": 0.4, "psnr_hair": 14.0}
    return {"schema": EVALUATION_SCHEMA, "row": row, "seed": seed, "kind": kind,
            "profile": "cpu", "image_size": SIZE,
            "subsets": {s: dict(sub) for s in pub.SUBSETS}, "all": {**sub, "n": 8}}


def _probe(all_: float, cuhk: float, ar: float, xm2vts: float) -> dict:
    """A recognition probe: rates with ±0.05 intervals."""
    rates = {"all": all_, "cuhk": cuhk, "ar": ar, "xm2vts": xm2vts}
    return {**rates, **{f"{k}_ci": [v - 0.05, v + 0.05] for k, v in rates.items()}}


def _train(seconds: float, l1_last: float) -> dict:
    return {"schema": TRAINING_SCHEMA, "row": "fss", "epochs": 12, "iters_per_epoch": 67,
            "steps_per_epoch": 67, "device": "cpu", "world_size": 1, "precision": "fp32",
            "channels_last": False,
            "l1_first_epoch": 0.58, "l1_last_epoch": l1_last, "l1_ratio": 0.776,
            "seconds_per_iter": 0.2, "seconds_this_run": seconds, "final": {"L1": l1_last}}


def _recognition() -> dict:
    """A recognize-stage file: the test photos, fss and cut (seed 0) as probes."""
    return {
        "schema": RECOGNITION_SCHEMA, "gallery": "real test sketches", "n_gallery": 8,
        "metric": "rank-1",
        "probes": {"test_photos": _probe(0.85, 0.9, 0.8, 0.84),
                   "fss/seed0": _probe(0.5, 0.6, 0.4, 0.5),
                   "cut/seed0": _probe(0.2, 0.2, 0.2, 0.2)},
        "probes_mtcnn": {"test_photos": _probe(0.8, 0.8, 0.8, 0.8),
                         "fss/seed0": _probe(0.45, 0.5, 0.4, 0.45),
                         "cut/seed0": _probe(0.1, 0.1, 0.1, 0.1)},
        "detectable": {"gallery": _probe(1.0, 1.0, 1.0, 1.0),
                       "test_photos": _probe(1.0, 1.0, 1.0, 1.0),
                       "fss/seed0": _probe(0.975, 1.0, 1.0, 0.9),
                       "cut/seed0": _probe(0.5, 0.5, 0.5, 0.5)},
        "crop": {"box": [44.1, 35.4, 83.9, 93.3], "size": SIZE, "crop_size": 160,
                 "margin": 32, "box_eye_distances": [-1.09, -1.14, 1.09, 1.81]},
        "crop_fallbacks": {"gallery": 0, "test_photos": 0, "fss/seed0": 1, "cut/seed0": 4}}


# The real-sketch floor: FSS's FID (60) is below XM2VTS's floor, above the others.
FLOOR = {"schema": EVALUATION_SCHEMA, "row": "floor", "kind": "reference", "profile": "cpu",
         "image_size": SIZE,
         "subsets": {"cuhk": {"n": 3, "n_train": 5, "fid": 41.83, "kid": 11.04,
                              "kid_spread": 2.1},
                     "ar": {"n": 2, "n_train": 4, "fid": 50.2, "kid": 9.5, "kid_spread": 1.0},
                     "xm2vts": {"n": 3, "n_train": 6, "fid": 65.0, "kid": 8.25,
                                "kid_spread": 0.5}},
         "all": {"n": 8, "n_train": 15, "fid": 30.0, "kid": 7.0, "kid_spread": 0.4}}


def _d(diff: float, lo: float, hi: float) -> dict:
    return {"diff": diff, "ci": [lo, hi], "significant": lo > 0 or hi < 0}


def _sig(d: float) -> dict:
    """An interval around ``d`` that excludes 0."""
    return _d(d, *sorted((d / 2, 3 * d / 2)))


def _noise(d: float) -> dict:
    """An interval around ``d`` that holds 0."""
    return _d(d, -abs(d), 2 * abs(d))


def _pair(a: str, b: str, ssim: dict, psnr: dict) -> dict:
    """ssim / psnr: subset -> entry; every subset's rank-1 is inside the noise."""
    subs = {s: {"n": 3, "ssim": ssim[s], "psnr": psnr[s], "rank1": _noise(0.02)}
            for s in (*pub.SUBSETS, "all")}
    return {"from": a, "to": b, "subsets": subs}


# The paper's Table 3 shows a gain in every SSIM/PSNR cell of these three steps except
# rcs -> dss on AR SSIM (0.6030 -> 0.5991): 17 claimed gains of 18 cells. Ours: 5 claimed
# gains significant (cut->rcs SSIM CUHK/XM2VTS, mask->fss SSIM CUHK, PSNR CUHK/XM2VTS),
# 1 reversed (cut->rcs PSNR XM2VTS), 11 inside the noise; rcs->dss AR SSIM is significant
# but not a claim, and the "all" lines are not claims either.
ABLATION = {
    "schema": ABLATION_SCHEMA,
    "method": "paired bootstrap over test images", "levels": ["images"], "resamples": 200,
    "level": 0.9,
    "seed": 0, "seeds": {r: [0] for r in ("cut", "rcs", "dss", "mask", "fss")},
    "pairs": [
        _pair("cut", "rcs",
              {"cuhk": _d(0.0123, 0.005, 0.019), "ar": _noise(0.01), "xm2vts": _sig(0.02),
               "all": _sig(0.01)},
              {"cuhk": _noise(0.1), "ar": _noise(0.1), "xm2vts": _sig(-0.3), "all": _noise(0.1)}),
        _pair("rcs", "dss",
              {"cuhk": _noise(0.01), "ar": _sig(0.01), "xm2vts": _noise(0.01), "all": _noise(0.01)},
              {"cuhk": _noise(0.1), "ar": _noise(0.1), "xm2vts": _noise(0.1), "all": _noise(0.1)}),
        _pair("mask", "fss",
              {"cuhk": _sig(0.03), "ar": _noise(0.01), "xm2vts": _noise(0.01), "all": _sig(0.02)},
              {"cuhk": _sig(0.5), "ar": _noise(0.1), "xm2vts": _sig(0.4), "all": _sig(0.3)}),
    ],
}


def _png(path: Path, value: int, rgb: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (SIZE, SIZE, 3) if rgb else (SIZE, SIZE)
    Image.fromarray(np.full(shape, value, np.uint8)).save(path)


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    m = root / "metrics"
    # rcs, dss, mask, cyclegan and mean_sketch are "not run"; every trained row: seed 0
    _write(m / "cut" / "seed0.json", _metrics("cut", "trained", 90.0, 0.6, 16.0))
    _write(m / "fss" / "seed0.json", _metrics("fss", "trained", 60.0, 0.62, 18.0))
    _write(m / "pix2pix" / "seed0.json", _metrics("pix2pix", "trained", 80.0, 0.5, 17.0))
    _write(m / "photo.json", _metrics("photo", "reference", 200.0, 0.3, 10.0, seed=None))
    _write(m / "fid_floor.json", FLOOR)
    _write(m / "ablation_tests.json", ABLATION)
    _write(m / "recognition.json", _recognition())
    _write(m / "train" / "fss" / "seed0.json", _train(160.0, 0.45))
    _write(m / "pretrain_rcs.json", {"test_face_iou": 0.81, "test_hair_iou": 0.55, "epochs": 15,
                            "size": [SIZE, SIZE]})
    with open(root / "data" / "raw" / "manifest.csv", "w") as f:
        f.write("id,photo_sha256,sketch_sha256\n" + "".join(f"p{i},aa,bb\n" for i in range(5)))
    (root / "data" / "raw" / "source.csv").write_text("key,value\nkind,real\npairs,5\n")
    write_test_split(root, IDS, [("cuhk-train", "cuhk")])
    return root


def write_test_split(root: Path, ids: dict, train: list = ()) -> None:
    """data/splits.csv with ``ids`` (subset -> test ids) and ``train`` ((id, subset)),
    and a test image of each id: photo, real sketch and the cut, fss and photo rows'."""
    with open(root / "data" / "splits.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "subset", "split", "photo", "sketch"])
        for i, s in train:
            w.writerow([i, s, "train", "", ""])
        for s, test in ids.items():
            for i in test:
                w.writerow([i, s, "test", f"data/aligned/photos/{i}.png", ""])
                _png(root / "data" / "aligned" / "photos" / f"{i}.png", 200, rgb=True)
                _png(root / "data" / "aligned" / "sketches" / f"{i}.png", 230)
                for run in ("cut/seed0", "fss/seed0", "photo"):
                    _png(root / "results" / run / s / f"{i}.png", 100)


@pytest.fixture
def report(tree: Path) -> tuple[Path, str]:
    out = tree / "reports"
    (out / "baselines").mkdir(parents=True)
    (out / "baselines" / "keep.txt").write_text("committed")
    path = write_report(tree, out)
    return out, path.read_text()


def _line(text: str, start: str) -> str:
    """The first table line of ``text`` that starts with ``| start |``."""
    return next(ln for ln in text.splitlines() if ln.startswith(f"| {start} |"))


def test_table3_ours_paper_and_delta(report):
    _, text = report
    cuhk = text.split("### CUHK", 1)[1]
    cut = _line(cuhk, "CUT")
    assert "| 90.00 | 81.24 | +8.76 (worse) |" in cut  # FID: lower is better
    # SSIM: higher is better; ours with its interval, Δ on the value
    assert "| 0.6000 [0.5900, 0.6100] | 0.5436 | +0.0564 (better) |" in cut
    assert "| 16.00 [15.50, 16.50] | 16.89 | -0.89 (worse) |" in cut
    assert "## Table 3" in text and "Tables 4-6" in text


def test_missing_rows_and_published_only(report):
    _, text = report
    # the rcs row has no metrics file in this fixture
    assert "| W/ RCS | not run | 77.49 | — |" in text.split("### CUHK", 1)[1]
    t4 = text.split("### Table 4", 1)[1].split("### Table 5", 1)[0]
    assert _line(t4, "MDAL *(published only)*").startswith(
        "| MDAL *(published only)* | published only | 66.87 | — |")
    assert "| CycleGAN | not run | 60.13 |" in t4
    assert "photo (grayscale test photo) *(reference)*" in t4
    assert "| FSS | 60.00 | 53.33 | +6.67 (worse) |" in t4
    # Table 5 uses the paper's own FSS AR SSIM (0.6340), Table 3 its 0.6342
    assert "0.6340" in _line(text.split("### Table 5", 1)[1], "FSS")


def test_table7_in_percent(report):
    _, text = report
    t7 = text.split("## Table 7", 1)[1]
    assert _line(t7, "Test set (photos)") == (
        "| Test set (photos) | 85.00 [80.00, 90.00] | 85.20 | -0.20 (worse) | "
        "90.00 [85.00, 95.00] | 80.00 [75.00, 85.00] | 84.00 [79.00, 89.00] | "
        "80.00 [75.00, 85.00] | 100.0 [95.0, 105.0] |")
    # the probe "fss/seed0" is the FSS row's; then its MTCNN-crop rank-1 and detectable %
    assert _line(t7, "FSS").startswith("| FSS | 50.00 [45.00, 55.00] | 90.54 | "
                                       "-40.54 (worse) |")
    assert _line(t7, "FSS").endswith("| 45.00 [40.00, 50.00] | 97.5 [92.5, 102.5] |")
    assert _line(t7, "pix2pix").startswith("| pix2pix | not run | 88.82 |")
    assert "rank-1 % (MTCNN crop) ours | detectable % |" in t7
    assert "one fixed box (44.1, 35.4, 83.9, 93.3 px of the 16 px aligned image" in t7
    assert "| T2V *(published only)* | published only | 68.48 |" in t7
    rows = [line.split("|")[1].strip() for line in t7.split("## ", 1)[0].splitlines()
            if line.startswith("| ") and not line.startswith("| probe")]
    assert len(rows) == len(set(rows)) and "CUT" in rows   # each probe once


def test_figures_have_the_grid_size(report):
    out, text = report
    ablation = np.asarray(Image.open(out / "figures" / "ablation.png"))
    lines = sum(min(2, len(v)) for v in IDS.values())  # first two test ids per subset
    # photo | real | cut | fss (rcs, dss, mask have no results)
    assert ablation.shape == (LABEL_H + lines * SIZE, 4 * SIZE, 3)
    comparison = np.asarray(Image.open(out / "figures" / "comparison.png"))
    assert comparison.shape == (LABEL_H + lines * SIZE, 4 * SIZE, 3)  # photo|real|fss|photo
    assert "figures/ablation.png" in text and "figures/comparison.png" in text
    assert "cuhk-a, cuhk-b, ar-a, ar-b, xm-a, xm-b" in text


def test_provenance_and_deviations(report):
    _, text = report
    assert "profile **cpu** (16x16, 12 epochs" in text
    prov = text.split("## Provenance", 1)[1]
    assert re.search(r"sha256 [0-9a-f]{12} \(FID\)", prov)
    assert "10 files in 5 manifest entries" in prov
    assert "kind real" in prov
    dev = text.split("## Deviations from the paper", 1)[1]
    assert "image size: 16 (paper: 256)" in dev and "epochs: 12 (paper: 400)" in dev
    assert "vgg16 (paper: vgg19)" in dev and "image history buffer" in dev
    assert weights_hash("no_such_weights") == "missing"


def test_how_far_and_beyond(report):
    _, text = report
    far = text.split("## How far", 1)[1].split("## Table 3", 1)[0]
    assert "804 iterations" in far and "107,200" in far
    # mean over subsets of ours - paper for FSS FID: 60 - mean(53.33, 62.33, 30.47)
    assert f"FID {60 - (53.33 + 62.33 + 30.47) / 3:+.2f} (worse)" in far
    assert "Subsets where our FSS beats our CUT" in far
    assert "SSIM / PSNR within the face and hair regions" in text
    assert "0.5800 → 0.4500" in text and "IoU" in text


def test_outputs_atomic_and_rerun(report, tree):
    out, _ = report
    write_report(tree, out)  # a second run replaces both outputs
    assert sorted(p.name for p in out.iterdir()) == ["baselines", "figures", "report.md"]
    assert (out / "baselines" / "keep.txt").read_text() == "committed"
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["ablation.png",
                                                                   "comparison.png"]


def test_empty_tree_still_renders(tmp_path):
    text = write_report(tmp_path, tmp_path / "reports", PATHS).read_text()
    assert "| CUT | not run | 81.24 | — |" in text
    assert "the recognize stage has not run" in text and "No figures" in text
    assert "the fid_reference stage has not run" in text
    assert "the ablation_tests stage has not run" in text


def test_figure_grid_and_ids():
    tiles = [[np.zeros((8, 8), np.uint8), None], [np.full((4, 4, 3), 9, np.uint8), None]]
    g = figure_grid(tiles, ["a", "b"], 8)
    assert g.shape == (LABEL_H + 16, 16, 3)
    assert (g[LABEL_H:, 8:] == 128).all()  # missing = grey
    with pytest.raises(ValueError):
        figure_grid([[None]], ["a", "b"], 8)
    assert figure_ids({"ar": ["x", "y", "z"]}) == [("ar", "x"), ("ar", "y")]


def test_compare_table_directions():
    lines = compare_table([Line("fss", Group({"fid": 50.0}), {"fid": 53.33})], ["fid"])
    assert lines[-1] == "| FSS | 50.00 | 53.33 | -3.33 (better) |"
    assert deviations({"align": {"size": 256}, "train": {"epochs": 400}})[0].startswith("RCS")


def test_published_spot_checks():
    assert pub.TABLE3["cut"]["cuhk"] == {"fid": 81.24, "psnr": 16.89, "ssim": 0.5436}
    assert pub.TABLE3["fss"]["xm2vts"]["fid"] == 30.47
    assert pub.TABLE3["fss"]["ar"]["ssim"] == 0.6342
    assert pub.TABLES4_6["fss"]["ar"]["ssim"] == 0.6340
    assert pub.TABLES4_6["pix2pix"]["ar"]["fid"] == 103.66
    assert pub.TABLES4_6["fsgan"]["xm2vts"]["ssim"] == 0.4726
    assert pub.TABLES4_6["dif_fusion"]["cuhk"]["psnr"] == 18.81
    assert pub.TABLE7["test_photos"] == 85.20 and pub.TABLE7["fss"] == 90.54
    assert pub.PUBLISHED_ONLY == {"mdal", "facesketchwild", "fsgan", "t2v", "dif_fusion"}
    assert set(pub.TABLE7) == set(pub.RECOGNITION_METHODS)


def _triples(cells: list[str]) -> list[tuple[float, ...]]:
    return [tuple(float(x) for x in c.split("/")) for c in cells]


def test_published_matches_method_md():
    md = SHARED / "docs" / "method.md"
    if not md.is_file():
        pytest.skip("../shared/docs/method.md not found")
    text = md.read_text().split("## Published values to reproduce", 1)[1]
    t3, rest = text.split("Tables 4-6", 1)
    t46, t7 = rest.split("Table 7", 1)
    cells = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]]
             for ln in text.splitlines() if ln.startswith("| ") and "/" in ln}
    subset_of = {"CUHK": "cuhk", "AR": "ar", "XM2VTS": "xm2vts"}
    for name, s in subset_of.items():
        got = _triples(next(ln for ln in t3.splitlines() if ln.startswith(f"| {name} |"))
                       .split("|")[2:-1])
        want = [(pub.TABLE3[r][s]["fid"], pub.TABLE3[r][s]["psnr"], pub.TABLE3[r][s]["ssim"])
                for r in pub.TABLE3]
        assert got == want, name
    for r in pub.COMPARISON_METHODS:
        ln = next(ln for ln in t46.splitlines() if ln.startswith(f"| {pub.NAMES[r]} |"))
        got = _triples(ln.split("|")[2:-1])
        assert got == [tuple(pub.TABLES4_6[r][s][k] for k in ("fid", "ssim", "psnr"))
                       for s in pub.SUBSETS], r
    assert cells  # the tables were found at all
    names = {"test set": "test_photos", "CycleGAN": "cyclegan", "pix2pix": "pix2pix",
             "MDAL": "mdal", "T2V": "t2v", "Dif-Fusion": "dif_fusion", "FSS": "fss"}
    flat = " ".join(t7.split())
    for name, key in names.items():
        assert re.search(rf"{re.escape(name)} {pub.TABLE7[key]:.2f}\b", flat), name


# ---------------------------------------------------------------- seeds, intervals, floor


def test_cell_formats_std_then_interval_then_plain():
    assert cell(Numbers({"ssim": 0.612}, {}, {"ssim": (0.601, 0.623)}), "ssim", 3) == \
        "0.612 [0.601, 0.623]"
    # with several seeds the std wins (per-run intervals are gone by then anyway)
    assert cell(Numbers({"ssim": 0.612}, {"ssim": 0.004}, {"ssim": (0.6, 0.62)}), "ssim",
                3) == "0.612 ± 0.004"
    assert cell(Numbers({"ssim": 0.612}), "ssim", 4) == "0.6120"
    assert cell(Numbers({}), "ssim", 4) == cell(None, "ssim", 4) == "—"
    assert cell(Numbers({"all": 0.5}, {}, {"all": (0.45, 0.55)}), "all", 2, 100.0) == \
        "50.00 [45.00, 55.00]"
    # KID: kid_spread is its spread over KID subsets, KID's std over seeds after it
    assert kid_cell(Numbers({"kid": 40.1, "kid_spread": 3.2})) == "40.10 ± 3.20"
    assert kid_cell(Numbers({"kid": 40.1, "kid_spread": 3.2}, {"kid": 1.0})) == \
        "40.10 ± 3.20 (seeds ± 1.00)"


def test_floor_line_and_kid_column(report):
    _, text = report
    t3_cuhk = text.split("## Table 3", 1)[1].split("### CUHK", 1)[1].split("###", 1)[0]
    c, k = FLOOR["subsets"]["cuhk"], "real sketches (floor) *(reference)*"
    assert _line(t3_cuhk, k) == (f"| {k} | {c['fid']:.2f} | — | — | {c['kid']:.2f} ± "
                                 f"{c['kid_spread']:.2f} | — | — | — | — | — | — | — | — | — |")
    # the table's metrics the paper lacks: ours only, after the paper's columns
    assert "| SSIM ↑ ours | SSIM ↑ (paper) | Δ | FSIM ↑ ours | LPIPS ↓ ours | DISTS ↓ ours |" \
        in t3_cuhk
    legend = text.split("## Table 3", 1)[1].split("### CUHK", 1)[0]
    assert "Size: 16×16, not the paper's 256×256" in legend
    assert "replicated to 3 channels" in legend and "11×11 Gaussian window" in legend
    assert _line(t3_cuhk, "FSS").endswith(
        "| 0.7000 [0.6800, 0.7200] | 0.3000 [0.2800, 0.3200] | 0.2000 [0.1800, 0.2200] |")
    # KID: ours only (the paper has none), right after FID's Δ
    assert "| Δ | KID×1000 ↓ ours | PSNR ↑ ours |" in t3_cuhk
    assert "| +6.67 (worse) | 6.00 ± 1.50 | 18.00 [17.50, 18.50] |" in _line(t3_cuhk, "FSS")
    t6 = text.split("### Table 6", 1)[1].split("## ", 1)[0]
    x = FLOOR["subsets"]["xm2vts"]
    assert _line(t6, k).startswith(f"| {k} | {x['fid']:.2f} | — | — | {x['kid']:.2f} ± ")
    assert "| Δ | KID×1000 ↓ ours | SSIM ↑ ours |" in t6
    assert _line(t6, "MDAL *(published only)*").startswith(
        "| MDAL *(published only)* | published only | 44.41 | — | — |")  # no KID to show
    everything = text.split("### All test images together", 1)[1]
    assert _line(everything, k).startswith(f"| {k} | 8 | {FLOOR['all']['fid']:.2f} |")


def _ablation_cells(text: str) -> list[tuple[str, str, list[str]]]:
    """(step, subset, [ΔSSIM, ΔPSNR, Δrank-1]) of every line of the ablation table."""
    sec = text.split("## Are the ablation steps real?", 1)[1].split("\n## ", 1)[0]
    out = []
    for ln in sec.splitlines():
        cells = [c.strip() for c in ln.split("|")[1:-1]]
        if ln.startswith("| ") and cells[0] != "step":
            out.append((cells[0], cells[1], cells[3:6]))
    return out


def test_ablation_section_marks_exactly_the_significant(report):
    _, text = report
    lines = _ablation_cells(text)
    want = {(f"{pub.NAMES[p['from']]} → {pub.NAMES[p['to']]}", pub.SUBSET_NAMES[s]):
            [d[k]["significant"] for k in ("ssim", "psnr", "rank1")]
            for p in ABLATION["pairs"] for s, d in p["subsets"].items()}
    assert len(lines) == len(want) == 12
    for step, subset, cells in lines:
        assert [c.endswith(STAR) for c in cells] == want[(step, subset)], (step, subset)
    assert ("| CUT → W/ RCS | CUHK | 3 | +0.0123 [0.0050, 0.0190] ✱ | +0.10 [-0.10, 0.20] | "
            "+2.00 [-2.00, 4.00] | SSIM +0.0285, PSNR +0.31 |") in text
    sec = text.split("## Are the ablation steps real?", 1)[1].split("\n## ", 1)[0]
    assert "200 resamples" in sec and "90 %" in sec and "Table 3" in sec


def test_how_to_read_quotes_the_inputs(report):
    _, text = report
    assert text.index("## How to read") < text.index("## Table 3")
    how = text.split("## How to read these tables", 1)[1].split("## Table 3", 1)[0]
    for s, f in FLOOR["subsets"].items():
        assert f"≈ {f['fid']:.1f} on {pub.SUBSET_NAMES[s]}" in how
        assert f"≈ {f['kid']:.1f} × 10⁻³ on {pub.SUBSET_NAMES[s]}" in how
    assert "FID ≈ 41.8 on CUHK" in how
    assert "FSS on XM2VTS (60.00 ≤ 65.00)" in how  # the one row under its floor
    # the paper's gains (its Table 3 b > a) and which of them our test finds significant
    claims = [(p, s, k) for p in ABLATION["pairs"] for s in pub.SUBSETS for k in ("ssim", "psnr")
              if pub.TABLE3[p["to"]][s][k] > pub.TABLE3[p["from"]][s][k]]
    sig = [c for c in claims if (d := c[0]["subsets"][c[1]][c[2]])["significant"]
           and d["diff"] > 0]
    rev = [c for c in claims if (d := c[0]["subsets"][c[1]][c[2]])["significant"]
           and d["diff"] < 0]
    assert (len(claims), len(sig), len(rev)) == (17, 5, 1)  # the fixture is what it says
    assert f"gain in {len(claims)} of the 18 SSIM/PSNR" in how
    assert f"{len(sig)} of those {len(claims)} claimed gains survive our test, which " \
           "resamples test images only (one training run per row) (CUT → W/ RCS: SSIM " \
           "CUHK/XM2VTS; W/ Mask → FSS: SSIM CUHK, PSNR CUHK/XM2VTS)" in how
    assert f"{len(claims) - len(sig) - len(rev)} are inside the noise" in how
    assert f"{len(rev)} significantly reversed (CUT → W/ RCS: PSNR XM2VTS)" in how
    # interval half-widths: every fixture row has ±0.01 SSIM, ±0.5 dB PSNR; level 0.9
    assert "±0.0100 SSIM and ±0.50 dB PSNR on CUHK" in how and "90 % bootstrap" in how
    assert "**Seeds.**" not in how  # one seed: the caveat instead
    assert "**One training run per row.**" in how and "not training randomness" in how


def test_missing_floor_and_ablation_say_not_run(tree):
    (tree / "metrics" / "fid_floor.json").unlink()
    (tree / "metrics" / "ablation_tests.json").unlink()
    text = write_report(tree, tree / "reports").read_text()
    how = text.split("## How to read these tables", 1)[1].split("## Table 3", 1)[0]
    assert "the fid_reference stage has not run" in how
    assert "the ablation_tests stage has not run" in how
    abl = text.split("## Are the ablation steps real?", 1)[1].split("\n## ", 1)[0]
    assert "No ablation tests: the ablation_tests stage has not run" in abl
    t3 = text.split("## Table 3", 1)[1].split("### CUHK", 1)[1]
    assert _line(t3, "real sketches (floor) *(reference)*").startswith(
        "| real sketches (floor) *(reference)* | not run | — | — | not run |")


def test_two_seeds_render_mean_and_std(tree, tmp_path):
    m = tree / "metrics"
    _write(m / "fss" / "seed1.json", _metrics("fss", "trained", 64.0, 0.64, 20.0, seed=1))
    _write(m / "train" / "fss" / "seed1.json", _train(200.0, 0.35))
    rec = json.loads((m / "recognition.json").read_text())
    rec["probes"]["fss/seed1"] = _probe(0.7, 0.8, 0.6, 0.7)
    _write(m / "recognition.json", rec)
    for s, ids in IDS.items():  # seed 1's images differ: the figures must show seed 0's
        for i in ids:
            _png(tree / "results" / "fss" / "seed1" / s / f"{i}.png", 50)
    out = tmp_path / "out"
    text = write_report(tree, out).read_text()

    def ms(a: float, b: float, d: int) -> str:
        return f"{(a + b) / 2:.{d}f} ± {abs(a - b) / 2 ** 0.5:.{d}f}"  # mean ± sample std

    fss = _line(text.split("## Table 3", 1)[1].split("### CUHK", 1)[1], "FSS")
    assert (f"| FSS | {ms(60, 64, 2)} | 53.33 | {62 - 53.33:+.2f} (worse) | "
            f"{(6.0 + 6.4) / 2:.2f} ± 1.50 (seeds ± {0.4 / 2 ** 0.5:.2f}) | "
            f"{ms(18, 20, 2)} | 18.57 | {19 - 18.57:+.2f} (better) | "
            f"{ms(0.62, 0.64, 4)} | 0.6357 | {0.63 - 0.6357:+.4f} (worse) | "
            "0.7000 ± 0.0000 | 0.3000 ± 0.0000 | 0.2000 ± 0.0000 |") == fss
    assert "0.6300 ± 0.0141" in fss and "62.00 ± 2.83" in fss
    assert "Mean ± std over seeds for FSS (seeds 0, 1); the other rows ran once." in text
    t7 = text.split("## Table 7", 1)[1]
    assert _line(t7, "FSS").startswith(f"| FSS | {ms(50, 70, 2)} | 90.54 | "
                                       f"{60 - 90.54:+.2f} (worse) | {ms(60, 80, 2)} |")
    assert _line(t7, "CUT").startswith("| CUT | 20.00 [15.00, 25.00] |")  # one seed: interval
    train = text.split("### Training", 1)[1]
    assert _line(train, "FSS").endswith(
        f"| 0.5800 ± 0.0000 → {ms(0.45, 0.35, 4)} | 0.776 ± 0.000 | {ms(160, 200, 0)} |")
    # the "How far" gap and the profile checks work on the means (16.0 is still size 16)
    far = text.split("## How far", 1)[1].split("## How to read", 1)[0]
    assert f"FID {62 - (53.33 + 62.33 + 30.47) / 3:+.2f} (worse)" in far
    assert "**Warning:**" not in text
    how = text.split("## How to read these tables", 1)[1].split("## Table 3", 1)[0]
    assert f"**Seeds.** Over seeds 0, 1, a row's all-image SSIM varies with a std of " \
           f"{0.02 / 2 ** 0.5:.4f}" in how
    assert "FSS 0, 1" in text.split("## Provenance", 1)[1]
    ablation = np.asarray(Image.open(out / "figures" / "ablation.png"))
    assert (ablation[LABEL_H:, 3 * SIZE:4 * SIZE] == 100).all()  # FSS column: seed 0


def test_recognition_summarises_probes_by_row():
    from fss.evaluation.results import RecognitionRecord
    from fss.report.summaries import RecognitionResults

    probes = {"test_photos": {"all": 0.8}, "fss/seed0": {"all": 0.5, "all_ci": [0.4, 0.6]},
              "fss/seed2": {"all": 0.7, "all_ci": [0.6, 0.8]}, "cut/seed0": {"all": 0.2}}
    rec = RecognitionRecord.from_json(
        {**_recognition(), "probes": probes, "probes_mtcnn": probes}, "recognition.json")
    out = RecognitionResults.of(rec)
    assert list(out.probes) == ["test_photos", "fss", "cut"]
    assert out.probes["fss"].value("all") == pytest.approx(0.6)
    assert out.probes["fss"].std("all") == pytest.approx(0.2 / 2 ** 0.5, abs=1e-6)
    assert out.seeds == {"fss": (0, 2), "cut": (0,)}
    # several seeds: the per-run intervals go; one run keeps its value and interval
    assert out.probes["fss"].ci("all") is None and out.probes["cut"].value("all") == 0.2
    assert out.probes["test_photos"] == Numbers({"all": 0.8})


def test_seeds_note_names_the_seeds():
    # the references carry no seeds and do not make the note "mixed"
    assert seeds_note({"cut": (0, 1), "fss": (0, 1), "photo": ()}) == \
        "Mean ± std over seeds 0, 1."
    assert seeds_note({"cut": (0,)}) == ""
    assert seeds_note({"cut": (0, 1), "fss": (0,)}) == \
        "Mean ± std over seeds for CUT (seeds 0, 1); the other rows ran once."


def test_summary_is_short_and_has_the_headlines(tree):
    from typer.testing import CliRunner

    from fss.cli import app

    r = CliRunner().invoke(app, ["summary", "--root", str(tree)])
    assert r.exit_code == 0, r.output
    text = r.output
    assert len(text.splitlines()) < 30
    fss_cuhk = next(ln for ln in text.splitlines() if ln.strip().startswith("FSS CUHK"))
    assert fss_cuhk.split()[2:] == ["60.00", "18.00", "0.6200", "0.7000", "0.3000", "0.2000"]
    assert "(paper)" in text and "53.33" in text
    assert "Table 7 (rank-1 %, fixed crop): Test set (photos) 85.0 (paper 85.2)" in text
    assert "FSS 50.0 (paper 90.5)" in text
    assert "5 of the paper's 17 claimed SSIM/PSNR gains survive" in text
    assert text.rstrip().endswith(f"Full report: {tree / 'reports' / 'report.md'}")


def test_metrics_a_file_lacks_render_as_dashes(tree):
    """An evaluation of this schema without FSIM/LPIPS/DISTS (evaluate.perceptual off)."""
    m = tree / "metrics"
    for f in (m / "cut" / "seed0.json", m / "fss" / "seed0.json"):
        d = json.loads(f.read_text())
        for sub in [*d["subsets"].values(), d["all"]]:
            for k in ("fsim", "fsim_ci", "lpips", "lpips_ci", "dists", "dists_ci"):
                sub.pop(k)
        _write(f, d)
    text = write_report(tree, tree / "reports").read_text()
    assert _line(text.split("### CUHK", 1)[1], "FSS").endswith("| — | — | — |")


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("schema"), "older or unknown schema (no schema field"),
    (lambda d: d.update(schema="fss.evaluation/1"), "schema 'fss.evaluation/1'"),
    # the unversioned files' name for KID's spread over KID subsets
    (lambda d: d["subsets"]["cuhk"].update(kid_std=1.5), "cuhk: unknown metric 'kid_std'"),
    (lambda d: d["all"].update(ssim="high"), "all: ssim is not a number"),
    (lambda d: d["all"].update(ssim_ci=[0.5]), "all: ssim_ci is not [lo, hi]"),
    (lambda d: d.update(seed="0"), "seed is not int"),
])
def test_an_evaluation_not_of_this_schema_stops_the_report_in_one_line(tree, change, words):
    _refused(tree, tree / "metrics" / "fss" / "seed0.json", change, words)


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("schema"), "recognition file of an older or unknown schema"),
    # written before the fixed crop: rank-1 on each image's own MTCNN box only
    (lambda d: [d.pop(k) for k in ("probes_mtcnn", "detectable", "crop")], "missing crop"),
    (lambda d: d["probes"]["fss/seed0"].update(all=1.5), "probes.fss/seed0: all is not a rate"),
    (lambda d: d["crop"].update(box=[1, 2]), "crop is not a fixed crop"),
])
def test_a_recognition_file_not_of_this_schema_stops_the_report_in_one_line(tree, change,
                                                                            words):
    _refused(tree, tree / "metrics" / "recognition.json", change, words)


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("schema"), "ablation tests of an older or unknown schema"),
    # the one-seed files' seeds: one list for every row
    (lambda d: d.update(seeds=[0]), "seeds is not a list of seeds per row"),
    (lambda d: d["pairs"][0]["subsets"]["cuhk"].update(fid={"diff": 1}),
     "pairs[0].cuhk: 'fid' is not a tested metric"),
    (lambda d: d["pairs"][0]["subsets"]["cuhk"]["ssim"].pop("ci"),
     "pairs[0].cuhk.ssim: not a test"),
    (lambda d: d.update(level=95), "level is not in (0, 1)"),
])
def test_ablation_tests_not_of_this_schema_stop_the_report_in_one_line(tree, change, words):
    _refused(tree, tree / "metrics" / "ablation_tests.json", change, words)


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("schema"), "training summary of an older or unknown schema"),
    (lambda d: d.pop("steps_per_epoch"), "missing steps_per_epoch"),
    (lambda d: d["final"].update(L1="low"), "final is not the last epoch's losses"),
    (lambda d: d.update(epochs=-1), "epochs is not a count"),
])
def test_a_training_summary_not_of_this_schema_stops_the_report_in_one_line(tree, change,
                                                                            words):
    _refused(tree, tree / "metrics" / "train" / "fss" / "seed0.json", change, words)


def _refused(tree, f, change, words):
    from typer.testing import CliRunner

    from fss.cli import app

    d = json.loads(f.read_text())
    change(d)
    _write(f, d)
    r = CliRunner().invoke(app, ["summary", "--root", str(tree)])
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output
    assert str(f) in r.output and words in r.output


def test_dss_share_table_states_the_doubled_share_per_layer():
    from fss.report.summaries import TrainingRuns
    from fss.report.tables import dss_share_table

    def runs(final: dict, stds: dict | None = None) -> TrainingRuns:
        return TrainingRuns("r", (0, 1), Numbers({}), {}, Numbers(final, stds or {}))

    train = {"cut": runs({"L1": 0.2}),
             "dss": runs({"doubled_L0": 0.312, "doubled_L16": 0.25, "L1": 0.2},
                         {"doubled_L16": 0.01})}
    text = dss_share_table(train, ["cut", "dss"])
    assert "| layer 0 | layer 16 |" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("| ") and "31.2 %" in ln)
    assert "25.0 % ± 1.0" in line
    assert not any("cut" in ln.lower() and "%" in ln for ln in text.splitlines())
    assert dss_share_table({"cut": runs({"L1": 0.2})}, ["cut"]) == ""


def test_official_cut_table_marks_the_fidelity_target():
    from fss.report.summaries import FidelityScores
    from fss.report.tables import official_cut_table

    ref = FidelityScores.from_json(
        {"config": "c", "scoring": "s",
         "subsets": {"cuhk": {"fid": 149.3, "ssim_skimage": 0.603, "psnr": 15.04},
                     "ar": {"fid": 156.3, "ssim_skimage": 0.588, "psnr": 17.19}}}, "ref")
    ours = FidelityScores.from_json(
        {"subsets": {"cuhk": {"fid": 150.0, "ssim_skimage": 0.60, "psnr": 15.0, "n": 3},
                     "ar": {"fid": 170.0, "ssim_skimage": 0.60, "psnr": 17.0}}}, "ours")
    assert set(ours.subsets["cuhk"].values) == {"fid", "ssim_skimage", "psnr"}
    text = official_cut_table(ref, ours)
    cuhk = next(ln for ln in text.splitlines() if ln.startswith("| CUHK"))
    ar = next(ln for ln in text.splitlines() if ln.startswith("| AR"))
    assert cuhk.endswith("| yes |") and "149.3 | 150.0" in cuhk
    assert ar.endswith("| **no** |")                      # FID 13.7 worse: outside 10
    assert "not run" in official_cut_table(ref, None)
    assert official_cut_table(None, ours) == ""


def test_report_reads_only_the_seeds_params_declare(tmp_path):
    """A seed file params do not declare (another run's, e.g. the committed three-seed
    run's seed 2 after a one-seed run) is neither averaged in nor listed as read."""
    from fss.report.inputs import load_inputs

    root = tmp_path / "repo"
    params = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())
    params["train"]["seeds"] = [0, 1]
    params["train"]["baseline_seeds"] = [0]
    root.mkdir()
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    m = root / "metrics"
    for seed, fid in ((0, 90.0), (1, 100.0), (2, 500.0)):
        _write(m / "cut" / f"seed{seed}.json", _metrics("cut", "trained", fid, 0.6, 16.0,
                                                         seed=seed))
        _write(m / "pix2pix" / f"seed{seed}.json", _metrics("pix2pix", "trained", fid, 0.5,
                                                             17.0, seed=seed))
    inp = load_inputs(root)
    assert inp.rows["cut"].seeds == (0, 1)
    assert inp.rows["cut"].group("cuhk").value("fid") == pytest.approx(95.0)
    assert inp.rows["pix2pix"].group("cuhk").value("fid") == pytest.approx(90.0)
    assert "cut/seed2.json" not in inp.files and "pix2pix/seed1.json" not in inp.files
    assert "cut/seed1.json" in inp.files
    # params that are not a complete set (a hand-made tree): every seed present is read
    (root / "params.yaml").write_text(yaml.safe_dump({"ablation": ["cut"]}))
    assert load_inputs(root, PATHS).rows["cut"].seeds == (0, 1, 2)


def test_a_seed_of_another_profile_is_warned_of(tree):
    """The seeds of one row disagree on profile and size: the report says the numbers
    mix setups (a summary over the seeds names neither)."""
    m = tree / "metrics"
    other = _metrics("fss", "trained", 64.0, 0.64, 20.0, seed=1)
    _write(m / "fss" / "seed1.json", {**other, "profile": "cpu_long", "image_size": 2 * SIZE})
    text = write_report(tree, tree / "reports").read_text()
    assert ("**Warning:** the metrics files come from profile(s) cpu, cpu_long but "
            "params.yaml says cpu") in text
    assert f"image size(s) {SIZE}, {2 * SIZE} but params.yaml says {SIZE}" in text


def test_a_step_without_a_finite_difference_is_not_a_claim_tested(tree):
    """A damaged ablation file (NaN where a difference should be): the cell is a dash
    and the step is not counted among the paper's claims tested."""
    from fss.report.inputs import load_inputs
    from fss.report.tables import claimed_steps

    steps, cells = claimed_steps(load_inputs(tree).ablation)
    bad = json.loads(json.dumps(ABLATION))
    bad["pairs"][0]["subsets"]["cuhk"]["ssim"] = {"diff": float("nan"), "ci": [0.0, 1.0],
                                                  "significant": False}
    _write(tree / "metrics" / "ablation_tests.json", bad)
    steps_nan, cells_nan = claimed_steps(load_inputs(tree).ablation)
    assert (len(steps_nan), cells_nan) == (len(steps) - 1, cells - 1)
    text = write_report(tree, tree / "reports").read_text()
    line = _line(text.split("## Are the ablation steps real?", 1)[1], "CUT → W/ RCS | CUHK")
    assert "nan" not in line and "| — |" in line
