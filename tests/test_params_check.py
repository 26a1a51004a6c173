"""Every params section typed and validated before any work: a table of bad values
(wrong type, negative, out of range, unknown choice, unknown key) for every section,
each one line and exit code 2 from `fss params --check` and from every stage, with no
traceback and nothing written; code defaults agree with conf."""

import copy
import dataclasses
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fss.cli import app
from fss.config import ParamsError, build, load_params
from fss.params import Params, check_params, read_params, section_types
from fss.training.losses import PerceptualParams

REPO = Path(__file__).resolve().parents[1]
GOOD = load_params(REPO / "params.yaml")

# (section, key, bad value, words the one line must hold). Every section has a wrong
# type, a value out of range (negative where a size or count is) or an unknown choice,
# and an unknown key.
BAD = [
    ("meta", "profile", 5, "valid string"),
    ("meta", "profil", "cpu", "unknown key"),
    ("base", "seed", "x", "valid integer"),
    ("base", "seed", -1, "greater than or equal to 0"),
    ("base", "device", "gpu", "pattern"),
    ("base", "devise", "cpu", "unknown key"),
    ("paths", "splits", 5, "valid string"),
    ("paths", "results", "/tmp/results", "relative to the repository root"),
    ("paths", "models", "../models", "inside it"),
    ("paths", "reslts", "x", "unknown key"),
    ("data", "limit_per_split", "all", "valid integer"),
    ("data", "synthetic_per_split", -3, "greater than 0"),
    ("data", "manifest_unlisted", "ignore", "'error' or 'warn'"),
    ("data", "sorce", "x", "unknown key"),
    ("align", "size", -64, "greater than or equal to 16"),
    ("align", "size", "big", "valid integer"),
    ("align", "eye_left", [0.4, 1.5], "less than or equal to 1"),
    ("align", "eye_left", [0.7, 0.5], "should be below eye_right"),
    ("align", "detector", "dlib", "'mtcnn', 'native' or 'resize'"),
    ("align", "min_confidence", 2, "less than or equal to 1"),
    ("align", "sise", 128, "unknown key"),
    # what the networks need of the image size (a tensor-size error mid-training before)
    ("align", "size", 33, "should be a multiple of 4"),
    ("align", "size", 20, "the discriminator's layers leave too little"),
    ("masks", "method", "grabcut", "'selfie' or 'background'"),
    ("masks", "threshold", 1.5, "less than or equal to 1"),
    ("masks", "sketch_stroke_level", 300, "less than or equal to 255"),
    ("masks", "sketch_close_radius", 2.5, "valid integer"),
    ("masks", "treshold", 0.5, "unknown key"),
    ("rcs", "epochs", 0, "greater than 0"),
    ("rcs", "lr", "fast", "valid number"),
    ("rcs", "forehead", -0.1, "greater than or equal to 0"),
    ("rcs", "layers", 3, "unknown key"),
    ("model", "ngf", -8, "greater than 0"),
    ("model", "ngf", 8.5, "valid integer"),
    ("model", "norm", "group", "'instance', 'batch' or 'none'"),
    ("model", "gan_mode", "wgan", "'lsgan' or 'vanilla'"),
    ("model", "init_type", "kaiming", "'xavier' or 'normal'"),
    ("model", "nce_layers", [], "at least 1"),
    ("model", "ngff", 8, "unknown key"),
    ("model", "nce_layers", [0, 99], "outside the generator's encoder (layers 0..20"),
    ("model", "nce_layers", [0, 4, 4], "should not repeat a layer"),
    ("model", "n_layers_d", 7, "the discriminator's layers leave too little"),
    ("sampling", "num_patches", -1, "greater than 0"),
    ("sampling", "dss_threshold", 1.2, "less than or equal to 1"),
    ("sampling", "n_face", "many", "valid integer"),
    ("sampling", "n_faces", 3, "unknown key"),
    ("loss", "alpha", -1, "greater than or equal to 0"),
    ("loss", "nce_idt", "yes", "valid boolean"),
    ("loss", "perceptual", {"backbone": "vgg11"}, "'vgg19' or 'vgg16'"),
    ("loss", "perceptual", {"weights": [1, 1]}, "at least 5"),
    ("loss", "perceptual", {"backbon": "vgg16"}, "unknown key"),
    ("loss", "alpah", 1, "unknown key"),
    ("train", "epochs", "abc", "valid integer"),
    ("train", "epochs", -2, "greater than 0"),
    ("train", "epochs_decay", 500, "epochs_decay (500) should be <= epochs (400)"),
    ("train", "lr", "abc", "valid number"),
    ("train", "lr", 0, "greater than 0"),
    ("train", "iters_per_epoch", -4, "greater than or equal to 0"),
    ("train", "beta1", 1.0, "less than 1"),
    ("train", "flip", 1, "valid boolean"),
    ("train", "precision", "fp16", "'auto', 'fp32' or 'bf16'"),
    ("train", "seeds", [0, 0], "repeat"),
    ("train", "seeds", ["a"], "valid integer"),
    ("train", "load_scale", 0.9, "greater than or equal to 1"),
    ("train", "epoch", 3, "unknown key"),
    ("rows", "cut", {"model": "gan"}, "'cut', 'pix2pix' or 'cyclegan'"),
    ("rows", "cut", {"sampling": "random"}, "'uniform', 'rcs' or 'dss'"),
    ("rows", "cut", {"mask_input": "no"}, "valid boolean"),
    ("rows", "cut", {"masks": True}, "unknown key"),
    ("rows", "fss", {"model": "cut", "uses": {"loss": {"alpha": 1}}}, "lacks"),
    ("ablation", "ablation", "cut", "should be a list of row names"),
    ("ablation", "ablation", ["cut", "cut"], "should not repeat a row"),
    ("baselines", "baselines", ["pix2pix", "gan"], "gan not in rows"),
    ("curves", "rows", ["cut", "pix2pix"], "curves.rows: pix2pix not in ablation"),
    ("curves", "rows", [], "at least 1 item"),
    ("curves", "every", 603, "unknown key"),
    ("evaluate", "fid_method", "torch", "'small_sample' or 'cleanfid'"),
    ("evaluate", "bootstrap_level", 1.0, "less than 1"),
    ("evaluate", "kid_subsets", -5, "greater than 0"),
    ("evaluate", "bootstrap_resamples", "1k", "valid integer"),
    ("evaluate", "seed", 0, "unknown key"),
    ("recognize", "crop_size", 0, "greater than 0"),
    ("recognize", "margin", -1, "greater than or equal to 0"),
    ("recognize", "batch_size", "32", "valid integer"),
    ("recognize", "crop", 160, "unknown key"),
    ("gate", "quality", {"lpips": "x"}, "valid number"),
    ("gate", "quality", {"lpips": float("nan")}, "finite number"),
    ("gate", "quality", {"fidd": 1.0}, "not a per-image or set metric"),
    ("gate", "margin", 0.1, "unknown key"),
    ("train", "snapshot_every", -1, "greater than or equal to 0"),
]


