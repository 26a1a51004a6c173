import numpy as np
import pytest
import torch
import yaml
from conftest import shared_cufs
from PIL import Image

from fss.data.align import AlignParams
from fss.data.masks import MaskParams
from fss.models.generator import GeneratorParams, ResnetGenerator
from fss.sketch import NoFaceError, Sketcher, list_photos, paste_back, sketch_photos
from fss.training.checkpoint import save_atomic

ALIGN = AlignParams(size=32)


def _generator(path, mask_input=False):
    torch.manual_seed(0)
    ch = 4 if mask_input else 3
    g = ResnetGenerator(ch, 1, GeneratorParams(ngf=4, n_blocks=1))
    save_atomic({"state_dict": g.state_dict(), "in_channels": ch, "out_channels": 1,
                 "generator": {"ngf": 4, "n_blocks": 1, "norm": "instance",
                               "n_downsampling": 2}, "mask_input": mask_input}, path)
    return path


def _photos(folder, n_face=2, n_blank=1):
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n_face):
        Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(
            folder / "sub" / f"face{i}.jpg")
    for i in range(n_blank):
        Image.fromarray(np.zeros((50, 40, 3), np.uint8)).save(folder / f"blank{i}.png")
    (folder / "notes.txt").write_text("not an image")


def _detect(rgb):
    """Stand-in detector: a black image has no face; otherwise fixed eyes."""
    if rgb.max() == 0:
        return None, 0.0
    return np.array([[14.0, 24.0], [26.0, 24.0]]), 0.99


def test_folder_of_photos_continues_past_a_faceless_one(tmp_path):
    _photos(tmp_path / "in")
    photos = list_photos(tmp_path / "in")
    assert [p.name for p in photos] == ["blank0.png", "face0.jpg", "face1.jpg"]
    sk = Sketcher(_generator(tmp_path / "g.pt", mask_input=True), ALIGN, MaskParams(),
                  torch.device("cpu"), detect=_detect,
                  segment=lambda rgb: np.ones(rgb.shape[:2], bool))
    res = sketch_photos(photos, tmp_path / "in", tmp_path / "out", sk, progress=False)
    assert [r.error for r in res] == ["no face found", None, None]
    out = np.asarray(Image.open(tmp_path / "out" / "sub" / "face0.png"))
    assert out.shape == (32, 32) and out.dtype == np.uint8
    assert not list((tmp_path / "out").rglob(".*tmp*"))


def test_paste_back_returns_the_photo_frame(tmp_path):
    _photos(tmp_path / "in", n_blank=0)
    sk = Sketcher(_generator(tmp_path / "g.pt"), ALIGN, MaskParams(), torch.device("cpu"),
                  detect=_detect)
    res = sketch_photos(list_photos(tmp_path / "in"), tmp_path / "in", tmp_path / "out", sk,
                        paste=True, progress=False)
    assert all(r.error is None for r in res)
    assert np.asarray(Image.open(res[0].out)).shape == (50, 40)
    # The identity alignment pastes back onto itself.
    s = np.full((32, 32), 7, np.uint8)
    assert np.array_equal(paste_back(s, np.eye(3), 20, 30)[:20, :30], s[:20, :30])


def test_low_confidence_is_no_face(tmp_path):
    sk = Sketcher(_generator(tmp_path / "g.pt"), ALIGN, MaskParams(), torch.device("cpu"),
                  detect=lambda rgb: (np.array([[1.0, 1.0], [2.0, 1.0]]), 0.5))
    with pytest.raises(NoFaceError, match="below align.min_confidence"):
        sk(np.zeros((8, 8, 3), np.uint8))


def test_list_photos_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        list_photos(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        list_photos(tmp_path / "empty")


def test_cli_exit_codes_with_real_detector(tmp_path, weights_dir):
    from typer.testing import CliRunner

    from fss.cli import app

    cufs = shared_cufs()
    if cufs is None:
        pytest.skip("real CUFS not found (set FSS_CUFS or put ../shared beside)")
    photo = sorted((cufs / "AR" / "Testing Photos").iterdir())[0]
    (tmp_path / "in").mkdir()
    Image.open(photo).save(tmp_path / "in" / "person.jpg")
    Image.fromarray(np.full((250, 200, 3), 200, np.uint8)).save(tmp_path / "in" / "wall.png")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"align": {"size": 64}}))
    args = ["sketch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--checkpoint",
            str(_generator(tmp_path / "g.pt")), "--params", str(tmp_path / "params.yaml"),
            "--device", "cpu"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1, r.output
    assert "skipped" in r.output and "wall.png" in r.output
    assert "1 of 2 photos sketched" in r.output
    assert (tmp_path / "out" / "person.png").is_file()
    (tmp_path / "in" / "wall.png").unlink()
    assert CliRunner().invoke(app, args).exit_code == 0
    bad = CliRunner().invoke(app, [*args[:1], str(tmp_path / "nope"), *args[2:]])
    assert bad.exit_code == 2 and "no such file" in bad.output


def test_default_checkpoint_is_the_lowest_seed_of_the_fss_row(tmp_path):
    from fss.cli import default_checkpoint

    with pytest.raises(FileNotFoundError, match="no trained fss generator"):
        default_checkpoint(tmp_path)
    for k in (3, 1):
        (tmp_path / "fss" / f"seed{k}").mkdir(parents=True)
        (tmp_path / "fss" / f"seed{k}" / "generator.pt").write_bytes(b"x")
    assert default_checkpoint(tmp_path) == tmp_path / "fss" / "seed1" / "generator.pt"
