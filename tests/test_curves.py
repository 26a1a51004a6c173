"""The budget curve: snapshots scored with the evaluation as it is, as JSON points, CSV
rows for DVC plots and MLflow step metrics."""

import csv

import numpy as np
import pytest
import torch

from fss.evaluation.curves import (
    curve_point,
    curve_table,
    mlflow_steps,
    score_snapshots,
    snapshot_scorer,
)
from fss.evaluation.evaluate import (
    EvaluateParams,
    Evaluation,
    evaluate_results,
    read_test_pairs,
    synthesize,
)
from fss.io import write_csv_rows
from fss.tracking import evaluation_metrics
from tests.conftest import tiny_model_file
from tests.test_evaluation import _dataset

EVALUATION = {  # the shape of evaluate_results' dict
    "subsets": {"cuhk": {"n": 2, "fid": 80.5, "ssim": 0.41, "ssim_ci": [0.3, 0.5]},
                "ar": {"n": 2, "fid": 90.0, "ssim": 0.38, "ssim_ci": [0.3, 0.5]}},
    "all": {"n": 4, "fid": 70.25, "ssim": 0.395, "kid_std": 1.5},
}


def test_a_point_keeps_the_means_only():
    p = curve_point(603, EVALUATION)
    assert p == {"iteration": 603,
                 "subsets": {"cuhk": {"fid": 80.5, "ssim": 0.41},
                             "ar": {"fid": 90.0, "ssim": 0.38}},
                 "all": {"fid": 70.25, "ssim": 0.395, "kid_std": 1.5}}
    named = evaluation_metrics(p)
    assert named["fid.cuhk"] == 80.5 and named["ssim.all"] == 0.395


def test_table_and_mlflow_steps_name_metric_and_subset():
    points = [curve_point(603, EVALUATION), curve_point(1206, {"subsets": {}, "all": {"fid": 60}})]
    rows = curve_table(points)
    # subsets in the paper's order (CUHK, AR, XM2VTS), then all
    assert list(rows[0]) == ["iteration", "fid.cuhk", "fid.ar", "fid.all", "kid_std.all",
                             "ssim.cuhk", "ssim.ar", "ssim.all"]
    assert rows[1] == {"iteration": 1206, "fid.all": 60.0}
    steps = mlflow_steps(points)
    assert [s for s, _ in steps] == [603, 1206]
    assert steps[0][1]["budget.fid.cuhk"] == 80.5 and steps[1][1] == {"budget.fid.all": 60.0}


def test_empty_curve_is_a_header(tmp_path):
    write_csv_rows(tmp_path / "c.csv", curve_table([]), first="iteration")
    assert (tmp_path / "c.csv").read_text().strip() == "iteration"


def test_points_in_iteration_order_each_scored_once(tmp_path):
    scored = []

    def score(path):
        scored.append(path.name)
        return {"subsets": {}, "all": {"fid": float(len(scored))}}

    snaps = {1206: tmp_path / "b.pt", 603: tmp_path / "a.pt"}
    points = score_snapshots(snaps, score)
    assert scored == ["a.pt", "b.pt"]
    assert [(p["iteration"], p["all"]["fid"]) for p in points] == [(603, 1.0), (1206, 2.0)]


def test_a_snapshot_scores_as_the_evaluate_stage_would(tmp_path):
    """On synthetic data: the curve's point of a model file equals the evaluation of
    the same model's synthesized sketches (pixel metrics; no Inception here), and two
    different snapshots give different points."""
    csv_path = _dataset(tmp_path)
    pairs = read_test_pairs(csv_path)
    a = tiny_model_file(tmp_path / "a.pt", size=16, seed=1)
    b = tiny_model_file(tmp_path / "b.pt", size=16, seed=2)
    p = EvaluateParams(bootstrap_resamples=10)
    import tempfile
    from pathlib import Path

    before = set(Path(tempfile.gettempdir()).glob("fss-curve-*"))
    evaluation = Evaluation(pairs, {}, None, None, torch.device("cpu"), p, None)
    score = snapshot_scorer(evaluation, tmp_path / "masks")
    points = score_snapshots({10: a, 20: b}, score)
    synthesize(a, pairs, tmp_path / "masks", tmp_path / "res", torch.device("cpu"))
    direct = evaluate_results(tmp_path / "res", pairs, {}, None, None, "cpu", p)
    assert points[0] == curve_point(10, direct)
    assert points[0]["subsets"]["cuhk"]["ssim"] != points[1]["subsets"]["cuhk"]["ssim"]
    assert set(points[0]["subsets"]) == {"cuhk", "ar"}
    # nothing left behind: the sketches went to a temporary folder, removed
    assert set(Path(tempfile.gettempdir()).glob("fss-curve-*")) == before


def test_csv_rows_round_trip(tmp_path):
    rows = curve_table([curve_point(603, EVALUATION)])
    write_csv_rows(tmp_path / "c.csv", rows, first="iteration")
    with open(tmp_path / "c.csv", newline="") as f:
        back = list(csv.DictReader(f))
    assert float(back[0]["fid.cuhk"]) == pytest.approx(80.5)
    assert int(back[0]["iteration"]) == 603
    assert np.isclose(float(back[0]["ssim.all"]), 0.395)
