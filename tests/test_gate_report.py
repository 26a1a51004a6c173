"""The gate's verdict as Markdown (fss gate check --markdown): one row per metric with
baseline, now, delta, tolerance and verdict, regressions first, then dvc's diff."""

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from fss.cli import app
from fss.evaluation.gate_report import dvc_metrics_diff, markdown, verdict_rows
from fss.evaluation.metric_gate import compare, gate_kind
from fss.evaluation.results import EvaluationRecord

REPO = Path(__file__).resolve().parents[1]

BASE = {"fss/seed0.cuhk.fid": 50.0, "fss/seed0.cuhk.ssim": 0.5, "fss/seed0.cuhk.psnr": 15.0,
        "cut/seed0.cuhk.fid": 60.0}


def _rows(current):
    worse, better = compare(current, BASE)
    return verdict_rows(current, BASE, worse, better, lambda n: gate_kind(n).tolerance)


def _table_rows(text):
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| `")]


def test_every_metric_has_a_row_regressions_first():
    now = {"fss/seed0.cuhk.fid": 53.5, "fss/seed0.cuhk.ssim": 0.52, "fss/seed0.cuhk.psnr": 15.1,
           "fss/seed0.ar.fid": 70.0}   # cut/seed0 missing now; ar new
    rows = _rows(now)
    assert [(r.name, r.verdict) for r in rows] == [
        ("fss/seed0.cuhk.fid", "worse"), ("cut/seed0.cuhk.fid", "missing"),
        ("fss/seed0.cuhk.ssim", "better"), ("fss/seed0.ar.fid", "new"),
        ("fss/seed0.cuhk.psnr", "within")]
    text = markdown(rows, "reports/baselines/smoke.json", "| Path | Metric |")
    assert text.startswith("## Metric gate: FAIL")
    assert "1 worse, 1 missing, 1 better, 1 new, 1 within" in text
    table = _table_rows(text)
    assert table[0] == ["`fss/seed0.cuhk.fid`", "50", "53.5", "+3.5", "2", "**worse**"]
    assert table[1] == ["`cut/seed0.cuhk.fid`", "60", "-", "-", "2", "**missing now**"]
    assert table[2] == ["`fss/seed0.cuhk.ssim`", "0.5", "0.52", "+0.02", "0.01", "better"]
    assert table[3] == ["`fss/seed0.ar.fid`", "-", "70", "-", "-", "new (not in the baseline)"]
    assert table[4] == ["`fss/seed0.cuhk.psnr`", "15", "15.1", "+0.1", "0.2", "within"]
    # the within-tolerance rows are folded away, dvc's table follows
    assert text.index("<details>") < text.index("`fss/seed0.cuhk.psnr`") < text.index("</details>")
    assert text.rstrip().endswith("| Path | Metric |")


def test_pass_when_nothing_is_worse():
    text = markdown(_rows(dict(BASE)), "b.json")
    assert text.startswith("## Metric gate: PASS") and "4 within" in text
    assert "dvc metrics diff" not in text


def _repo(tmp_path, fid, trained_lpips=0.31):
    """A finished smoke pipeline: the references and every trained run of the params."""
    from fss.params import read_params, row_seeds
    from fss.params_compose import compose_params
    from fss.runs import run_name

    compose_params(tmp_path / "params.yaml", ["profile=smoke"], conf_dir=REPO / "conf")
    params = read_params(tmp_path / "params.yaml")
    keys = sorted(set(params.gate.quality) | {"fid", "ssim"})
    runs = [run_name(r, s) for r, seeds in row_seeds(params).items() for s in seeds]
    for name in ["photo", "mean_sketch", *runs]:
        values = {k: 0.3 for k in keys}
        if name == "photo":
            values["fid"] = fid
        elif name != "mean_sketch":  # trained: as good as the references but the LPIPS
            values["lpips"] = trained_lpips
        f = tmp_path / "metrics" / f"{name}.json"
        f.parent.mkdir(parents=True, exist_ok=True)
        trained = "/" in name
        rec = EvaluationRecord.from_scores(
            name.split("/")[0], "trained" if trained else "reference",
            {"subsets": {"cuhk": {"n": 3, **values}}, "all": {"n": 3, **values}},
            seed=int(name.rsplit("seed", 1)[1]) if trained else None, profile="smoke")
        f.write_text(json.dumps(rec.to_json()))
    return tmp_path


def test_cli_writes_the_report_even_when_the_gate_fails(tmp_path):
    root = _repo(tmp_path, 50.0)
    base = tmp_path / "b.json"
    assert CliRunner().invoke(app, ["gate", "update", "--root", str(root),
                                    "--baseline", str(base)]).exit_code == 0
    _repo(tmp_path, 58.0, trained_lpips=5.0)
    out = tmp_path / "reports" / "ci" / "gate.md"
    r = CliRunner().invoke(app, ["gate", "check", "--root", str(root), "--baseline", str(base),
                                 "--markdown", str(out), "--dvc-rev", ""])
    assert r.exit_code == 1 and f"wrote {out}" in r.output
    text = out.read_text()
    table = _table_rows(text.split("### Quality", 1)[0])
    assert table[0] == ["`photo.cuhk.fid`", "50", "58", "+8", "2", "**worse**"]
    quality = _table_rows(text.split("### Quality", 1)[1])
    assert quality and all(q[-1] == "**fail**" for q in quality if q[1] == "lpips")
    assert quality[0][:3] == ["`cut/seed0`", "lpips", "5"]


def test_dvc_metrics_diff_section(tmp_path):
    """In a git + DVC repository the section is dvc's own Markdown table; elsewhere one
    line saying why it is missing."""
    assert "failed" in dvc_metrics_diff(tmp_path, "HEAD")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*_dvc(), "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - m.json\n")
    (tmp_path / "m.json").write_text('{"fid": 50.0}')
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True)
    (tmp_path / "m.json").write_text('{"fid": 47.5}')
    text = dvc_metrics_diff(tmp_path, "HEAD")
    assert text.startswith("Workspace against `HEAD`")
    assert "| m.json" in text and "50" in text and "47.5" in text and "-2.5" in text


def _dvc():
    import sys

    return [sys.executable, "-m", "dvc"]
