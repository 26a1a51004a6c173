"""The one metric table drives the report and the gate: a toy metric added to it shows
up in both, with its own direction, decimals and tolerance."""

import json
from pathlib import Path

import pytest

from fss.evaluation.metric_gate import collect, compare, tolerances
from fss.evaluation.results import EVALUATION_SCHEMA
from fss.metrics import table
from fss.metrics.table import Metric, table_columns
from fss.published import SUBSETS


def _evaluation(toy: float) -> dict:
    sub = {"n": 3, "fid": 50.0, "ssim": 0.5, "psnr": 15.0, "toy": toy,
           "toy_ci": [toy - 0.1, toy + 0.1]}
    return {"schema": EVALUATION_SCHEMA, "row": "fss", "seed": 0, "kind": "trained",
            "profile": "cpu", "image_size": 16,
            "subsets": {s: dict(sub) for s in SUBSETS}, "all": {**sub, "n": 9}}


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(table.METRICS, "toy", Metric("toy", "TOY ↓", True, 3, 0.05, True,
                                                     False))


def test_toy_metric_appears_in_the_report_and_the_gate(toy, tmp_path):
    from fss.paths import read_paths
    from fss.report import write_report

    paths = read_paths(Path(__file__).resolve().parents[1] / "params.yaml")
    m = tmp_path / paths.metrics / "fss"
    m.mkdir(parents=True)
    (m / "seed0.json").write_text(json.dumps(_evaluation(0.25)))
    text = write_report(tmp_path, tmp_path / "reports", paths).read_text()
    t3 = text.split("## Table 3", 1)[1].split("### CUHK", 1)[1].split("###", 1)[0]
    assert "| TOY ↓ ours |" in t3 and "TOY ↓ (paper)" not in t3    # not published
    fss = next(ln for ln in t3.splitlines() if ln.startswith("| FSS |"))
    assert fss.endswith("| 0.250 [0.150, 0.350] |")                 # its 3 decimals
    assert "TOY ↓" in text.split("### Tables 4", 1)[-1]
    assert "DISTS, TOY: lower is better" in text                       # its direction

    # the gate's baseline holds the references' numbers (a trained run's are not)
    (tmp_path / paths.metrics / "photo.json").write_text(json.dumps(
        {**_evaluation(0.25), "row": "photo", "seed": None, "kind": "reference"}))
    got = collect(paths.under(tmp_path))
    assert got["photo.cuhk.toy"] == 0.25 and tolerances()["toy"] == 0.05
    assert "fss/seed0.cuhk.toy" not in got
    # lower is better: up by more than 0.05 regresses, down by more improves
    worse, better = compare({**got, "photo.cuhk.toy": 0.31}, got)
    assert [c.name for c in worse] == ["photo.cuhk.toy"] and not better
    worse, better = compare({**got, "photo.cuhk.toy": 0.19}, got)
    assert not worse and [c.name for c in better] == ["photo.cuhk.toy"]
    assert not compare({**got, "photo.cuhk.toy": 0.29}, got)[0]  # within tolerance


def test_ablation_tests_test_the_toy_metric(toy, tmp_path):
    import numpy as np
    import pandas as pd

    from fss.evaluation.ablation_tests import ablation_tests

    ids = [f"i{k}" for k in range(30)]
    for row, toy_value in (("cut", 0.5), ("rcs", 0.4)):
        d = tmp_path / row / "seed0"
        d.mkdir(parents=True)
        pd.DataFrame({"id": ids, "subset": "cuhk", "ssim": 0.5,
                      "toy": toy_value + np.linspace(0, 0.01, 30)}).to_csv(
            d / "scores.csv", index=False)
    out = ablation_tests(tmp_path, None, ["cut", "rcs"], [0])
    toy_diff = out["pairs"][0]["subsets"]["cuhk"]["toy"]
    assert toy_diff["diff"] == pytest.approx(-0.1) and toy_diff["significant"]


def test_table_columns():
    assert table_columns(("fid", "psnr", "ssim"))[:4] == ("fid", "kid", "psnr", "ssim")
    assert set(table_columns(("fid", "ssim", "psnr"))) >= {"fsim", "lpips", "dists"}
    assert "ssim_skimage" not in table_columns(("fid",))        # not a Table 3-6 column
    with pytest.raises(ValueError, match="kind"):
        Metric("x", "X", False, 2, None, False, False, kind="video")

