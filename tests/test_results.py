"""The evaluation record (fss.evaluation.results): what evaluate_results gives becomes a
versioned file and reads back the same; a key the metric table does not know, a file
of an older schema and a kind without its seed are refused, each naming the place."""

import json
import math

import pytest

from fss.evaluation.results import (
    EVALUATION_SCHEMA,
    EvaluationRecord,
    ResultsError,
    Scores,
    is_evaluation,
    read_evaluation,
    value_keys,
    write_record,
)

SCORES = {"subsets": {
    "cuhk": {"n": 3, "fid": 91.2, "kid": 40.1, "kid_spread": 3.2, "ssim": 0.61,
             "ssim_ci": [0.6, 0.62], "ssim_face": 0.5, "psnr_hair": None, "lpips": 0.3},
    "ar": {"n": 2, "fid": 120.0, "ssim": 0.58}},
    "all": {"n": 5, "fid": 80.0, "ssim": 0.6, "ssim_ci": [0.59, 0.61]}}


def test_a_record_round_trips_through_its_file(tmp_path):
    rec = EvaluationRecord.from_scores("fss", "trained", SCORES, seed=2, profile="cpu",
                                       image_size=128, epochs=9)
    f = tmp_path / "seed2.json"
    write_record(f, rec)
    d = json.loads(f.read_text())
    assert d["schema"] == EVALUATION_SCHEMA and is_evaluation(d)
    assert d["subsets"]["cuhk"] == SCORES["subsets"]["cuhk"]   # the flat layout, as written
    back = read_evaluation(f)
    assert back == rec
    assert back.subsets["cuhk"].intervals == {"ssim": (0.6, 0.62)}
    assert back.subsets["cuhk"].values["psnr_hair"] is None
    assert set(back.subsets) == {"cuhk", "ar"} and back.all.n == 5
    assert back.flat()["seed"] == 2 and "schema" not in back.flat()


def test_the_floor_keeps_its_training_counts():
    floor = {"subsets": {"cuhk": {"n": 100, "n_train": 88, "fid": 41.8, "kid": 11.0,
                                  "kid_spread": 2.1}}}
    rec = EvaluationRecord.from_scores("floor", "reference", floor, profile="cpu")
    assert rec.subsets["cuhk"].n_train == 88 and rec.all is None
    assert rec.flat()["subsets"] == floor["subsets"]


def test_the_keys_come_from_the_metric_table():
    keys = value_keys()
    assert {"fid", "kid", "kid_spread", "ssim", "ssim_face", "psnr_hair", "lpips"} <= keys
    assert "kid_std" not in keys and "lpips_face" not in keys  # (LPIPS has no regions)
    with pytest.raises(ResultsError, match="cuhk: unknown metric 'lpips_face'"):
        Scores.from_flat({"n": 1, "lpips_face": 0.2}, "cuhk")
    with pytest.raises(ResultsError, match="fid_ci"):  # FID gets no bootstrap interval
        Scores.from_flat({"n": 1, "fid_ci": [1.0, 2.0]}, "cuhk")
    with pytest.raises(ResultsError, match="n is not a count"):
        Scores.from_flat({"fid": 1.0}, "cuhk")
    assert math.isnan(Scores.from_flat({"n": 1, "ssim": float("nan")}, "x").values["ssim"])


