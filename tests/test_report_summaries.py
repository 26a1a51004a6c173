"""The report's typed view of the results: a row's evaluations and training summaries
summarised over seeds (mean, sample std, one run's intervals), the other files it shows
parsed or refused in one line, and no rendering module digging in dicts."""

import re
from pathlib import Path

import pytest

from fss.evaluation.results import (
    EVALUATION_SCHEMA,
    EvaluationRecord,
    ResultsError,
    TrainingSummary,
)
from fss.report.summaries import (
    Curve,
    FidelityScores,
    Numbers,
    RcsResults,
    RowResults,
    Sweep,
    TrainingRuns,
    group_of,
)


def _record(seed, fid, ssim, subsets=("cuhk", "ar"), profile="cpu", size=64):
    sub = {"n": 3, "fid": fid, "ssim": ssim, "ssim_ci": [ssim - 0.01, ssim + 0.01],
           "kid": fid / 10, "kid_spread": 1.0, "lpips": None}
    return EvaluationRecord.from_json(
        {"schema": EVALUATION_SCHEMA, "row": "fss", "kind": "trained", "seed": seed,
         "profile": profile, "image_size": size, "epochs": 9,
         "subsets": {s: dict(sub) for s in subsets}, "all": {**sub, "n": 6}}, "f.json")


def test_one_run_keeps_its_values_and_intervals():
    r = RowResults.of([_record(0, 100.0, 0.6)], [0])
    g = r.group("cuhk")
    assert r.seeds == (0,) and r.profile == "cpu" and r.image_size == 64 and r.epochs == 9
    assert g.n == 3 and g.value("fid") == 100.0 and g.ci("ssim") == (0.59, 0.61)
    assert g.std("fid") is None
    # a metric without a finite value (LPIPS off) reads as missing, not as a number
    assert g.value("lpips") is None and "lpips" not in g
    assert r.group("all").n == 6 and r.group("xm2vts") is None


def test_several_runs_give_mean_and_sample_std_and_drop_intervals():
    r = RowResults.of([_record(0, 100.0, 0.6), _record(2, 110.0, 0.64)], [0, 2])
    g = r.group("ar")
    assert r.seeds == (0, 2)
    assert g.value("fid") == pytest.approx(105.0)
    assert g.std("fid") == pytest.approx(7.071068, abs=1e-6)   # sample std, ddof 1
    assert g.value("ssim") == pytest.approx(0.62) and g.ci("ssim") is None
    assert g.value("kid_spread") == 1.0 and g.std("kid") == pytest.approx(0.707107, abs=1e-6)
    assert group_of({"fss": r, "cut": None}, "cut", "ar") is None
    assert group_of({"fss": r}, "mask", "ar") is None


def test_a_subset_or_profile_not_every_run_has_is_left_out():
    r = RowResults.of([_record(0, 100.0, 0.6, ("cuhk", "ar")),
                       _record(1, 90.0, 0.6, ("cuhk",), profile="cpu_long", size=128)], [0, 1])
    assert set(r.subsets) == {"cuhk"} and r.group("ar") is None
    # the runs disagree: no one profile or size to name, both kept for the report's warning
    assert r.profile is None and r.profiles == ("cpu", "cpu_long")
    assert r.image_size is None and r.image_sizes == (64, 128)


def test_a_non_finite_interval_is_no_interval():
    rec = _record(0, 100.0, 0.6)
    bad = EvaluationRecord.from_json({**rec.to_json(), "all": {
        "n": 6, "ssim": 0.6, "ssim_ci": [float("nan"), float("nan")], "fid": float("nan")}},
        "f.json")
    g = RowResults.of([bad], [0]).group("all")
    assert g.ci("ssim") is None and g.value("fid") is None and g.value("ssim") == 0.6


def _training(seed, seconds, device="cpu"):
    return TrainingSummary.from_flat(
        {"row": "dss", "epochs": 9, "iters_per_epoch": 67, "steps_per_epoch": 67,
         "device": device, "world_size": 1, "precision": "fp32", "channels_last": False,
         "l1_first_epoch": 0.5, "l1_last_epoch": 0.3, "l1_ratio": None,
         "seconds_per_iter": 0.3, "seconds_this_run": seconds,
         "final": {"L1": 0.3, "doubled_L0": 0.2 + seed / 10}}, "t.json")


def test_training_runs_summarise_numbers_and_keep_shared_text():
    t = TrainingRuns.of([_training(0, 100.0), _training(1, 120.0, device="cuda")], [0, 1])
    assert t.shown("epochs") == 9 and t.numbers.std("epochs") == 0.0
    assert t.numbers.value("seconds_this_run") == 110.0
    assert t.shown("precision") == "fp32" and t.shown("device") is None   # runs disagree
    assert t.numbers.value("l1_ratio") is None                           # none recorded
    assert t.final.value("doubled_L0") == pytest.approx(0.25)
    assert t.final.std("doubled_L0") == pytest.approx(0.070711, abs=1e-6)


