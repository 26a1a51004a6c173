"""Export: ONNX equal to PyTorch, dynamic height/width, metadata carried; the
onnxruntime backend in `fss sketch`; TorchScript; int8 quantisation."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from fss.inference.export import (
    export_onnx,
    export_torchscript,
    onnx_info,
    supported_opset,
)
from fss.inference.model_file import ModelFileError, load_model
from fss.inference.runtime import open_runner
from tests.conftest import tiny_model_file


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    model = tiny_model_file(d / "g.pt", mask_input=True, size=32)
    opset = export_onnx(model, d / "g.onnx")
    return model, d / "g.onnx", opset


def test_onnx_equals_pytorch_at_any_size(exported):
    model, onnx_path, opset = exported
    assert opset == supported_opset() >= 18
    g, info = load_model(model)
    ort = open_runner(onnx_path)
    assert ort.info == info
    torch.manual_seed(1)
    for shape in ((1, 4, 32, 32), (2, 4, 48, 64)):
        x = torch.rand(shape) * 2 - 1
        with torch.no_grad():
            want = g(x)
        got = ort(x)
        assert got.shape == want.shape
        assert (got - want).abs().max().item() < 1e-3


def test_onnx_metadata_is_in_metadata_props(exported):
    import onnx

    _, onnx_path, _ = exported
    props = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    meta = json.loads(props["fss"])
    assert meta["image_size"] == 32 and meta["mask_input"] is True
    assert meta["masks"]["method"] == "selfie"


def test_onnx_without_metadata_is_refused(tmp_path, exported):
    import onnx

    _, onnx_path, _ = exported
    m = onnx.load(str(onnx_path))
    del m.metadata_props[:]
    onnx.save(m, str(tmp_path / "bare.onnx"))
    with pytest.raises(ModelFileError, match="bare.onnx: an ONNX file without fss metadata"):
        onnx_info(tmp_path / "bare.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ModelFileError, match="junk.onnx"):
        onnx_info(tmp_path / "junk.onnx")
    with pytest.raises(ModelFileError, match="runs an .onnx file"):
        open_runner(tmp_path / "g.pt", "onnxruntime")


def test_sketch_cli_onnxruntime_matches_torch(tmp_path, exported, monkeypatch):
    """The same photos through both backends: sketches within one grey level."""
    from fss.cli import app

    model, onnx_path, _ = exported
    monkeypatch.setattr("fss.data.align.EyeDetector.for_alignment",
                        lambda *a, **k: lambda rgb: (np.array([[18.0, 30.0], [30.0, 30.0]]),
                                                     0.99))
    monkeypatch.setattr("fss.inference.sketch.make_segmenter",
                        lambda masks: lambda rgb: np.ones(rgb.shape[:2], bool))
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (60, 50, 3), dtype=np.uint8)).save(
            tmp_path / "in" / f"p{i}.png")
    outs = {}
    for backend, ck in (("torch", model), ("onnxruntime", onnx_path)):
        r = CliRunner().invoke(app, ["sketch", str(tmp_path / "in"), "-o",
                                     str(tmp_path / backend), "--checkpoint", str(ck),
                                     "--backend", backend, "--device", "cpu"])
        assert r.exit_code == 0, r.output
        outs[backend] = [np.asarray(Image.open(tmp_path / backend / f"p{i}_png.png"), np.int16)
                         for i in range(2)]
    for a, b in zip(outs["torch"], outs["onnxruntime"], strict=True):
        assert a.shape == (32, 32) and np.abs(a - b).max() <= 1


def test_torchscript_export_carries_metadata(tmp_path, exported):
    model, _, _ = exported
    export_torchscript(model, tmp_path / "g.ts.pt")
    extra = {"fss": ""}
    ts = torch.jit.load(str(tmp_path / "g.ts.pt"), _extra_files=extra)
    assert json.loads(extra["fss"])["image_size"] == 32
    g, _ = load_model(model)
    x = torch.rand(1, 4, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (ts(x) - g(x)).abs().max().item() < 1e-5


def test_int8_quantisation_keeps_metadata_and_stays_close(tmp_path, exported):
    from fss.inference.quantize import quantize_int8

    model, onnx_path, _ = exported
    g, info = load_model(model)
    torch.manual_seed(2)
    calib = [(torch.rand(1, 4, 32, 32) * 2 - 1).numpy() for _ in range(8)]
    quantize_int8(onnx_path, tmp_path / "g8.onnx", calib)
    q = open_runner(tmp_path / "g8.onnx")
    assert q.info == info
    x = torch.from_numpy(calib[0])
    with torch.no_grad():
        want = g(x)
    got = q(x)
    assert got.shape == want.shape and torch.isfinite(got).all()
    # int8 on a random 4-channel net: close on average, not bit-equal.
    assert 0 < (got - want).abs().mean().item() < 0.1
    assert not list(tmp_path.glob(".g8.onnx.*"))


def test_export_cli(tmp_path, exported):
    from fss.cli import app

    model, _, _ = exported
    r = CliRunner().invoke(app, ["export", str(model), "--format", "onnx", "-o",
                                 str(tmp_path / "x.onnx")])
    assert r.exit_code == 0, r.output
    assert onnx_info(tmp_path / "x.onnx").image_size == 32
    bad = CliRunner().invoke(app, ["export", str(model), "--format", "tflite"])
    assert bad.exit_code == 2
    missing = CliRunner().invoke(app, ["export", str(tmp_path / "none.pt")])
    assert missing.exit_code == 2 and "none.pt: model file not found" in missing.output


def test_export_cli_int8_calibrates_on_the_training_split(tmp_path, exported):
    from fss.cli import app

    model, _, _ = exported
    rng = np.random.default_rng(3)
    (tmp_path / "masks").mkdir()
    rows = ["id,subset,split,photo,sketch"]
    for i, split in enumerate(("train", "train", "test")):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
            tmp_path / f"p{i}.png")
        Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "masks" / f"p{i}.png")
        rows.append(f"p{i},cuhk,{split},{tmp_path / f'p{i}.png'},{tmp_path / f'p{i}.png'}")
    (tmp_path / "splits.csv").write_text("\n".join(rows) + "\n")
    m = tmp_path / "m.pt"
    m.write_bytes(model.read_bytes())
    r = CliRunner().invoke(app, ["export", str(m), "--quantize", "int8", "--calibration",
                                 str(tmp_path / "splits.csv"), "--masks",
                                 str(tmp_path / "masks")])
    assert r.exit_code == 0, r.output
    assert "calibrated on 2 training photos" in r.output
    assert onnx_info(tmp_path / "m-int8.onnx").mask_input
    assert (tmp_path / "m.onnx").is_file()