def test_a_trained_run_has_a_seed_and_a_reference_none():
    with pytest.raises(ValueError, match="seed"):
        EvaluationRecord.from_scores("fss", "trained", SCORES)
    with pytest.raises(ValueError, match="seed"):
        EvaluationRecord.from_scores("photo", "reference", SCORES, seed=0)
    with pytest.raises(ValueError, match="kind 'trainer'"):
        EvaluationRecord.from_scores("fss", "trainer", SCORES, seed=0)


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not an evaluation"),
    (json.dumps({"row": "fss", "kind": "trained", "seed": 0, **SCORES}),
     "older or unknown schema (no schema field"),
    (json.dumps({"schema": EVALUATION_SCHEMA, "row": "fss", "kind": "trained", "seed": 0,
                 "extra": 1, **SCORES}), "unknown field(s) extra"),
    (json.dumps({"schema": EVALUATION_SCHEMA, "row": "fss", "kind": "trained", **SCORES}),
     "seed"),
    (json.dumps({"schema": EVALUATION_SCHEMA, "row": 3, "kind": "reference", **SCORES}),
     "row is not a name"),
])
def test_a_file_not_of_this_schema_is_one_line_naming_it(tmp_path, text, words):
    f = tmp_path / "seed0.json"
    f.write_text(text)
    with pytest.raises(ResultsError) as e:
        read_evaluation(f)
    assert str(e.value).startswith(f"{f}: ") and words in str(e.value)
    assert "\n" not in str(e.value)


def test_other_files_of_the_metrics_folder_are_no_evaluations():
    assert not is_evaluation({"test_face_iou": 0.9})              # pretrain_rcs
    assert not is_evaluation({"points": []})                      # a curve
    assert is_evaluation({"subsets": {}})                         # an old evaluation
    assert is_evaluation({"schema": "fss.evaluation/7"})


def test_ablation_tests_round_trip_and_name_a_bad_step(tmp_path):
    from fss.evaluation.results import (
        ABLATION_SCHEMA,
        AblationTestsRecord,
        read_ablation_tests,
        write_record,
    )

    flat = {"method": "two-level bootstrap", "levels": ["seeds", "images"], "resamples": 50,
            "level": 0.95, "seed": 0, "seeds": {"cut": [0, 1], "rcs": [0, 1]},
            "pairs": [{"from": "cut", "to": "rcs", "subsets": {
                "all": {"n": 5, "ssim": {"diff": 0.01, "ci": [0.002, 0.02],
                                         "significant": True}},
                "cuhk": {"n": 3, "rank1": {"diff": -0.1, "ci": [-0.3, 0.1],
                                           "significant": False}}}}]}
    rec = AblationTestsRecord.from_flat(flat, "x")
    assert rec.pairs[0].tests["all"]["ssim"].significant and rec.pairs[0].n["cuhk"] == 3
    f = tmp_path / "ablation_tests.json"
    write_record(f, rec)
    assert json.loads(f.read_text())["schema"] == ABLATION_SCHEMA
    assert read_ablation_tests(f) == rec and rec.flat() == flat
    flat["pairs"][0]["subsets"]["all"]["ssim"]["ci"] = [0.1]
    with pytest.raises(ResultsError, match=r"x: pairs\[0\].all.ssim: not a test"):
        AblationTestsRecord.from_flat(flat, "x")


def test_a_training_summary_round_trips_and_keeps_its_run_id(tmp_path):
    from dataclasses import replace

    from fss.evaluation.results import (
        TRAINING_SCHEMA,
        TrainingSummary,
        read_training,
        write_record,
    )

    flat = {"row": "fss", "epochs": 9, "iters_per_epoch": 67, "steps_per_epoch": 67,
            "device": "cpu", "world_size": 1, "precision": "fp32", "channels_last": False,
            "l1_first_epoch": 0.26, "l1_last_epoch": 0.14, "l1_ratio": 0.54,
            "final": {"L1": 0.14, "NCE": 3.6, "lr": 3e-05}, "seconds_per_iter": 0.46,
            "seconds_this_run": 279.1}
    rec = TrainingSummary.from_flat(flat, "x")
    assert rec.flat() == flat and rec.mlflow_run_id is None
    f = tmp_path / "seed0.json"
    write_record(f, replace(rec, mlflow_run_id="abc"))
    assert json.loads(f.read_text())["schema"] == TRAINING_SCHEMA
    assert read_training(f).mlflow_run_id == "abc"
    with pytest.raises(ResultsError, match="x: unknown field.s. kid"):
        TrainingSummary.from_flat({**flat, "kid": 1}, "x")