def test_numbers_of_no_runs_is_an_error():
    with pytest.raises(ValueError):
        Numbers.over([])


def test_other_files_parse_to_what_the_tables_ask():
    rcs = RcsResults.from_json({"test_face_iou": 0.9, "test_hair_iou": 0.8, "epochs": 15,
                                "size": [64, 64], "by_subset": {"test": {
                                    "cuhk": {"n": 3, "face_iou": 0.91, "hair_iou": 0.7}}}},
                               "rcs.json")
    assert rcs.ious["test"].value("face_iou") == 0.9 and "train" not in rcs.ious
    assert RcsResults.from_json({"epochs": 3}, "rcs.json") is None   # no test IoU: no maps
    assert rcs.test_subsets["cuhk"].value("n") == 3 and rcs.size == (64, 64)
    cut = FidelityScores.from_json({"config": "c", "subsets": {
        "ar": {"fid": 150.0, "psnr": 17.0, "note": "x"}}}, "ref.json")
    assert cut.subsets["ar"].values == {"fid": 150.0, "psnr": 17.0} and cut.scoring is None
    curve = Curve.from_json({"image_size": 64, "points": [
        {"iteration": 1206, "subsets": {"ar": {"fid": 90.0}}, "all": {"fid": 80.0}},
        {"iteration": 603, "subsets": {"ar": {"fid": 100.0}}, "all": {"fid": 85.0}}]}, "c")
    assert [p.iteration for p in curve.points] == [603, 1206]      # in iteration order
    assert curve.points[0].value("ar", "fid") == 100.0
    assert curve.points[0].value("cuhk", "fid") is None and curve.image_size == 64
    sweep = Sweep.from_json({"key": "loss.alpha", "row": "fss", "points": [
        {"value": 10, "seeds": {"0": {"all": {"fid": 60.0}}, "1": {"all": {"fid": 64.0}}}},
        {"value": 30, "seeds": {"0": {"all": {"fid": 70.0}}, "1": {"subsets": {}}}}]}, "s")
    assert sweep.points[0].values("all", "fid") == [60.0, 64.0]
    assert sweep.points[1].values("all", "fid") is None        # not every seed has it
    assert sweep.points[0].commit is None and sweep.exported is None


@pytest.mark.parametrize("reader, data, words", [
    (Curve.from_json, {"points": {}}, "points is not a list of snapshots"),
    (Curve.from_json, {"points": [{"iteration": "603"}]}, "points[0].iteration is not a count"),
    (Curve.from_json, {"points": [{"iteration": 603, "all": [1]}]}, "all: not a mapping"),
    (Curve.from_json, [], "not a budget curve"),
    (Sweep.from_json, {"points": [{"value": 1}]}, "points[0]: not a point (value, seeds)"),
    (Sweep.from_json, {"points": [{"value": 1, "seeds": {"a": {}}}]}, "seed 'a' is not"),
    (FidelityScores.from_json, {"subsets": [1]}, "subsets: not scores per subset"),
    (RcsResults.from_json, {"test_face_iou": 0.9, "by_subset": {"test": []}},
     "by_subset.test: not IoUs per subset"),
])
def test_a_file_not_of_the_shape_is_one_line_naming_it(reader, data, words):
    with pytest.raises(ResultsError) as e:
        reader(data, "metrics/x.json")
    assert str(e.value).startswith("metrics/x.json") and words in str(e.value)
    assert "\n" not in str(e.value)


# The rendering modules read typed results only: a `.get(` in them may look up a name
# (the paper's row and subset names) or params / the download stage's key-value file, not
# a metric. summaries.py parses the files (and is the one place that may).
RENDERING = ("__init__", "cells", "tables", "reading", "summary", "budget", "sweep",
             "figures", "inputs")
NOT_METRICS = {"NAMES", "SUBSET_NAMES", "REFERENCE_NAMES", "params", "source", "src",
               "test_ids", "seeds"}


def test_rendering_modules_dig_in_no_metric_dict():
    root = Path(__file__).resolve().parents[1] / "fss" / "report"
    found = {}
    for name in RENDERING:
        text = (root / f"{name}.py").read_text()
        for m in re.finditer(r"([\w\]\)]+)\.get\(", text):
            if m.group(1) not in NOT_METRICS:
                found.setdefault(name, []).append(text[max(0, m.start() - 30):m.end() + 20])
    assert not found, found
    # the check can fail: it sees a lookup on a metric dict
    assert re.search(r"([\w\]\)]+)\.get\(", "m.get('fid')").group(1) not in NOT_METRICS
