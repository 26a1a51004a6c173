import json

import pytest

from fss.evaluation.metric_gate import collect, compare, read_baseline, report, write_baseline


def _tree(tmp_path, fid=50.0, ssim=0.5, rank=0.5):
    m = tmp_path / "metrics"
    m.mkdir(exist_ok=True)
    (m / "fss").mkdir(exist_ok=True)
    (m / "fss" / "seed0.json").write_text(json.dumps(
        {"row": "fss", "subsets": {"cuhk": {"n": 3, "fid": fid, "ssim": ssim, "psnr": 15.0,
                                            "ssim_ci": [0.4, 0.6]}}}))
    (m / "train" / "fss").mkdir(parents=True, exist_ok=True)
    (m / "train" / "fss" / "seed0.json").write_text(json.dumps({"subsets": {"x": {"fid": 1}}}))
    (m / "recognition.json").write_text(json.dumps(
        {"probes": {"fss/seed0": {"all": rank, "all_ci": [0.4, 0.6]}}}))
    (m / "pretrain_rcs.json").write_text(json.dumps({"test_face_iou": 0.9, "test_hair_iou": 0.7}))
    return tmp_path


def test_collect_flattens(tmp_path):
    got = collect(_tree(tmp_path))
    assert got == {"fss/seed0.cuhk.fid": 50.0, "fss/seed0.cuhk.ssim": 0.5,
                   "fss/seed0.cuhk.psnr": 15.0, "recognition.fss/seed0.all.rank1": 0.5,
                   "pretrain_rcs.test_face_iou": 0.9, "pretrain_rcs.test_hair_iou": 0.7}


def test_regressions_in_the_right_direction():
    base = {"a.cuhk.fid": 50.0, "a.cuhk.ssim": 0.5, "a.cuhk.psnr": 15.0}
    worse, better = compare({"a.cuhk.fid": 53.0, "a.cuhk.ssim": 0.5, "a.cuhk.psnr": 15.0}, base)
    assert [c.name for c in worse] == ["a.cuhk.fid"] and not better
    worse, better = compare({"a.cuhk.fid": 45.0, "a.cuhk.ssim": 0.52, "a.cuhk.psnr": 15.1}, base)
    assert not worse and [c.name for c in better] == ["a.cuhk.fid", "a.cuhk.ssim"]
    worse, _ = compare({"a.cuhk.fid": 50.0}, base)
    assert {c.name for c in worse} == {"a.cuhk.ssim", "a.cuhk.psnr"}   # missing = regression
    assert "missing now" in report(worse, [], "b.json")


def test_baseline_round_trip_and_clear_errors(tmp_path):
    cur = collect(_tree(tmp_path))
    write_baseline(cur, tmp_path / "b" / "smoke.json", "smoke")
    assert read_baseline(tmp_path / "b" / "smoke.json") == cur
    with pytest.raises(FileNotFoundError, match="fss gate update"):
        read_baseline(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="no metrics"):
        write_baseline({}, tmp_path / "x.json", "smoke")


def test_cli_exit_codes(tmp_path):
    from typer.testing import CliRunner

    from fss.cli import app

    root = _tree(tmp_path)
    r = CliRunner().invoke(app, ["gate", "update", "--root", str(root),
                                 "--baseline", str(tmp_path / "b.json")])
    assert r.exit_code == 0, r.output
    ok = CliRunner().invoke(app, ["gate", "check", "--root", str(root),
                                  "--baseline", str(tmp_path / "b.json")])
    assert ok.exit_code == 0 and "within tolerance" in ok.output
    _tree(tmp_path, ssim=0.4)
    bad = CliRunner().invoke(app, ["gate", "check", "--root", str(root),
                                   "--baseline", str(tmp_path / "b.json")])
    assert bad.exit_code == 1 and "fss/seed0.cuhk.ssim: 0.5 -> 0.4" in bad.output
