from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fss.config import ParamsError, build, load_params
from fss.data.align import AlignParams
from fss.data.download import DataParams
from fss.data.masks import MaskParams
from fss.params_compose import compose_params

REPO = Path(__file__).resolve().parents[1]


def test_committed_params_is_default_composition(tmp_path):
    out = tmp_path / "params.yaml"
    compose_params(out, [], conf_dir=REPO / "conf")
    assert yaml.safe_load(out.read_text()) == load_params(REPO / "params.yaml"), (
        "params.yaml is stale: run `fss params` after editing conf/")


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper", "cut_official"])
def test_profiles_build_every_section(tmp_path, profile):
    out = tmp_path / "params.yaml"
    compose_params(out, [f"profile={profile}", "masks.threshold=0.4"], conf_dir=REPO / "conf")
    p = load_params(out)
    assert p["meta"]["profile"] == profile
    assert build(MaskParams, p["masks"]).threshold == 0.4
    build(DataParams, p["data"])
    a = build(AlignParams, p["align"])
    assert isinstance(a.eye_left, tuple)


def test_unknown_key_is_an_error():
    @dataclass(frozen=True)
    class P:
        size: int = 1

    with pytest.raises(ParamsError, match="unknown key.*sise"):
        build(P, {"sise": 3}, "align")


def test_train_stage_depends_on_every_train_key_but_seeds():
    """Seeds select runs (the DVC matrix); every other train key changes a run, so the
    train stage must list it, or a change would leave stale models cached."""
    from dataclasses import fields

    from fss.training.config import TrainParams

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    stage = stages["train"]
    listed = {p.removeprefix("train.") for p in stage["params"]
              if isinstance(p, str) and p.startswith("train.")}
    assert listed == {f.name for f in fields(TrainParams)} - {"seeds", "baseline_seeds"}
    assert stage["matrix"]["seed"] == "${train.seeds}"
    # the baselines' stage is the same stage (a YAML merge) over its own seed list
    base = stages["train_baseline"]
    assert base["params"] == stage["params"] and base["cmd"] == stage["cmd"]
    assert base["matrix"]["seed"] == "${train.baseline_seeds}"


def test_row_seeds_split_ablation_rows_from_baselines(tmp_path):
    from fss.params import read_params, row_seeds

    out = tmp_path / "params.yaml"
    compose_params(out, ["profile=smoke", "train.seeds=[0,1,2]"], conf_dir=REPO / "conf")
    seeds = row_seeds(read_params(out))
    assert seeds["fss"] == seeds["cut"] == [0, 1, 2]
    assert seeds["pix2pix"] == seeds["cyclegan"] == [0]


def test_seeds_override_composes_into_params(tmp_path):
    out = tmp_path / "params.yaml"
    compose_params(out, ["profile=smoke", "train.seeds=[0,1]"], conf_dir=REPO / "conf")
    assert load_params(out)["train"]["seeds"] == [0, 1]


def test_rows_declared_once():
    """A row lives in conf `rows`; DVC cannot iterate a dict's keys in a matrix, so the
    train and evaluate matrices repeat the names, and this test keeps them equal; the
    report's default order and the paper's ablation rows must be conf's rows too."""
    from fss.published import ABLATION_ROWS
    from fss.report.cells import DEFAULT_ROWS

    conf = yaml.safe_load((REPO / "conf" / "config.yaml").read_text())
    rows = list(conf["rows"])
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    cut_based = [r for r in rows if conf["rows"][r].get("model") == "cut"]
    baselines = [r for r in rows if r not in cut_based]
    for name in ("train", "evaluate"):
        assert stages[name]["matrix"]["row"] == cut_based, f"dvc.yaml {name}: != conf's CUT rows"
        assert stages[f"{name}_baseline"]["matrix"]["row"] == baselines, (
            f"dvc.yaml {name}_baseline: != conf's other rows")
    assert list(DEFAULT_ROWS) == rows
    assert list(ABLATION_ROWS) == cut_based
