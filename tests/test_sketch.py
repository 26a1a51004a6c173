import csv

import numpy as np
import pytest
import torch
from conftest import shared_cufs, tiny_model_file
from PIL import Image

from fss.data.align import AlignParams
from fss.data.masks import MaskParams
from fss.inference.runtime import open_runner
from fss.inference.sketch import (
    NoFaceError,
    Sketcher,
    list_photos,
    output_name,
    paste_back,
    read_photo,
    settings,
    sketch_photos,
)

ALIGN = AlignParams(size=32, min_face_px=20)


def _runner(tmp_path, mask_input=False):
    return open_runner(tiny_model_file(tmp_path / "g.pt", mask_input=mask_input))


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


def _csv(out):
    with open(out / "sketches.csv") as f:
        return list(csv.DictReader(f))


def test_folder_of_photos_continues_past_a_faceless_one(tmp_path):
    _photos(tmp_path / "in")
    photos = list_photos(tmp_path / "in")
    assert [p.name for p in photos] == ["blank0.png", "face0.jpg", "face1.jpg"]
    sk = Sketcher(_runner(tmp_path, mask_input=True), ALIGN, MaskParams(), detect=_detect,
                  segment=lambda rgb: np.ones(rgb.shape[:2], bool))
    res = sketch_photos(photos, tmp_path / "in", tmp_path / "out", sk, progress=False)
    assert [r.error for r in res] == ["no face found", None, None]
    out = np.asarray(Image.open(tmp_path / "out" / "sub" / "face0_jpg.png"))
    assert out.shape == (32, 32) and out.dtype == np.uint8
    assert not list((tmp_path / "out").rglob(".*tmp*"))
    rows = _csv(tmp_path / "out")
    assert [(r["output"], r["status"], r["reason"]) for r in rows] == [
        ("", "failed", "no face found"), ("sub/face0_jpg.png", "ok", ""),
        ("sub/face1_jpg.png", "ok", "")]


def test_paste_back_returns_the_photo_frame(tmp_path):
    _photos(tmp_path / "in", n_blank=0)
    sk = Sketcher(_runner(tmp_path), ALIGN, None, detect=_detect)
    res = sketch_photos(list_photos(tmp_path / "in"), tmp_path / "in", tmp_path / "out", sk,
                        paste=True, progress=False)
    assert all(r.error is None for r in res)
    assert np.asarray(Image.open(res[0].out)).shape == (50, 40)
    # The identity alignment pastes back onto itself.
    s = np.full((32, 32), 7, np.uint8)
    assert np.array_equal(paste_back(s, np.eye(3), 20, 30)[:20, :30], s[:20, :30])


def test_low_confidence_is_no_face(tmp_path):
    sk = Sketcher(_runner(tmp_path), ALIGN, None,
                  detect=lambda rgb: (np.array([[1.0, 1.0], [2.0, 1.0]]), 0.5))
    with pytest.raises(NoFaceError, match="below align.min_confidence"):
        sk(np.full((40, 40, 3), 9, np.uint8))


def test_list_photos_errors_and_skips_the_output_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        list_photos(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        list_photos(tmp_path / "empty")
    _photos(tmp_path / "in", n_face=1, n_blank=0)
    (tmp_path / "in" / "out").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "in" / "out" / "face0_jpg.png")
    assert [p.name for p in list_photos(tmp_path / "in", exclude=tmp_path / "in" / "out")] == [
        "face0.jpg"]


def test_output_names_keep_the_extension_and_sub_folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    names = {output_name(src / n, src) for n in ("a.jpg", "a.png", "a.JPG", "a_jpg.png")}
    assert len(names) == 4
    assert output_name(src / "x" / "a.jpg", src).as_posix() == "x/a_jpg.png"
    (tmp_path / "one.jpeg").write_bytes(b"")
    assert output_name(tmp_path / "one.jpeg", tmp_path / "one.jpeg").as_posix() == "one_jpeg.png"


def test_read_photo_orientation_depth_and_palette(tmp_path):
    # EXIF orientation 6 (rotate 90 clockwise to view): stored 40 wide, 20 high.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = 255  # left half white as stored = top half white when upright
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    up = read_photo(tmp_path / "rot.jpg")
    assert up.shape == (40, 20, 3)
    assert up[:15].mean() > 200 and up[25:].mean() < 50
    # 16-bit gray: mid-gray stays mid-gray instead of clipping to white.
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(tmp_path / "g16.png")
    g16 = read_photo(tmp_path / "g16.png")
    assert g16.dtype == np.uint8 and g16.shape == (8, 8, 3) and abs(int(g16[0, 0, 0]) - 128) <= 1
    # Palette with transparency: flattened onto white, colours kept.
    pal = Image.new("P", (4, 4))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((0, 0), 1)
    pal.info["transparency"] = 1
    pal.save(tmp_path / "pal.png")
    p = read_photo(tmp_path / "pal.png")
    assert tuple(p[0, 0]) == (255, 255, 255) and tuple(p[1, 1]) == (255, 0, 0)


