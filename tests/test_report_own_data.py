"""The report on a user's own pairs (data.dataset=paired_folder): ours only, per subset
of the split file, with no paper column, no gap to the paper and no paper claim tested;
the same tree as CUFS's renders the paper's tables."""

import json
from pathlib import Path

import pytest
import yaml

from fss.evaluation.results import RECOGNITION_SCHEMA
from fss.report import write_report
from fss.report.inputs import load_inputs
from fss.report.summary import summary
from tests.test_report import (
    ABLATION,
    FLOOR,
    PARAMS,
    _metrics,
    _probe,
    _write,
    tree,  # noqa: F401  (the CUFS tree fixture, used by name)
    write_test_split,
)

# a user's split file may name subsets of its own; the report orders them by name
SUBS = ("street", "studio")
IDS = {"studio": ["s1", "s2"], "street": ["t1", "t2", "t3"]}


def _own(d: dict) -> dict:
    """A CUFS-shaped metrics dict with the user's subsets instead of CUFS's."""
    first = next(iter(d["subsets"].values()))
    return {**d, "subsets": {s: dict(first) for s in SUBS}}


@pytest.fixture
def own_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "raw").mkdir(parents=True)
    params = {**PARAMS, "data": {"dataset": "paired_folder", "source": "/home/me/pairs"}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    m = root / "metrics"
    _write(m / "cut" / "seed0.json", _own(_metrics("cut", "trained", 90.0, 0.6, 16.0)))
    _write(m / "fss" / "seed0.json", _own(_metrics("fss", "trained", 60.0, 0.62, 18.0)))
    _write(m / "photo.json", _own(_metrics("photo", "reference", 200.0, 0.3, 10.0, seed=None)))
    _write(m / "fid_floor.json", _own(FLOOR))
    tests = json.loads(json.dumps(ABLATION))
    for p in tests["pairs"]:
        p["subsets"] = {s: p["subsets"]["cuhk"] for s in SUBS} | {"all": p["subsets"]["all"]}
    _write(m / "ablation_tests.json", tests)
    probe = {k: v for k, v in _probe(0.5, 0.6, 0.4, 0.5).items()
             if k in ("all", "all_ci", "cuhk", "cuhk_ci")}
    probe = {k.replace("cuhk", "studio"): v for k, v in probe.items()}
    _write(m / "recognition.json", {
        "schema": RECOGNITION_SCHEMA, "gallery": "real test sketches", "n_gallery": 5,
        "metric": "rank-1", "crop": {"box": [4, 3, 12, 14], "size": 16, "crop_size": 160,
                                     "margin": 32, "box_eye_distances": [-1, -1, 1, 2]},
        "probes": {"test_photos": probe, "fss/seed0": probe, "cut/seed0": probe},
        "probes_mtcnn": {}, "detectable": {}, "crop_fallbacks": {}})
    (root / "data" / "raw" / "source.csv").write_text(
        "key,value\nkind,real\npairs,9\ndataset,paired_folder\nsource,/home/me/pairs\n"
        "split,splits.csv\n")
    write_test_split(root, IDS)
    return root


def test_own_data_report_is_ours_only_per_subset(own_tree):
    text = write_report(own_tree, own_tree / "reports").read_text()
    assert text.startswith("# FSS report on your own pairs")
    assert "your pairs from `/home/me/pairs` (9 pairs; split: splits.csv)" in text
    for paper in ("(paper)", "## Table 3", "## Tables 4-6", "## Table 7", "How far this run",
                  "paper's Δ", "Ablation steps.**", "Deviations from the paper"):
        assert paper not in text, paper
    assert "### street (3 test images)" in text and "### studio (3 test images)" in text
    results = text[text.index("## Results per subset"):]
    header = results[results.index("| row |"):].splitlines()[0]
    assert header.startswith("| row | FID ↓ ours | KID×1000 ↓ ours | PSNR ↑ ours |")
    assert "| FSS | 60.00" in results and "| CUT | 90.00" in results
    # the floor, the ablation steps and recognition per subset of the user's split
    assert "≈ 41.8 on street" in text and "≈ 41.8 on studio" in text
    steps = text[text.index("## Are the ablation steps real?"):]
    assert "| CUT → W/ RCS | studio |" in steps and "| CUT → W/ RCS | street |" in steps
    rec = text[text.index("## Rank-1 face recognition (%)"):]
    assert rec.splitlines()[4].startswith("| probe | rank-1 % ours | street % ours | "
                                          "studio % ours |")
    assert "| FSS | 50.00 [45.00, 55.00] | — | 60.00 [55.00, 65.00] |" in rec
    # figures show the user's test faces, subsets by name, ids in the split file's order
    assert "Test ids shown: t1, t2, s1, s2" in text
    # CUFS's committed curves and sweeps are not about this data
    assert "What `loss.alpha` does" not in text


def test_own_data_summary_has_no_paper_numbers(own_tree):
    inp = load_inputs(own_tree)
    assert (inp.dataset, inp.subsets) == ("paired_folder", list(SUBS))
    text = summary(inp, "reports/report.md")
    assert "your pairs from /home/me/pairs" in text and "paper" not in text
    assert "FSS studio" in text and "FSS street" in text


def test_cufs_tree_still_gets_the_papers_tables(tree):  # noqa: F811
    inp = load_inputs(tree)
    assert (inp.dataset, inp.subsets) == ("cufs", ["cuhk", "ar", "xm2vts"])
    text = write_report(tree, tree / "reports").read_text()
    assert "## Table 3: ablation (ours vs paper)" in text and "FID ↓ (paper)" in text
    assert "Test ids shown: cuhk-a, cuhk-b, ar-a, ar-b, xm-a, xm-b" in text
