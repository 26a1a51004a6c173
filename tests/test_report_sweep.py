"""The loss.alpha sweep: points read from `dvc exp show --json`'s shape, one per value
(the committed baseline included), the export command, and the report's section."""

import json

import pytest
from typer.testing import CliRunner

from fss.cli import app
from fss.report.summaries import Sweep
from fss.report.sweep import sweep_section, sweep_sentences
from fss.sweep_export import sweep_export, sweep_points


def _typed(export):
    """An export as the report reads it (what ``fss sweep-export`` writes, parsed)."""
    return Sweep.from_json(export, "loss.alpha.json")


def _rev(rev, name, alpha, fids, profile="cpu"):
    """One revision as `dvc exp show --json` gives it: params.yaml's data and each
    metrics file's data (a seed per entry of ``fids``)."""
    metrics = {f"metrics/fss/seed{s}.json": {"data": {
        "subsets": {"cuhk": {"fid": f, "ssim": 0.5, "n": 3}, "ar": {"fid": f + 10}},
        "all": {"fid": f - 5, "ssim": 0.5 - f / 1000, "lpips": 0.3, "dists": 0.2,
                "ssim_ci": [0.4, 0.6]}}} for s, f in enumerate(fids)}
    metrics["metrics/cut/seed0.json"] = {"data": {"subsets": {"cuhk": {"fid": 1.0}}}}
    return {"rev": rev, "name": name, "data": {
        "rev": rev, "params": {"params.yaml": {"data": {"meta": {"profile": profile},
                                                        "loss": {"alpha": alpha}}}},
        "metrics": metrics}, "error": None, "experiments": None}


def _exp_show():
    base = _rev("b" * 40, "main", 100.0, [150.0, 160.0, 170.0])
    base["experiments"] = [
        {"name": "a10", "revs": [_rev("1" * 40, "a10", 10, [120.0, 130.0, 125.0])]},
        {"name": "a0", "revs": [_rev("0" * 40, "a0", 0, [200.0, 210.0])]},
        {"name": "a30", "revs": [_rev("3" * 40, "a30", 30, [140.0])]},
        {"name": "broken", "revs": [{**_rev("9" * 40, "broken", 50, [1.0]),
                                     "error": {"msg": "failed"}}]},
    ]
    workspace = _rev("workspace", None, 100.0, [150.0, 160.0, 170.0])
    return [workspace, base]


def test_points_one_per_value_in_order_without_the_workspace_or_failures():
    pts = sweep_points(_exp_show(), "loss.alpha", "fss", "metrics")
    assert [p["value"] for p in pts] == [0, 10, 30, 100.0]
    assert [p["exp"] for p in pts] == ["a0", "a10", "a30", "main"]
    assert list(pts[0]["seeds"]) == [0, 1]
    # only the sweep's metrics, the means (no intervals, no counts)
    assert pts[1]["seeds"][2] == {"subsets": {"cuhk": {"fid": 125.0, "ssim": 0.5},
                                              "ar": {"fid": 135.0}},
                                  "all": {"fid": 120.0, "ssim": 0.375, "lpips": 0.3,
                                          "dists": 0.2}}
    assert sweep_points(_exp_show(), "loss.beta", "fss", "metrics") == []
    assert {p["commit"] for p in pts} == {"b" * 40}


def test_an_experiment_beats_a_committed_revision_and_keeps_its_own_commit():
    """A sweep across a commit (``dvc exp show -n 2``): the older baseline's experiments
    come with their commit, and the value the committed metrics files also have (100,
    from whatever run made them) is taken from the experiment, even with fewer seeds."""
    newer = _rev("c" * 40, "main", 100.0, [150.0, 160.0, 170.0])
    newer["experiments"] = [{"name": "a10", "revs": [_rev("1" * 40, "a10", 10, [120.0])]}]
    older = _rev("b" * 40, None, 100.0, [150.0, 160.0, 170.0])
    older["experiments"] = [
        {"name": "a100", "revs": [_rev("4" * 40, "a100", 100.0, [90.0, 95.0])]},
        {"name": "a10-old", "revs": [_rev("5" * 40, "a10-old", 10, [121.0])]}]
    pts = sweep_points([newer, older], "loss.alpha", "fss", "metrics")
    assert [(p["value"], p["exp"], p["commit"][0]) for p in pts] == [
        (10, "a10", "c"), (100.0, "a100", "b")]   # a tie in seeds: the newest baseline's


def test_sentences_say_where_each_metric_is_best_and_its_shape():
    pts = sweep_points(_exp_show(), "loss.alpha", "fss", "metrics")
    lines = sweep_sentences(_typed({"points": pts}).points, "loss.alpha")
    fid = next(ln for ln in lines if ln.startswith("FID"))
    # all-images FID means: alpha 0: 200 ± 7.1, 10: 120 ± 5, 30: 135 (one seed), 100: 155 ± 10
    assert fid.startswith("FID (all test images) is not monotone in it (means): best at "
                          "loss.alpha = 10 (120.0 ± 5.0), worst at 0 (200.0 ± 7.1). Best and "
                          "worst differ by more than the sum of their seed stds.")
    assert not any(ln.startswith("LPIPS") and "rises" in ln for ln in lines)


