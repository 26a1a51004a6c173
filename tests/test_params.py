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


def test_matrices_read_the_rows_from_params():
    """The rows live in conf (`rows`, `ablation`, `baselines`): dvc.yaml's matrices read
    the lists, and each row's composed entry is its whole training setup."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name in ("train", "evaluate"):
        assert stages[name]["matrix"]["row"] == "${ablation}"
        assert stages[f"{name}_baseline"]["matrix"]["row"] == "${baselines}"
    assert "rows.${item.row}" in stages["train"]["params"]
    for section in ("model", "sampling", "loss"):  # read through the row only
        assert not [k for k in stages["train"]["params"]
                    if isinstance(k, str) and k.split(".")[0] == section]


def test_row_entry_resolves_the_global_keys(tmp_path):
    """`-S loss.alpha=50` reaches every row with pixel losses and no other; a row's
    features can be changed on the command line."""
    from fss.params import read_params
    from fss.training.config import training_config

    out = tmp_path / "params.yaml"
    compose_params(out, ["profile=smoke", "loss.alpha=50", "row@rows.mask=[cut,rcs,dss,pixel]"],
                   conf_dir=REPO / "conf")
    p = read_params(out)
    fss, cut, mask = (training_config(p, r, 0) for r in ("fss", "cut", "mask"))
    assert fss.loss.alpha == 50 and mask.loss.alpha == 50
    assert mask.row.pixel_losses and not mask.row.mask_input
    assert cut.loss.alpha is None and cut.sampling.dss_threshold is None
    assert cut.model.ngf == p.model.ngf == 8  # the smoke profile's
    assert training_config(p, "pix2pix", 0).loss.pix2pix_l1 == p.loss.pix2pix_l1
    assert fss.sampling == p.sampling and fss.train == p.train


def test_unpaired_target_is_a_row_feature(tmp_path):
    """Official CUT's unpaired target switches on for the named row alone (so DVC
    retrains only it)."""
    from fss.params import read_params

    out = tmp_path / "params.yaml"
    compose_params(out, ["profile=smoke", "row@rows.cut=[cut,unpaired]"], conf_dir=REPO / "conf")
    p = read_params(out)
    assert p.rows["cut"].unpaired_target
    assert not any(r.unpaired_target for k, r in p.rows.items() if k != "cut")


@pytest.mark.parametrize(("override", "words"), [
    ("rows.cut.pixel_losses=true", "rows.cut': uses.loss lacks alpha, gamma, perceptual"),
    ("rows.fss.pixel_losses=false", "uses.loss has alpha, gamma, perceptual, which this row "
                                    "does not read"),
    ("rows.fss.uses.loss.alpha=-1", "uses.loss.alpha = -1: should be greater than or equal"),
    ("ablation=[cut,rcs,dss,mask]", "rows fss: in neither ablation nor baselines"),
    ("baselines=[pix2pix,cyclegan,gan]", "baselines: gan not in rows"),
    ("baselines=[pix2pix,cyclegan,fss]", "fss: in both ablation and baselines"),
    ("row@rows.rcs=[cut,rcs,unpaired]", "unpaired_target: only for a CUT row with uniform "
                                        "sampling and no mask input (this row: model cut, "
                                        "sampling rcs"),
])
def test_a_row_that_would_make_a_false_dependency_is_refused(tmp_path, override, words):
    out = tmp_path / "params.yaml"
    with pytest.raises(ParamsError, match="not written") as e:
        compose_params(out, [override], conf_dir=REPO / "conf")
    assert words in str(e.value) and not out.exists()


def test_reading_params_leaves_torchs_random_stream_alone():
    """The shape checks build small nets (drawing random weights): a stage that seeds
    torch and then reads params must get the same draws as one that reads first."""
    import torch

    from fss.models.generator import GeneratorParams
    from fss.params import read_params
    from fss.training.config import encoder_layers

    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    read_params(REPO / "params.yaml")
    encoder_layers(GeneratorParams(n_blocks=2, ngf=5))   # a size no other test caches
    assert torch.equal(torch.rand(3), want)