def bad_params(section: str, key: str, value) -> dict:
    p = copy.deepcopy(GOOD)
    if isinstance(p[section], list):  # ablation, baselines: the key is the section
        p[section] = value
    else:
        p[section][key] = value
    return p


def test_every_section_is_in_the_table():
    assert {s for s, *_ in BAD} == set(section_types()) == set(GOOD)


def test_good_params_check_and_are_typed():
    p = read_params(REPO / "params.yaml")
    assert isinstance(p, Params)
    assert p.train.seeds == (0,) and isinstance(p.align.eye_left, tuple)
    assert p.rows["pix2pix"].model == "pix2pix" and p.raw == GOOD
    assert p.train.load_scale == 1.117 and p.loss.nce_idt is True
    assert p.model.init_type == "xavier"


def test_ints_pass_where_floats_are_expected():
    p = check_params(bad_params("train", "lr", 1))
    assert p.train.lr == 1.0 and isinstance(p.train.lr, float)


@pytest.mark.parametrize(("section", "key", "value", "words"), BAD,
                         ids=[f"{s}.{k}={v!r}" for s, k, v, _ in BAD])
def test_bad_value_is_one_line_exit_2_nothing_written(tmp_path, section, key, value, words):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad_params(section, key, value)))
    r = CliRunner().invoke(app, ["params", "--check", "--out", str(tmp_path / "params.yaml")])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert words in lines[0] and key in lines[0] and "params.yaml" in lines[0]
    assert "Traceback" not in r.output
    assert sorted(os.listdir(tmp_path)) == ["params.yaml"]