def _points(stats):
    """Sweep points from ``{value: [all-images FID per seed]}``."""
    return [{"value": v, "commit": "c" * 40, "seeds": {
        k: {"subsets": {}, "all": {"fid": f}} for k, f in enumerate(fids)}}
        for v, fids in stats.items()]


def test_sentences_judge_gaps_by_the_seed_spread():
    def fid(stats):
        return next(ln for ln in sweep_sentences(_typed({"points": _points(stats)}).points, "a")
                    if ln.startswith("FID"))

    # 0 -> 10 -> 100: means 60, 62, 180 (std 2, 2, 20): monotone, the far ends differ by
    # far more than 2 + 20, the step 0 -> 10 (2) is within 2 + 2
    line = fid({0: [58, 62], 10: [60, 64], 100: [160, 200]})
    assert "rises with it (means)" in line
    assert line.endswith("Best and worst differ by more than the sum of their seed stds; "
                         "between neighbouring values, 1 of 2 steps judged are within it "
                         "(0 → 10).")
    # the far ends inside their spread: said so, whatever the shape of the means
    line = fid({0: [50, 70], 100: [55, 75]})
    assert "rises with it" in line and line.endswith(
        "within the sum of their seed stds: seed-to-seed variation alone could explain the "
        "difference.")
    # one seed at an end: no yardstick
    assert fid({0: [60], 100: [150, 160]}).endswith("no seed spread to judge the gap by.")
    # a one-seed step in the middle is not counted as judged
    line = fid({0: [58, 62], 10: [61], 100: [160, 200]})
    assert "0 of" not in line and line.endswith("differ by more than the sum of their seed "
                                                "stds.")


def test_section_table_has_a_line_per_value_with_mean_and_std():
    export = sweep_export(_exp_show(), "loss.alpha", "fss", "metrics",
                          "dvc exp run --queue -S loss.alpha=...", "2026-12-02 21:00 UTC")
    assert export["profile"] == "cpu"
    text = sweep_section({"loss.alpha": _typed(export)})
    assert "## What `loss.alpha` does (fss row, profile cpu)" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("| 10 |"))
    assert line.startswith("| 10 | 0, 1, 2 | `bbbbbbb` | 125.0 ± 5.0 | 135.0 ± 5.0 | — | "
                           "120.0 ± 5.0 |")
    one = next(ln for ln in text.splitlines() if ln.startswith("| 30 |"))
    assert "| 30 | 0 | `bbbbbbb` | 140.0 | 150.0 |" in one        # one seed: no spread
    # a file exported before points carried their commit
    old = {**export, "points": [{k: v for k, v in p.items() if k != "commit"}
                                for p in export["points"]]}
    assert "| 10 | 0, 1, 2 | — | 125.0" in sweep_section({"loss.alpha": _typed(old)})
    assert sweep_section({}) == ""


