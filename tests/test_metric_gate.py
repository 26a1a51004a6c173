"""The metric gate: the baseline holds only numbers of no trained generator (and only
this profile's); each trained run the params name is held against the better trivial
reference by the params' margins, in the metric's direction."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fss.cli import app
from fss.config import ParamsError, build
from fss.errors import UserError
from fss.evaluation.metric_gate import (
    GateParams,
    check,
    collect,
    compare,
    evaluations,
    quality,
    read_baseline,
    report,
    write_baseline,
)
from fss.evaluation.results import EVALUATION_SCHEMA, RECOGNITION_SCHEMA, EvaluationRecord
from fss.metrics.table import METRICS
from fss.params import read_params, row_seeds
from fss.params_compose import compose_params
from fss.paths import read_paths
from fss.runs import run_name

REPO = Path(__file__).resolve().parents[1]
PATHS = read_paths(REPO / "params.yaml")  # the locations a tree made here follows


def _evaluation(tmp_path, name, kind, lpips, ssim=0.5, profile="smoke", fid=50.0):
    sub = {"n": 3, "fid": fid, "lpips": lpips, "dists": 0.3, "ssim": ssim, "psnr": 15.0,
           "ssim_ci": [ssim - 0.1, ssim + 0.1]}
    f = tmp_path / "metrics" / f"{name}.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    rec = EvaluationRecord.from_scores(
        name.split("/")[0], kind, {"subsets": {"cuhk": sub}, "all": {**sub, "n": 9}},
        seed=int(name.rsplit("seed", 1)[1]) if kind == "trained" else None, profile=profile)
    f.write_text(json.dumps(rec.to_json()))


def _tree(tmp_path, trained_lpips=0.40, photo_lpips=0.30):
    _evaluation(tmp_path, "photo", "reference", photo_lpips, ssim=0.45)
    _evaluation(tmp_path, "mean_sketch", "reference", 0.35, ssim=0.55)
    _evaluation(tmp_path, "fss/seed0", "trained", trained_lpips)
    # a committed file of another profile: not this run's
    _evaluation(tmp_path, "fss/seed1", "trained", 0.9, profile="cpu")
    _evaluation(tmp_path, "cut/seed0", "trained", 0.9, profile="cpu")
    m = tmp_path / "metrics"
    (m / "train" / "fss").mkdir(parents=True, exist_ok=True)
    (m / "train" / "fss" / "seed0.json").write_text(json.dumps({"subsets": {"x": {"fid": 1}}}))
    (m / "fid_floor.json").write_text(json.dumps(
        {"schema": EVALUATION_SCHEMA, "kind": "reference", "profile": "smoke", "row": "floor",
         "subsets": {"cuhk": {"n": 3, "n_train": 4, "fid": 140.0, "kid": 3.0}}}))
    (m / "recognition.json").write_text(json.dumps(
        {"schema": RECOGNITION_SCHEMA, "gallery": "real test sketches", "n_gallery": 3,
         "metric": "rank-1", "crop": {"box": [1, 2, 3, 4], "size": 16, "crop_size": 160,
                                      "margin": 32, "box_eye_distances": [-1, -1, 1, 2]},
         "probes": {"test_photos": {"all": 1.0, "all_ci": [1.0, 1.0]},
                    "fss/seed0": {"all": 0.5}},
         "probes_mtcnn": {}, "detectable": {}, "crop_fallbacks": {}}))
    (m / "pretrain_rcs.json").write_text(json.dumps({"test_face_iou": 0.9, "test_hair_iou": 0.7}))
    return tmp_path


def test_collect_keeps_what_no_trained_generator_made(tmp_path):
    got = collect(PATHS.under(_tree(tmp_path)), "smoke")
    assert got == {
        "photo.cuhk.fid": 50.0, "photo.cuhk.lpips": 0.3, "photo.cuhk.dists": 0.3,
        "photo.cuhk.ssim": 0.45, "photo.cuhk.psnr": 15.0, "mean_sketch.cuhk.fid": 50.0,
        "mean_sketch.cuhk.lpips": 0.35, "mean_sketch.cuhk.dists": 0.3,
        "mean_sketch.cuhk.ssim": 0.55, "mean_sketch.cuhk.psnr": 15.0,
        "fid_floor.cuhk.fid": 140.0, "recognition.test_photos.all.rank1": 1.0}
    # the other profile's files are left out of this profile's evaluations
    metrics = PATHS.under(tmp_path).metrics
    assert set(evaluations(metrics, "smoke")) == {"photo", "mean_sketch", "fss/seed0",
                                                  "fid_floor"}
    assert "cut/seed0" in evaluations(PATHS.under(tmp_path).metrics)


def test_regressions_in_the_right_direction():
    base = {"a.cuhk.fid": 50.0, "a.cuhk.ssim": 0.5, "a.cuhk.psnr": 15.0}
    worse, better = compare({"a.cuhk.fid": 53.0, "a.cuhk.ssim": 0.5, "a.cuhk.psnr": 15.0}, base)
    assert [c.name for c in worse] == ["a.cuhk.fid"] and not better
    worse, better = compare({"a.cuhk.fid": 45.0, "a.cuhk.ssim": 0.52, "a.cuhk.psnr": 15.1}, base)
    assert not worse and [c.name for c in better] == ["a.cuhk.fid", "a.cuhk.ssim"]
    worse, _ = compare({"a.cuhk.fid": 50.0}, base)
    assert {c.name for c in worse} == {"a.cuhk.ssim", "a.cuhk.psnr"}   # missing = regression
    assert "missing now" in report(worse, [], "b.json")


def test_quality_against_the_better_reference_in_each_direction(tmp_path):
    evals = evaluations(PATHS.under(_tree(tmp_path, trained_lpips=0.40)).metrics, "smoke")
    # LPIPS: lower is better, the photo (0.30) is the better reference
    q, = quality(evals, ["fss/seed0"], GateParams({"lpips": 0.12}))
    assert (q.reference, q.reference_value, q.bound, q.passed) == ("photo", 0.3, 0.42, True)
    q, = quality(evals, ["fss/seed0"], GateParams({"lpips": 0.05}))
    assert not q.passed and "fss/seed0.lpips = 0.4: should be <= 0.35" in q.line()
    # SSIM: higher is better, the mean sketch (0.55) is the better reference; a negative
    # margin means the run must beat it
    q, = quality(evals, ["fss/seed0"], GateParams({"ssim": 0.05}))
    assert (q.reference, q.bound, q.passed) == ("mean_sketch", 0.5, True)
    q, = quality(evals, ["fss/seed0"], GateParams({"ssim": -0.01}))
    assert q.bound == pytest.approx(0.56) and not q.passed
    # a run the params name without an evaluation of this profile fails
    q, = quality(evals, ["fss/seed1"], GateParams({"lpips": 1.0}))
    assert q.value is None and not q.passed and "no evaluation" in q.line()
    del evals["mean_sketch"]
    with pytest.raises(UserError, match="reference 'mean_sketch': no all.lpips"):
        quality(evals, ["fss/seed0"], GateParams({"lpips": 0.1}))


def test_gate_params_name_metrics_of_the_table():
    assert build(GateParams, {"quality": {"lpips": 0.1, "fid": 50}}, "gate").quality == {
        "lpips": 0.1, "fid": 50.0}
    with pytest.raises(ParamsError, match="quality.rank1: not a per-image or set metric"):
        build(GateParams, {"quality": {"rank1": 0.1}}, "gate")


def test_baseline_round_trip_and_clear_errors(tmp_path):
    cur = collect(PATHS.under(_tree(tmp_path)), "smoke")
    write_baseline(cur, tmp_path / "b" / "smoke.json", "smoke")
    assert read_baseline(tmp_path / "b" / "smoke.json") == cur
    with pytest.raises(FileNotFoundError, match="fss gate update"):
        read_baseline(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="no reproducible metrics"):
        write_baseline({}, tmp_path / "x.json", "smoke")


@pytest.mark.parametrize("text, words", [
    ("{", "not valid JSON"),
    ('{"metrics": [1]}', "malformed baseline: expected"),
    ('{"metrics": {"photo.cuhk.fid": "x"}}', "metrics.photo.cuhk.fid = 'x' is not a finite"),
    # a name of before every name ended in the metric's key
    ('{"metrics": {"masks.mean_iou": 0.77}}', "metrics.masks.mean_iou: does not end in a "
                                               "gated metric"),
    ('{"metrics": {"photo.cuhk.kid": 3.0}}', "photo.cuhk.kid: does not end in a gated"),
])
def test_a_baseline_that_is_none_is_one_line_naming_it(tmp_path, text, words):
    f = tmp_path / "smoke.json"
    f.write_text(text)
    with pytest.raises(UserError) as e:
        read_baseline(f)
    assert str(e.value).startswith(str(f)) and words in str(e.value)
    assert "fss gate update" in str(e.value) or "finite" in str(e.value)


def test_every_gate_name_ends_in_its_metric(tmp_path):
    from fss.evaluation.metric_gate import MASK_IOU, gate_kind

    cur = collect(PATHS.under(_tree(tmp_path)), "smoke")
    assert cur and all(gate_kind(n).key == n.rsplit(".", 1)[-1] for n in cur)
    assert gate_kind("fss/seed0.cuhk.ssim_skimage").key == "ssim_skimage"
    assert gate_kind("recognition.test_photos.all.rank1_mtcnn").key == "rank1_mtcnn"
    assert gate_kind(MASK_IOU).key == "iou"
    with pytest.raises(UserError, match="does not end in a gated metric"):
        gate_kind("fss/seed0.cuhk.kid")                          # KID is not gated
    # the committed baseline follows the rule
    assert all(gate_kind(n) for n in read_baseline(REPO / "reports/baselines/smoke.json"))


def _pipeline(tmp_path, behind=lambda run: 0.0, photo_fid=50.0):
    """A finished smoke pipeline's metrics for every run of the composed smoke params:
    each trained run ``behind(run)`` past the bound of every quality metric (negative:
    inside it). Returns the runs and the margins."""
    compose_params(tmp_path / "params.yaml", ["profile=smoke"], conf_dir=REPO / "conf")
    params = read_params(tmp_path / "params.yaml")
    _evaluation(tmp_path, "photo", "reference", 0.30, fid=photo_fid)
    _evaluation(tmp_path, "mean_sketch", "reference", 0.35)
    refs = evaluations(PATHS.under(tmp_path).metrics, "smoke")
    runs = [run_name(r, s) for r, seeds in row_seeds(params).items() for s in seeds]
    for run in runs:
        _evaluation(tmp_path, run, "trained", 0.4, fid=400.0)
        d = json.loads((tmp_path / "metrics" / f"{run}.json").read_text())
        for q in quality(refs, ["photo"], params.gate):  # the bounds, from the references
            sign = 1 if METRICS[q.metric].lower_is_better else -1
            d["all"][q.metric] = q.bound + sign * behind(run)
        (tmp_path / "metrics" / f"{run}.json").write_text(json.dumps(d))
    return runs, params.gate.quality


def test_cli_exit_codes(tmp_path):
    runs, margins = _pipeline(tmp_path, lambda run: -0.01)
    assert margins, "the smoke profile names no quality metric"
    base = tmp_path / "b.json"
    r = CliRunner().invoke(app, ["gate", "update", "--root", str(tmp_path), "--baseline",
                                 str(base)])
    assert r.exit_code == 0, r.output
    assert not any("/seed" in k for k in json.loads(base.read_text())["metrics"])
    ok = CliRunner().invoke(app, ["gate", "check", "--root", str(tmp_path), "--baseline",
                                  str(base)])
    assert ok.exit_code == 0, ok.output
    assert f"quality: all {len(runs)} trained runs within" in ok.output
    # trained runs move by a lot between machines: the gate does not mind ...
    _pipeline(tmp_path, lambda run: -0.2 if run == "cut/seed0" else -0.001)
    assert CliRunner().invoke(app, ["gate", "check", "--root", str(tmp_path), "--baseline",
                                    str(base)]).exit_code == 0
    # ... unless one falls behind the better reference by more than the margin
    _pipeline(tmp_path, lambda run: 0.01 if run == "cut/seed0" else -0.01)
    bad = CliRunner().invoke(app, ["gate", "check", "--root", str(tmp_path), "--baseline",
                                   str(base)])
    assert bad.exit_code == 1, bad.output
    assert f"{len(margins)} of {len(margins) * len(runs)} checks failed" in bad.output
    assert "cut/seed0." in bad.output and "rcs/seed0." not in bad.output
    # a reference's number changed: a regression against the baseline
    _pipeline(tmp_path, lambda run: -0.01, photo_fid=53.0)
    bad = CliRunner().invoke(app, ["gate", "check", "--root", str(tmp_path), "--baseline",
                                   str(base)])
    assert bad.exit_code == 1 and "photo.cuhk.fid: 50 -> 53" in bad.output


def test_a_baseline_of_another_profile_is_one_line(tmp_path):
    _pipeline(tmp_path)
    write_baseline({"photo.cuhk.fid": 50.0}, tmp_path / "b.json", "cpu")
    with pytest.raises(UserError, match="baseline of profile 'cpu'.*profile 'smoke'"):
        check(tmp_path, tmp_path / "b.json")


def test_check_reads_each_evaluation_file_once(tmp_path, monkeypatch):
    from collections import Counter

    import fss.evaluation.metric_gate as gate

    _pipeline(tmp_path, lambda run: -0.01)
    base = tmp_path / "b.json"
    write_baseline(collect(PATHS.under(tmp_path), "smoke"), base, "smoke")
    real, reads = gate.read_json, Counter()

    def counted(path, *args):
        reads[Path(path).relative_to(tmp_path).as_posix()] += 1
        return real(path, *args)

    monkeypatch.setattr(gate, "read_json", counted)
    verdict = check(tmp_path, base)
    assert not verdict.failed and verdict.checks
    per_run = {k: n for k, n in reads.items() if k.startswith("metrics/") and "/train/" not in k
               and k != "metrics/recognition.json"}
    assert per_run and set(per_run.values()) == {1}, reads
    assert reads["b.json"] == 1