def test_any_folder_every_input_reported(tmp_path):
    """1x1 PNG, a.jpg + a.png, a rotated-EXIF photo, a 16-bit PNG and a broken file:
    one CSV row each, every sketch but the tiny and the broken one."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(1)
    Image.new("RGB", (1, 1)).save(src / "tiny.png")
    face = rng.integers(1, 255, (60, 48, 3), dtype=np.uint8)
    Image.fromarray(face).save(src / "a.jpg")
    Image.fromarray(face).save(src / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(face).save(src / "rotated.jpg", exif=exif)
    Image.fromarray(face[..., 0].astype(np.uint16) * 257).save(src / "deep.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    sk = Sketcher(_runner(tmp_path), ALIGN, None, detect=_detect)
    res = sketch_photos(list_photos(src), src, tmp_path / "out", sk, progress=False)
    rows = {r["input"].rsplit("/", 1)[-1]: r for r in _csv(tmp_path / "out")}
    assert set(rows) == {"tiny.png", "a.jpg", "a.png", "rotated.jpg", "deep.png", "broken.jpg"}
    assert rows["tiny.png"]["status"] == "failed" and "1x1 px" in rows["tiny.png"]["reason"]
    assert rows["broken.jpg"]["status"] == "failed" and rows["broken.jpg"]["reason"]
    ok = {k for k, r in rows.items() if r["status"] == "ok"}
    assert ok == {"a.jpg", "a.png", "rotated.jpg", "deep.png"}
    assert {r.out.name for r in res if r.out} == {"a_jpg.png", "a_png.png", "rotated_jpg.png",
                                                  "deep_png.png"}


def test_settings_come_from_the_model_and_params_only_override_details(tmp_path):
    runner = _runner(tmp_path, mask_input=True)
    align, masks, notes = settings(runner, None)
    assert align.size == 32 and masks.method == "selfie" and notes == []
    params = {"align": {"size": 256, "min_confidence": 0.5},
              "masks": {"method": "background", "threshold": 0.3}}
    align, masks, notes = settings(runner, params)
    assert align.size == 32 and align.min_confidence == 0.5 and align.min_face_px == 20
    assert masks.method == "selfie" and masks.threshold == 0.3
    assert len(notes) == 2 and "align.size 256" in notes[0]


def test_cli_with_the_model_file_alone(tmp_path, monkeypatch):
    """No params.yaml anywhere: the model file is enough; a crafted payload is refused."""
    from typer.testing import CliRunner

    import fss.inference.sketch as sketch_mod
    from fss.cli import app

    monkeypatch.chdir(tmp_path)
    g = tiny_model_file(tmp_path / "g.pt")
    _photos(tmp_path / "in")
    monkeypatch.setattr("fss.data.align.EyeDetector.for_alignment", lambda *a, **k: _detect)
    args = ["sketch", "in", "-o", "out", "--checkpoint", str(g), "--device", "cpu"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1, r.output
    assert "2 of 3 photos sketched" in r.output and "blank0.png: no face found" in r.output
    assert len(_csv(tmp_path / "out")) == 3
    assert sketch_mod.CSV_NAME == "sketches.csv"


def test_cli_refuses_a_pickle_payload_and_runs_nothing(tmp_path):
    from typer.testing import CliRunner

    from fss.cli import app

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"state_dict": {}, "evil": Payload()}, tmp_path / "evil.pt")
    (tmp_path / "in").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / "in" / "x.png")
    r = CliRunner().invoke(app, ["sketch", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                 "--checkpoint", str(tmp_path / "evil.pt"), "--device", "cpu"])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "evil.pt: refused" in lines[0], r.output
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_cli_exit_codes_with_real_detector(tmp_path, weights_dir):
    from typer.testing import CliRunner

    from fss.cli import app

    cufs = shared_cufs()
    if cufs is None:
        pytest.skip("real CUFS not found (set FSS_CUFS or put ../shared beside)")
    photo = sorted((cufs / "AR" / "Testing Photos").iterdir())[0]
    (tmp_path / "in").mkdir()
    rgb = Image.open(photo).convert("RGB")
    rgb.save(tmp_path / "in" / "person.jpg")
    rgb.save(tmp_path / "in" / "person.png")
    # Stored sideways, EXIF orientation 6 says "turn 90 degrees clockwise to view".
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "in" / "phone.jpg", exif=exif)
    deep = np.asarray(rgb.convert("L")).astype(np.uint16) * 257
    Image.fromarray(deep).save(tmp_path / "in" / "deep16.png")
    Image.fromarray(np.full((250, 200, 3), 200, np.uint8)).save(tmp_path / "in" / "wall.png")
    Image.new("RGB", (1, 1)).save(tmp_path / "in" / "dot.png")
    args = ["sketch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--checkpoint",
            str(tiny_model_file(tmp_path / "g.pt", size=64)), "--device", "cpu"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1, r.output
    assert "wall.png" in r.output and "dot.png" in r.output
    assert "4 of 6 photos sketched" in r.output
    for name in ("person_jpg", "person_png", "phone_jpg", "deep16_png"):
        assert np.asarray(Image.open(tmp_path / "out" / f"{name}.png")).shape == (64, 64)
    assert len(_csv(tmp_path / "out")) == 6
    for name in ("wall.png", "dot.png"):
        (tmp_path / "in" / name).unlink()
    assert CliRunner().invoke(app, [*args, "--overwrite"]).exit_code == 0
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