def test_export_command_writes_the_committed_file(tmp_path):
    import yaml

    from tests.test_report import REPO_PARAMS

    paths = yaml.safe_load(REPO_PARAMS.read_text())["paths"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": paths}))
    src = tmp_path / "exp_show.json"
    src.write_text(json.dumps(_exp_show()))
    r = CliRunner().invoke(app, ["sweep-export", "loss.alpha", "--from", str(src),
                                 "--root", str(tmp_path)])
    assert r.exit_code == 0, r.output
    out = json.loads((tmp_path / paths["sweeps"] / "loss.alpha.json").read_text())
    assert [p["value"] for p in out["points"]] == [0, 10, 30, 100.0]
    r = CliRunner().invoke(app, ["sweep-export", "loss.beta", "--from", str(src),
                                 "--root", str(tmp_path)])
    assert r.exit_code == 2 and "nothing written" in r.output
    assert not (tmp_path / paths["sweeps"] / "loss.beta.json").exists()
    src.write_text("{not json")
    r = CliRunner().invoke(app, ["sweep-export", "loss.alpha", "--from", str(src),
                                 "--root", str(tmp_path)])
    assert r.exit_code == 2 and "exp_show.json: not a readable" in r.output


@pytest.mark.parametrize("shape", ["[]", "{}"])
def test_export_of_nothing_is_one_line(tmp_path, shape):
    import yaml

    from tests.test_report import REPO_PARAMS

    paths = yaml.safe_load(REPO_PARAMS.read_text())["paths"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": paths}))
    (tmp_path / "e.json").write_text(shape)
    r = CliRunner().invoke(app, ["sweep-export", "loss.alpha", "--from",
                                 str(tmp_path / "e.json"), "--root", str(tmp_path)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1


def test_export_runs_this_interpreters_dvc_and_its_faults_are_one_line(tmp_path, monkeypatch):
    import subprocess
    import sys

    import yaml

    from tests.test_report import REPO_PARAMS

    paths = yaml.safe_load(REPO_PARAMS.read_text())["paths"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": paths}))
    calls = []

    def answers(out):
        def run(argv, **kw):
            calls.append(argv)
            if isinstance(out, BaseException):
                raise out
            return subprocess.CompletedProcess(argv, 0, out, "")
        return run

    args = ["sweep-export", "loss.alpha", "--root", str(tmp_path)]
    monkeypatch.setattr(subprocess, "run", answers(json.dumps(_exp_show())))
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert calls[-1] == [sys.executable, "-m", "dvc", "exp", "show", "--json", "-n", "10"]
    r = CliRunner().invoke(app, [*args, "--commits", "3"])
    assert r.exit_code == 0 and calls[-1][-2:] == ["-n", "3"]
    for out, words in ((FileNotFoundError(2, "No such file or directory"),
                        "dvc exp show --json could not run (No such file or directory)"),
                       ("Updating lock file\n",
                        "dvc exp show --json printed no JSON: Updating lock file")):
        monkeypatch.setattr(subprocess, "run", answers(out))
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and "Traceback" not in r.output
        assert r.output.strip().splitlines() == [f"error: {words}"], r.output


def test_add_joins_a_sweep_run_in_parts_and_refuses_another_sweep(tmp_path):
    """Experiments stay in the clone that ran them: a part of the sweep run elsewhere
    is added to the committed export; for a value in both, an experiment beats a
    committed revision (whose metrics files may be older than the sweep), then the
    newer point."""
    import yaml

    from tests.test_report import REPO_PARAMS

    paths = yaml.safe_load(REPO_PARAMS.read_text())["paths"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": paths}))
    first = _rev("b" * 40, "main", 100.0, [150.0])
    first["experiments"] = [{"name": "a0", "revs": [_rev("0" * 40, "a0", 0, [200.0])]}]
    second = _rev("c" * 40, "main", 100, [155.0])
    second["experiments"] = [{"name": "a10", "revs": [_rev("1" * 40, "a10", 10, [120.0])]}]
    src, target = tmp_path / "s.json", tmp_path / paths["sweeps"] / "loss.alpha.json"

    def export(show, *extra):
        src.write_text(json.dumps([show]))
        return CliRunner().invoke(app, ["sweep-export", "loss.alpha", "--from", str(src),
                                        "--root", str(tmp_path), *extra])

    assert export(first).exit_code == 0
    r = export(second, "--add")
    assert r.exit_code == 0, r.output
    out = json.loads(target.read_text())
    assert [(p["value"], p["exp"], p["commit"][0]) for p in out["points"]] == [
        (0, "a0", "b"), (10, "a10", "c"), (100, "main", "c")]  # 100.0 replaced by 100
    assert out["points"][2]["seeds"]["0"]["all"]["fid"] == 150.0
    # an experiment's point is not replaced by a committed revision's
    third = _rev("e" * 40, "main", 0, [99.0])
    assert export(third, "--add").exit_code == 0
    out = json.loads(target.read_text())
    assert [(p["value"], p["exp"]) for p in out["points"]][0] == (0, "a0")
    third["experiments"] = [{"name": "a0b", "revs": [_rev("f" * 40, "a0b", 0, [98.0])]}]
    assert export(third, "--add").exit_code == 0
    assert json.loads(target.read_text())["points"][0]["exp"] == "a0b"
    # without --add the file is this run's alone
    assert [p["value"] for p in json.loads(target.read_text())["points"]] == [0, 10, 100]
    assert export(second).exit_code == 0
    assert [p["value"] for p in json.loads(target.read_text())["points"]] == [10, 100]
    before = target.read_text()
    other = _rev("d" * 40, "main", 100.0, [150.0], profile="smoke")
    r = export(other, "--add")
    assert r.exit_code == 2 and "not one sweep" in r.output and "profile" in r.output
    assert len(r.output.strip().splitlines()) == 1 and target.read_text() == before
    # a committed revision of another profile (main's params) that loses to the
    # sweep's own experiment at its value is no mix
    target.write_text(before)
    points = json.loads(before)["points"]
    exp100 = {**points[-1], "exp": "a100", "rev": "7" * 40, "commit": "c" * 40}
    target.write_text(json.dumps({**json.loads(before), "points": [*points[:-1], exp100]}))
    paper = _rev("8" * 40, "main", 100.0, [150.0, 151.0], profile="paper")
    paper["experiments"] = [{"name": "a5", "revs": [_rev("5" * 40, "a5", 5, [99.0])]}]
    r = export(paper, "--add")
    assert r.exit_code == 0, r.output
    out = json.loads(target.read_text())
    assert out["profile"] == "cpu" and [p["exp"] for p in out["points"]] == [
        "a5", "a10", "a100"]
    target.write_text("[1]")
    r = export(second, "--add")
    assert r.exit_code == 2 and "not an export" in r.output and target.read_text() == "[1]"
