"""The report stage on a small fixture tree: tables, deltas, missing rows, figures,
provenance, atomic outputs; and the published values against method.md."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fss import published as pub
from fss.report import (
    LABEL_H,
    Line,
    compare_table,
    deviations,
    figure_grid,
    figure_ids,
    weights_hash,
    write_report,
)
from tests.conftest import SHARED

SIZE = 16
IDS = {"cuhk": ["cuhk-a", "cuhk-b", "cuhk-c"], "ar": ["ar-a", "ar-b"],
       "xm2vts": ["xm-a", "xm-b", "xm-c"]}
PARAMS = {
    "meta": {"profile": "cpu"}, "align": {"size": SIZE}, "data": {"source": "auto"},
    "model": {"ngf": 16, "n_blocks": 6}, "loss": {"perceptual": {"backbone": "vgg16"}},
    "train": {"epochs": 12, "epochs_decay": 6, "iters_per_epoch": 67},
    "rows": {r: {} for r in ("cut", "rcs", "dss", "mask", "fss", "pix2pix", "cyclegan")},
}


def _metrics(row: str, kind: str, fid: float, ssim: float, psnr: float) -> dict:
    sub = {"n": 3, "fid": fid, "ssim": ssim, "psnr": psnr, "ssim_face": 0.5,
           "psnr_face": 15.0, "ssim_hair": 0.4, "psnr_hair": 14.0, "kid": 0.01}
    return {"row": row, "kind": kind, "profile": "cpu", "image_size": SIZE,
            "subsets": {s: dict(sub) for s in pub.SUBSETS}, "all": {**sub, "n": 8}}


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
    # rcs, dss, mask, cyclegan and mean_sketch are "not run"
    _write(m / "cut.json", _metrics("cut", "trained", 90.0, 0.6, 16.0))
    _write(m / "fss.json", _metrics("fss", "trained", 60.0, 0.62, 18.0))
    _write(m / "pix2pix.json", _metrics("pix2pix", "trained", 80.0, 0.5, 17.0))
    _write(m / "photo.json", _metrics("photo", "reference", 200.0, 0.3, 10.0))
    _write(m / "recognition.json", {
        "gallery": "real test sketches", "n_gallery": 8,
        "probes": {"test_photos": {"all": 0.85, "cuhk": 0.9, "ar": 0.8, "xm2vts": 0.84},
                   "fss": {"all": 0.5, "cuhk": 0.6, "ar": 0.4, "xm2vts": 0.5},
                   "cut": {"all": 0.2, "cuhk": 0.2, "ar": 0.2, "xm2vts": 0.2}},
        "crop_fallbacks": {"gallery": 0, "test_photos": 1}})
    _write(m / "train" / "fss.json", {
        "row": "fss", "epochs": 12, "iters_per_epoch": 67, "device": "cpu",
        "l1_first_epoch": 0.58, "l1_last_epoch": 0.45, "l1_ratio": 0.776,
        "seconds_per_iter": 0.2, "seconds_this_run": 160.0, "final": {"L1": 0.45}})
    _write(m / "pretrain_rcs.json", {"test_face_iou": 0.81, "test_hair_iou": 0.55, "epochs": 15,
                            "size": [SIZE, SIZE]})
    with open(root / "data" / "raw" / "manifest.csv", "w") as f:
        f.write("id,photo_sha256,sketch_sha256\n" + "".join(f"p{i},aa,bb\n" for i in range(5)))
    (root / "data" / "raw" / "source.csv").write_text("key,value\nkind,real\npairs,5\n")
    with open(root / "data" / "splits.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "subset", "split", "photo", "sketch"])
        w.writerow(["cuhk-train", "cuhk", "train", "", ""])
        for s, ids in IDS.items():
            for i in ids:
                w.writerow([i, s, "test", f"data/aligned/photos/{i}.png", ""])
                _png(root / "data" / "aligned" / "photos" / f"{i}.png", 200, rgb=True)
                _png(root / "data" / "aligned" / "sketches" / f"{i}.png", 230)
                for row in ("cut", "fss", "photo"):
                    _png(root / "results" / row / s / f"{i}.png", 100)
    return root


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
    assert "| 0.6000 | 0.5436 | +0.0564 (better) |" in cut  # SSIM: higher is better
    assert "| 16.00 | 16.89 | -0.89 (worse) |" in cut
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
    assert _line(t7, "Test set (photos)").startswith("| Test set (photos) | 85.00 | 85.20 | "
                                                     "-0.20 (worse) | 90.00 | 80.00 | 84.00 |")
    assert _line(t7, "FSS").startswith("| FSS | 50.00 | 90.54 | -40.54 (worse) |")
    assert _line(t7, "pix2pix").startswith("| pix2pix | not run | 88.82 |")
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
    text = write_report(tmp_path, tmp_path / "reports").read_text()
    assert "| CUT | not run | 81.24 | — |" in text
    assert "recognition.json` not found" in text and "No figures" in text


def test_figure_grid_and_ids():
    tiles = [[np.zeros((8, 8), np.uint8), None], [np.full((4, 4, 3), 9, np.uint8), None]]
    g = figure_grid(tiles, ["a", "b"], 8)
    assert g.shape == (LABEL_H + 16, 16, 3)
    assert (g[LABEL_H:, 8:] == 128).all()  # missing = grey
    with pytest.raises(ValueError):
        figure_grid([[None]], ["a", "b"], 8)
    assert figure_ids({"ar": ["x", "y", "z"]}) == [("ar", "x"), ("ar", "y")]


def test_compare_table_directions():
    lines = compare_table([Line("fss", {"fid": 50.0}, {"fid": 53.33})], ["fid"])
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
                for r in pub.ABLATION_ROWS]
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