def test_duplicate_keys_are_refused(tmp_path):
    """PyYAML keeps the last of a repeated key silently: a second ``loss:`` section
    would drop the first's keys to code defaults."""
    good = (REPO / "params.yaml").read_text()
    for extra, key in (("loss:\n  alpha: 3\n", "'loss'"),
                       ("x:\n  a: 1\n  a: 2\n", "'a'")):
        (tmp_path / "params.yaml").write_text(good + extra)
        r = CliRunner().invoke(app, ["params", "--check", "--out",
                                     str(tmp_path / "params.yaml")])
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and f"duplicate key {key}" in lines[0], r.output
    # a YAML merge key is not a repeat
    (tmp_path / "m.yaml").write_text("a: &x {b: 1}\nc:\n  <<: *x\n  b: 2\n")
    assert load_params(tmp_path / "m.yaml") == {"a": {"b": 1}, "c": {"b": 2}}


def test_missing_and_unknown_sections():
    p = copy.deepcopy(GOOD)
    p["trian"] = p.pop("train")
    with pytest.raises(ParamsError, match="unknown params section.*trian"):
        check_params(p)
    del p["trian"]
    with pytest.raises(ParamsError, match="train missing"):
        check_params(p)


def test_a_section_that_is_not_a_mapping():
    with pytest.raises(ParamsError, match="'train' = 5: should be a mapping"):
        check_params({**GOOD, "train": 5})


def test_bad_override_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "params.yaml"
    r = CliRunner().invoke(app, ["params", "--profile", "smoke", "-S", "train.lr=abc",
                                 "--out", str(out)])
    assert r.exit_code == 2
    assert r.output.strip() == (f"error: {out} (not written): "
                                "train.lr = 'abc': should be a valid number")
    assert not out.exists() and os.listdir(tmp_path) == []


def test_code_defaults_agree_with_conf():
    """Defaults live in conf: every dataclass default equals conf/config.yaml's value
    (the paper profile, as composed into params.yaml), and conf names every key. The
    paths have no code defaults at all: conf is the one place they are spelled."""
    for name, cls in section_types().items():
        if name in ("rows", "ablation", "baselines"):  # data, each spelled out in conf
            continue
        fields = {f.name: f for f in dataclasses.fields(cls)}
        assert set(fields) == set(GOOD[name]), f"{name}: conf and {cls.__name__} keys differ"
        if name == "paths":
            assert all(f.default is dataclasses.MISSING for f in fields.values())
            continue
        conf = dataclasses.asdict(build(cls, GOOD[name], name))
        code = dataclasses.asdict(cls())
        if name == "loss":  # the nested section is compared on its own below
            conf.pop("perceptual"), code.pop("perceptual")
        assert code == conf, f"{cls.__name__} defaults differ from conf/config.yaml's {name}"
    perceptual = GOOD["loss"]["perceptual"]
    assert set(perceptual) == {f.name for f in dataclasses.fields(PerceptualParams)}
    assert build(PerceptualParams, perceptual) == PerceptualParams()


# Each stage, in-process: (script, arguments of its main()).
STAGES = [("download", {}), ("align", {}), ("split", {}), ("masks", {}),
          ("pretrain_rcs", {}), ("train", {"row": "cut", "seed": 0, "resume": True,
                                           "track": False}),
          ("fid_reference", {}), ("evaluate", {"row": "cut", "seed": 0, "track": False}),
          ("recognize", {}), ("ablation_tests", {}), ("report", {})]


@pytest.mark.parametrize(("stage", "kwargs"), STAGES, ids=[s for s, _ in STAGES])
@pytest.mark.parametrize("bad", [("train", "lr", "abc"), ("recognize", "margin", -1),
                                 ("data", "limit_per_split", -1)],
                         ids=lambda b: f"{b[0]}.{b[1]}")
def test_every_stage_stops_on_any_bad_section(tmp_path, monkeypatch, capsys, stage, kwargs,
                                              bad):
    """Whichever section the stage reads, a bad value anywhere stops it before work."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad_params(*bad)))
    monkeypatch.chdir(tmp_path)
    main = runpy.run_path(str(REPO / "stages" / f"{stage}.py"))["main"]
    with pytest.raises(SystemExit) as e:
        main(**kwargs)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad[0]}.{bad[1]}" in err[0], err
    assert os.listdir(tmp_path) == ["params.yaml"]


def test_stage_process_has_no_traceback(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad_params("model", "ngf", -8)))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(REPO / "stages" / "train.py"), "cut"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "error: params.yaml: model.ngf = -8: should be greater than 0"
    assert os.listdir(tmp_path) == ["params.yaml"]
