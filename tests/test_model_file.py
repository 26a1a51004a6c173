"""The model file: metadata round trip, safe loading, the legacy upgrade, and the
training side (the exported generator carries the stage's settings; an unreadable
latest.pt starts a fresh run with a warning)."""

from dataclasses import replace

import pytest
import torch
from typer.testing import CliRunner

from fss.data.align import AlignParams
from fss.data.masks import MaskParams
from fss.inference.model_file import (
    ModelFileError,
    ModelInfo,
    load_model,
    read_model,
    safe_load,
    save_model,
)
from fss.models.generator import GeneratorParams, ResnetGenerator
from tests.conftest import tiny_model_file, tiny_pairs


def _info(**kw):
    base = ModelInfo(in_channels=4, out_channels=1, generator=GeneratorParams(ngf=4, n_blocks=1),
                     mask_input=True, image_size=48,
                     align=AlignParams(size=48, eye_left=(0.38, 0.47), eye_right=(0.62, 0.47)),
                     masks=MaskParams(method="background", threshold=0.3), row="fss", seed=2,
                     profile="cpu", git_commit="abc123", iterations=1234)
    return replace(base, **kw)


def test_metadata_round_trips_and_weights_only_loads_it(tmp_path):
    info = _info()
    g = ResnetGenerator(4, 1, info.generator)
    save_model(tmp_path / "g.pt", g.state_dict(), info)
    raw = torch.load(tmp_path / "g.pt", weights_only=True)
    assert raw["format"] == "fss-generator" and raw["align"]["eye_left"] == [0.38, 0.47]
    g2, info2 = load_model(tmp_path / "g.pt")
    assert info2 == info
    x = torch.rand(1, 4, 16, 16)
    assert torch.equal(g.eval()(x), g2(x)) and g2.mask_input


def test_unreadable_and_foreign_files_are_one_line_errors(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="junk.pt: not a readable model file") as e:
        read_model(tmp_path / "junk.pt")
    assert "\n" not in str(e.value)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="other.pt: not an fss model file"):
        read_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt: model file not found"):
        read_model(tmp_path / "missing.pt")
    # The weights must fit the architecture the file states.
    save_model(tmp_path / "wrong.pt", ResnetGenerator(3, 1, GeneratorParams(ngf=4, n_blocks=1)
                                                      ).state_dict(), _info())
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(tmp_path / "wrong.pt")


def test_a_pickled_object_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"state_dict": {}, "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(ModelFileError, match="evil.pt: refused"):
        safe_load(tmp_path / "evil.pt")
    assert not marker.exists()


def _legacy(path, mask_input=True):
    torch.manual_seed(0)
    ch = 4 if mask_input else 3
    g = ResnetGenerator(ch, 1, GeneratorParams(ngf=4, n_blocks=1))
    torch.save({"state_dict": g.state_dict(), "in_channels": ch, "out_channels": 1,
                "generator": {"ngf": 4, "n_blocks": 1, "norm": "instance", "n_downsampling": 2},
                "mask_input": mask_input, "row": "fss"}, path)
    return g


def test_old_generator_is_refused_then_upgraded_once_by_the_cli(tmp_path):
    import yaml

    from fss.cli import app

    g = _legacy(tmp_path / "old.pt")
    with pytest.raises(ModelFileError, match="fss upgrade-model .*old.pt --params"):
        read_model(tmp_path / "old.pt")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"meta": {"profile": "cpu"}, "align": {"size": 128, "eye_left": [0.41, 0.5]},
         "masks": {"method": "background"}}))
    r = CliRunner().invoke(app, ["upgrade-model", str(tmp_path / "old.pt"), "--params",
                                 str(tmp_path / "params.yaml")])
    assert r.exit_code == 0, r.output
    assert len(r.output.strip().splitlines()) == 1 and "image size 128" in r.output
    g2, info = load_model(tmp_path / "old.pt")
    assert (info.image_size, info.align.eye_left, info.masks.method, info.row, info.profile) == (
        128, (0.41, 0.5), "background", "fss", "cpu")
    assert "upgraded" in info.note
    x = torch.rand(1, 4, 16, 16)
    assert torch.equal(g.eval()(x), g2(x))
    again = CliRunner().invoke(app, ["upgrade-model", str(tmp_path / "old.pt"), "--params",
                                     str(tmp_path / "params.yaml")])
    assert again.exit_code == 2 and "nothing to upgrade" in again.output


def test_model_info_cli(tmp_path):
    from fss.cli import app

    r = CliRunner().invoke(app, ["model-info", str(tiny_model_file(tmp_path / "g.pt", True))])
    assert r.exit_code == 0 and "image size: 32" in r.output and "selfie" in r.output


def _train_cfg():
    from fss.training.config import LossParams, ModelParams, RowParams, TrainingConfig, TrainParams
    from fss.training.sampling import SamplingParams

    return TrainingConfig(row_name="fss", row=RowParams(sampling="dss", mask_input=True),
                          model=ModelParams(ngf=4, ndf=4, n_blocks=5, mlp_dim=16),
                          sampling=SamplingParams(num_patches=16, n_face=16, n_hair=8),
                          loss=LossParams(gamma=0.0),
                          train=TrainParams(epochs=1, epochs_decay=0, iters_per_epoch=2,
                                            checkpoint_every=1, sample_every=1, sample_ids=1,
                                            threads=1),
                          seed=5, device="cpu")


def test_training_exports_a_self_contained_model_and_survives_a_corrupt_latest(tmp_path,
                                                                               capsys):
    from fss.training.loop import train_row

    m = tmp_path / "m"
    m.mkdir()
    (m / "latest.pt").write_bytes(b"\x80\x02 half a checkpoint")
    meta = {"align": AlignParams(eye_left=(0.39, 0.5)), "masks": MaskParams(threshold=0.4),
            "profile": "smoke", "git_commit": "deadbeef"}
    train_row(_train_cfg(), tiny_pairs(), m, tmp_path / "c.csv", tmp_path / "s.json",
              progress=False, model_meta=meta)
    out = capsys.readouterr().out
    assert "warning" in out and "latest.pt" in out and "starting anew" in out
    _, info = load_model(m / "generator.pt")
    assert (info.image_size, info.align.size, info.align.eye_left, info.masks.threshold) == (
        32, 32, (0.39, 0.5), 0.4)
    assert (info.row, info.seed, info.profile, info.git_commit, info.iterations) == (
        "fss", 5, "smoke", "deadbeef", 2)
    from fss.training import checkpoint as ckpt

    assert ckpt.load(m / "latest.pt")["epoch"] == 1  # a fresh, readable checkpoint
