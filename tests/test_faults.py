"""Bad input and faults of the environment, as a new user meets them: every command
and stage on a table of bad inputs ends with one line and exit code 2, no traceback,
and nothing written or changed; `fss sketch` into a full or read-only filesystem
leaves no temp file and a complete sketches.csv; a NaN model is refused at load; a
diverging run stops with one line and keeps its last good checkpoint."""

import csv
import errno
import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from fss.cli import app
from tests.conftest import tiny_model_file, tiny_pairs

REPO = Path(__file__).resolve().parents[1]
STAGES = sorted(p.stem for p in (REPO / "stages").glob("*.py"))


# --- the inputs the table is built from ---------------------------------------------

def _model_dict(tmp: Path) -> dict:
    return torch.load(tiny_model_file(tmp / "_base.pt"), weights_only=True)


def _bad_model(tmp: Path, name: str, change) -> Path:
    d = _model_dict(tmp)
    (tmp / "_base.pt").unlink()
    change(d)
    torch.save(d, tmp / name)
    return tmp / name


def _scaled(factor: float):
    def change(d):
        d["state_dict"] = {k: v * factor if v.is_floating_point() else v
                           for k, v in d["state_dict"].items()}
    return change


def _photos(tmp: Path) -> Path:
    (tmp / "in").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(tmp / "in" / "a.jpg")
    return tmp / "in"


def _onnx(tmp: Path) -> Path:
    from fss.inference.export import export_onnx

    export_onnx(tiny_model_file(tmp / "_g.pt"), tmp / "good.onnx")
    (tmp / "_g.pt").unlink()
    return tmp / "good.onnx"


def _broken_graph(tmp: Path) -> Path:
    import onnx

    m = onnx.load(str(_onnx(tmp)))
    m.graph.node[0].input[0] = "no_such_tensor"
    onnx.save(m, str(tmp / "broken.onnx"))
    (tmp / "good.onnx").unlink()
    return tmp / "broken.onnx"


def _external_data_missing(tmp: Path) -> Path:
    import onnx

    m = onnx.load(str(_onnx(tmp)))
    onnx.save(m, str(tmp / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.onnx.data", size_threshold=0)
    (tmp / "ext.onnx.data").unlink()
    (tmp / "good.onnx").unlink()
    return tmp / "ext.onnx"


def _params(tmp: Path, change=None, text: str | None = None) -> Path:
    p = tmp / "p.yaml"
    if text is not None:
        p.write_text(text)
        return p
    d = yaml.safe_load((REPO / "params.yaml").read_text())
    if change:
        change(d)
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    return p


def _set(section: str, key: str, value):
    return lambda d: d[section].__setitem__(key, value)


def _metrics_root(tmp: Path, text: str) -> Path:
    """A pipeline tree (its params.yaml says where its files are) with one metrics file."""
    (tmp / "root").mkdir()
    shutil.copy(REPO / "params.yaml", tmp / "root" / "params.yaml")
    metrics = tmp / "root" / yaml.safe_load((REPO / "params.yaml").read_text())["paths"]["metrics"]
    metrics.mkdir(parents=True)
    (metrics / "fss.json").write_text(text)
    return tmp / "root"


def _baseline(tmp: Path, text: str) -> Path:
    (tmp / "b.json").write_text(text)
    return tmp / "b.json"


# (id, setup(tmp) -> argv, words the one line must hold)
CASES = [
    ("sketch-backend", lambda t: ["sketch", str(_photos(t)), "-o", str(t / "out"),
                                  "--checkpoint", str(tiny_model_file(t / "g.pt")),
                                  "--backend", "foo"], "--backend 'foo'"),
    ("sketch-out-is-a-file", lambda t: ["sketch", str(_photos(t)), "-o",
                                        str(tiny_model_file(t / "g.pt")), "--checkpoint",
                                        str(t / "g.pt")], "exists and is not a folder"),
    ("sketch-existing-output", lambda t: [
        "sketch", str(_photos(t) / "a.jpg"), "-o", str(t / "o"), "--checkpoint",
        str(tiny_model_file(t / "g.pt")), "--device", "cpu"]
        if (t / "o").mkdir() or (t / "o" / "a_jpg.png").write_bytes(b"mine") else None,
        "a_jpg.png: exists; pass --overwrite"),
    ("sketch-no-source", lambda t: ["sketch", str(t / "nope"), "-o", str(t / "out"),
                                    "--checkpoint", str(tiny_model_file(t / "g.pt"))],
     "no such file or folder"),
    ("sketch-pickle-payload", lambda t: ["sketch", str(_photos(t)), "-o", str(t / "out"),
                                         "--checkpoint", str(_pickle(t))], "refused"),
    ("sketch-nan-weights", lambda t: ["sketch", str(_photos(t)), "-o", str(t / "out"),
                                      "--checkpoint", str(_bad_model(t, "nan.pt",
                                                                     _scaled(float("nan"))))],
     "hold NaN or inf"),
    ("sketch-nonfinite-output", lambda t: ["sketch", str(_photos(t)), "-o", str(t / "out"),
                                           "--checkpoint",
                                           str(_bad_model(t, "big.pt", _scaled(1e30)))],
     "outputs NaN or inf"),
    ("sketch-image-size-abc", lambda t: ["sketch", str(_photos(t)), "-o", str(t / "out"),
                                         "--checkpoint", str(_bad_model(
                                             t, "abc.pt", lambda d: d.update(image_size="abc")))],
     "metadata.image_size = 'abc'"),
    ("sketch-image-size-mismatch", lambda t: [
        "sketch", str(_photos(t)), "-o", str(t / "out"), "--checkpoint",
        str(_bad_model(t, "m.pt", lambda d: d.update(image_size=64)))],
     "image_size 64 differs from align.size 32"),
    ("sketch-onnx-broken-graph", lambda t: ["sketch", str(_photos(t)), "-o", str(t / "out"),
                                            "--checkpoint", str(_broken_graph(t))],
     "onnxruntime cannot run it"),
    ("sketch-onnx-external-data-missing", lambda t: [
        "sketch", str(_photos(t)), "-o", str(t / "out"), "--checkpoint",
        str(_external_data_missing(t))], "onnxruntime cannot run it"),
    ("sketch-params-duplicate-key", lambda t: [
        "sketch", str(_photos(t)), "-o", str(t / "out"), "--checkpoint",
        str(tiny_model_file(t / "g.pt")), "--params", str(_params(t, text="a: 1\na: 2\n"))],
     "duplicate key 'a'"),
    ("export-opset-5", lambda t: ["export", str(tiny_model_file(t / "g.pt")), "--opset", "5"],
     "--opset 5"),
    ("export-format", lambda t: ["export", str(tiny_model_file(t / "g.pt")), "--format",
                                 "tflite"], "--format 'tflite'"),
    ("export-int8-no-calibration", lambda t: [
        "export", str(tiny_model_file(t / "g.pt")), "--quantize", "int8", "-o",
        str(t / "q.onnx"), "--calibration", str(t / "none.csv")], "none.csv: missing"),
    ("export-int8-damaged-splits", lambda t: [
        "export", str(tiny_model_file(t / "g.pt")), "--quantize", "int8", "-o",
        str(t / "q.onnx"), "--calibration",
        str(_write(t / "splits.csv", b"id,subset,split\na,cuhk,train\n"))],
     "splits.csv: column(s) photo, sketch missing"),
    ("export-existing-output", lambda t: [
        "export", str(tiny_model_file(t / "g.pt")), "-o",
        str(t / "g.onnx") if (t / "g.onnx").write_bytes(b"mine") else ""],
     "g.onnx: exists; pass --overwrite"),
    ("export-nan-model", lambda t: ["export", str(_bad_model(t, "nan.pt",
                                                             _scaled(float("nan"))))],
     "hold NaN or inf"),
    ("model-info-image-size", lambda t: ["model-info", str(_bad_model(
        t, "abc.pt", lambda d: d.update(image_size="abc")))], "metadata.image_size = 'abc'"),
    ("model-info-unknown-key", lambda t: ["model-info", str(_bad_model(
        t, "k.pt", lambda d: d.update(colour="red")))], "unknown key(s) colour"),
    ("model-info-truncated", lambda t: ["model-info", str(_truncated(
        tiny_model_file(t / "g.pt")))], "not a readable model file"),
    ("model-info-not-onnx", lambda t: ["model-info", str(_write(t / "x.onnx", b"junk"))],
     "not a readable ONNX file"),
    ("gate-baseline-shape", lambda t: ["gate", "check", "--baseline",
                                       str(_baseline(t, '{"metrics": 5}'))],
     "malformed baseline"),
    ("gate-baseline-value", lambda t: ["gate", "check", "--baseline",
                                       str(_baseline(t, '{"metrics": {"a": "x"}}'))],
     "metrics.a = 'x'"),
    ("gate-baseline-not-json", lambda t: ["gate", "check", "--baseline",
                                          str(_baseline(t, '{"metr'))], "not valid JSON"),
    ("gate-metrics-not-json", lambda t: ["gate", "check", "--root",
                                         str(_metrics_root(t, "{")), "--baseline",
                                         str(_baseline(t, '{"metrics": {}}'))],
     "fss.json: not valid JSON"),
    ("params-duplicate-section", lambda t: [
        "params", "--check", "--out",
        str(_params(t, text=(REPO / "params.yaml").read_text() + "loss:\n  alpha: 3\n"))],
     "duplicate key 'loss'"),
    ("params-align-size", lambda t: ["params", "--check", "--out",
                                     str(_params(t, _set("align", "size", 33)))],
     "align.size = 33"),
    ("params-nce-layers", lambda t: ["params", "--check", "--out",
                                     str(_params(t, _set("model", "nce_layers", [0, 99])))],
     "nce_layers [0, 99]"),
    ("params-not-yaml", lambda t: ["params", "--check", "--out",
                                   str(_params(t, text="a: [1\n"))], "not valid YAML"),
    ("params-conf-not-yaml", lambda t: _compose(t, conf=("row/cut.yaml", "model: [cut\n")),
     "conf/row/cut.yaml: line "),
    ("params-conf-duplicate-key", lambda t: _compose(
        t, conf=("config.yaml", "meta:\n  profile: x\n")), "found duplicate key meta"),
    ("params-conf-not-text", lambda t: _compose(t, conf=("row/rcs.yaml", b"\x89PNG\xff")),
     "conf/row/rcs.yaml: not a text (UTF-8) file"),
    ("params-unknown-feature", lambda t: _compose(t, "row@rows.fss=[cut,foo]"),
     "conf/row/foo.yaml: no such conf file"),
    ("params-unknown-profile", lambda t: _compose(t, "profile=nope"),
     "conf/profile/nope.yaml: no such conf file"),
    ("params-override-unknown-key", lambda t: _compose(t, "train.foo=1"),
     "-S 'train.foo=1': conf/ has no key train.foo"),
    ("params-override-not-parsed", lambda t: _compose(t, "train.lr"),
     "-S 'train.lr': not a valid override"),
    # (Hydra raises a plain ValueError for this one, from inside its defaults list)
    ("params-delete-a-row", lambda t: _compose(t, "~row@rows.rcs=[cut,rcs]"),
     "-S '~row@rows.rcs=[cut,rcs]': does not compose (Config group override deletion"),
    ("params-interpolation-missing", lambda t: _compose(t, "train.lr=${nope}"),
     "${nope} names no key"),
    ("params-out-is-a-folder", lambda t: _compose(t, out="conf"), "conf: is a folder"),
    ("summary-root-missing", lambda t: ["summary", "--root", str(t / "nope")],
     "nope: no such folder"),
    ("summary-params-not-yaml", lambda t: ["summary", "--root", str(_write(
        t / "r" / "params.yaml", b"a: [1\n").parent)], "params.yaml: not valid YAML"),
    ("upgrade-model-not-legacy", lambda t: ["upgrade-model", str(tiny_model_file(t / "g.pt")),
                                            "--params", str(REPO / "params.yaml")],
     "nothing to upgrade"),
    ("make-synthetic-cufs-not-empty", lambda t: [
        "make-synthetic-cufs", str(_write(t / "cufs" / "mine.txt", b"x").parent)],
     "is not an empty folder"),
]


def _compose(tmp: Path, *overrides: str, conf: tuple[str, str | bytes] | None = None,
             out: str = "p.yaml") -> list[str]:
    """`fss params` in ``tmp`` on a copy of conf/, one file of it replaced by ``conf``
    (its path under conf/ and text appended, or bytes written)."""
    shutil.copytree(REPO / "conf", tmp / "conf")
    if conf is not None:
        path = tmp / "conf" / conf[0]
        if isinstance(conf[1], bytes):
            path.write_bytes(conf[1])
        else:
            path.write_text(path.read_text() + conf[1])
    return ["params", "--out", str(tmp / out), *[a for o in overrides for a in ("-S", o)]]


def _pickle(tmp: Path) -> Path:
    class Payload:
        def __reduce__(self):
            return (open, (str(tmp / "pwned"), "w"))

    torch.save({"state_dict": {}, "evil": Payload()}, tmp / "evil.pt")
    return tmp / "evil.pt"


def _truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` with its size and mtime."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def assert_one_line_exit_2(result, words: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    # (a progress bar may come before it on stderr)
    assert len(errors) == 1 and lines[-1] == errors[0], result.output
    assert words in errors[0], errors[0]


@pytest.mark.parametrize(("setup", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_table(tmp_path, monkeypatch, setup, words):
    """Each command on a bad input: one line, exit code 2, no traceback, and no file
    made, changed or left half-written (the tree is the same before and after)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("fss.data.align.EyeDetector.for_alignment",
                        lambda *a, **k: lambda rgb: (np.array([[14.0, 24.0], [26.0, 24.0]]), 0.99))
    argv = setup(tmp_path)
    before = snapshot(tmp_path)
    r = CliRunner().invoke(app, argv)
    assert_one_line_exit_2(r, words)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "pwned").exists()


def _commands(typer_app, prefix=()):
    for c in typer_app.registered_commands:
        yield (*prefix, c.name or c.callback.__name__), c.callback
    for g in typer_app.registered_groups:
        yield from _commands(g.typer_instance, (*prefix, g.name))


def _stage(name: str):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_command_and_stage_goes_through_the_one_handler():
    names = {" ".join(n): cb for n, cb in _commands(app)}
    assert {"sketch", "export", "model-info", "params", "gate check", "weights list"} <= set(names)
    unwrapped = [n for n, cb in names.items() if not getattr(cb, "one_line_errors", False)]
    assert unwrapped == []
    assert [s for s in STAGES if not getattr(_stage(s).main, "one_line_errors", False)] == []


# --- faults while writing --------------------------------------------------------------

def _sketch_args(tmp: Path, n: int = 3) -> list[str]:
    (tmp / "in").mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(
            tmp / "in" / f"p{i}.jpg")
    return ["sketch", str(tmp / "in"), "-o", str(tmp / "out"), "--checkpoint",
            str(tiny_model_file(tmp / "g.pt")), "--device", "cpu"]


@pytest.fixture
def stub_detector(monkeypatch):
    monkeypatch.setattr("fss.data.align.EyeDetector.for_alignment",
                        lambda *a, **k: lambda rgb: (np.array([[14.0, 24.0], [26.0, 24.0]]), 0.99))


def _rows(out: Path) -> list[dict]:
    with open(out / "sketches.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_sketch_into_a_full_disk(tmp_path, monkeypatch, stub_detector):
    """The second sketch hits ENOSPC half-way through its temp file: the run stops
    there, no temp file is left, and sketches.csv lists every input."""
    import fss.io

    real = fss.io.save_png
    calls = []

    def filling(path, array):
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"\x89PNG partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, array)

    monkeypatch.setattr(fss.io, "save_png", filling)
    r = CliRunner().invoke(app, _sketch_args(tmp_path))
    assert_one_line_exit_2(r, "p1_jpg.png: No space left on device; 1 of 3 photos sketched")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["p0_jpg.png", "sketches.csv"]
    rows = _rows(out)
    assert [(x["input"].rsplit("/", 1)[1], x["status"]) for x in rows] == [
        ("p0.jpg", "ok"), ("p1.jpg", "failed"), ("p2.jpg", "failed")]
    assert "No space left on device" in rows[1]["reason"]
    assert rows[2]["reason"].startswith("not sketched: the output failed at p1_jpg.png")


def test_sketch_into_a_disk_full_from_the_first_byte_leaves_no_folder(tmp_path, monkeypatch,
                                                                      stub_detector):
    """Every write fails, sketches.csv too: one line naming the first failed sketch and
    the CSV, and the output folders this run made (``-o`` two levels deep, and the
    mirrored sub-folder) are not left behind empty."""
    import fss.io

    def full(path, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    args = _sketch_args(tmp_path)
    (tmp_path / "in" / "sub").mkdir()
    shutil.copy(tmp_path / "in" / "p0.jpg", tmp_path / "in" / "sub" / "q.jpg")
    (tmp_path / "in" / "p0.jpg").unlink()      # the first photo is the sub-folder's
    (tmp_path / "in" / "p1.jpg").unlink()
    (tmp_path / "in" / "p2.jpg").unlink()
    args[args.index("-o") + 1] = str(tmp_path / "new" / "out")
    monkeypatch.setattr(fss.io, "save_png", full)
    monkeypatch.setattr(fss.io, "write_text", full)
    before = snapshot(tmp_path)
    r = CliRunner().invoke(app, args)
    assert_one_line_exit_2(r, "q_jpg.png: No space left on device; ")
    assert "sketches.csv: No space left on device; 0 of 1 photos sketched, no sketches.csv " \
           "written" in r.stderr
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()


def test_sketch_into_a_read_only_filesystem(tmp_path, monkeypatch, stub_detector):
    """EROFS on the output is found before any photo is read; nothing is written.
    (Simulated: the check's probe file and every later write raise EROFS.)"""
    import tempfile

    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(k.get("dir", "")))

    args = _sketch_args(tmp_path)
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    before = snapshot(tmp_path)
    r = CliRunner().invoke(app, args)
    assert_one_line_exit_2(r, "out: cannot write there (Read-only file system)")
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="as root a read-only folder is still writable")
def test_sketch_into_a_read_only_folder(tmp_path, stub_detector):
    args = _sketch_args(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o555)
    try:
        r = CliRunner().invoke(app, args)
        assert_one_line_exit_2(r, "cannot write there")
        assert list((tmp_path / "out").iterdir()) == []
    finally:
        (tmp_path / "out").chmod(0o755)


def test_sketch_writes_escaped_names_that_are_not_utf8(tmp_path, stub_detector):
    args = _sketch_args(tmp_path, n=1)
    odd = tmp_path / "in" / os.fsdecode(b"caf\xe9.jpg")
    shutil.copy(tmp_path / "in" / "p0.jpg", odd)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    rows = _rows(tmp_path / "out")
    assert sorted(Path(x["input"]).name for x in rows) == ["caf\\xe9.jpg", "p0.jpg"]
    assert {x["status"] for x in rows} == {"ok"}
    assert (tmp_path / "out" / os.fsdecode(b"caf\xe9_jpg.png")).is_file()


def test_sketch_keeps_an_existing_output_unless_overwrite(tmp_path, stub_detector):
    args = _sketch_args(tmp_path, n=1)
    assert CliRunner().invoke(app, args).exit_code == 0
    first = (tmp_path / "out" / "p0_jpg.png").read_bytes()
    (tmp_path / "out" / "p0_jpg.png").write_bytes(b"mine")
    r = CliRunner().invoke(app, args)
    assert_one_line_exit_2(r, "exists (and 1 more); pass --overwrite")
    assert (tmp_path / "out" / "p0_jpg.png").read_bytes() == b"mine"
    assert CliRunner().invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert (tmp_path / "out" / "p0_jpg.png").read_bytes() == first


def test_export_int8_with_out_writes_only_out(tmp_path):
    from fss.inference.export import onnx_info

    model = tiny_model_file(tmp_path / "m" / "g.pt")
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "splits.csv").write_text(
        f"id,subset,split,photo,sketch\np,cuhk,train,{tmp_path / 'p.png'},{tmp_path / 'p.png'}\n")
    r = CliRunner().invoke(app, ["export", str(model), "--quantize", "int8", "-o",
                                 str(tmp_path / "q" / "g8.onnx"), "--calibration",
                                 str(tmp_path / "splits.csv")])
    assert r.exit_code == 0, r.output
    assert os.listdir(tmp_path / "m") == ["g.pt"]
    assert os.listdir(tmp_path / "q") == ["g8.onnx"]
    assert onnx_info(tmp_path / "q" / "g8.onnx").image_size == 32


# --- stages: a damaged split file, a damaged MLflow store, a diverging run -------------

# Every stage that reads the split file, called as dvc.yaml calls it.
SPLIT_READERS = [("masks", {}), ("pretrain_rcs", {}),
                 ("train", {"row": "cut", "seed": 0, "resume": True, "track": False}),
                 ("fid_reference", {"track": False}),
                 ("evaluate", {"row": "cut", "seed": 0, "track": False}),
                 ("evaluate", {"row": "mean_sketch", "seed": 0, "track": False}),
                 ("recognize", {})]


@pytest.mark.parametrize(("stage", "kwargs"), SPLIT_READERS,
                         ids=[f"{s}-{k.get('row', '')}" for s, k in SPLIT_READERS])
@pytest.mark.parametrize(("text", "words"), [
    (None, "missing (run the split stage first)"),
    ("id,subset\nx,cuhk\n", "column(s) split, photo, sketch missing"),
    ("id,subset,split,photo,sketch\nx,cuhk,val,p.png,s.png\n", "split 'val' should be")],
    ids=["missing", "columns", "split-value"])
def test_a_damaged_split_file_stops_every_stage_with_one_line(
        tmp_path, monkeypatch, capsys, stage, kwargs, text, words):
    """Before: a pandas KeyError traceback from whichever stage read it first."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    splits = yaml.safe_load((REPO / "params.yaml").read_text())["paths"]["splits"]
    if text is not None:
        _write(tmp_path / splits, text.encode())
    # the face mesh is loaded before the labels read the file: no weights needed
    monkeypatch.setattr("fss.rcs.pretrain.mesh_landmarker", lambda align: None)
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as e:
        _stage(stage).main(**kwargs)
    assert e.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith(f"error: {splits}: ") and words in err[0], err
    assert snapshot(tmp_path) == before

@pytest.mark.parametrize(("stage", "kwargs"), [
    ("train", {"row": "cut", "seed": 0, "resume": True, "track": True}),
    ("evaluate", {"row": "cut", "seed": 0, "track": True})])
def test_a_truncated_mlflow_store_is_one_line(tmp_path, monkeypatch, capsys, stage, kwargs):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "mlflow.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 3000)
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as e:
        _stage(stage).main(**kwargs)
    assert e.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: MLflow store sqlite:///"), err
    assert snapshot(tmp_path) == before


def test_divergence_stops_with_one_line_and_keeps_the_last_good_checkpoint(
        tmp_path, monkeypatch, capsys):
    """train.lr 1e9 on the smoke profile: the stage stops with the epoch, iteration and
    loss, exit 2; latest.pt is the one saved before the epoch that diverged."""
    from fss.params_compose import compose_params
    from fss.training import checkpoint as ckpt
    from fss.training import methods

    compose_params(tmp_path / "params.yaml", ["profile=smoke", "train.epochs=3",
                                              "train.epochs_decay=0", "train.iters_per_epoch=2",
                                              "train.sample_every=10"], REPO / "conf")
    monkeypatch.chdir(tmp_path)
    stage = _stage("train")
    monkeypatch.setattr(stage, "load_pairs", lambda *a, **k: tiny_pairs(s=64))
    # Epoch 1 is trained at a sane rate, then the lr jumps to 1e9 (as train.lr 1e9 would).
    real_set_lr = methods.Method.set_lr
    epochs = []

    def set_lr(self, lr):
        epochs.append(lr)
        real_set_lr(self, lr if len(epochs) == 1 else 1e9)

    monkeypatch.setattr(methods.Method, "set_lr", set_lr)
    with pytest.raises(SystemExit) as e:
        stage.main(row="cut", seed=0, resume=True, track=False)
    assert e.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error: ")]
    assert len(err) == 1, err
    assert "train cut: diverged at epoch 2, iteration" in err[0]
    assert "loss " in err[0] or "weights of" in err[0]
    assert "kept models/cut/seed0/latest.pt (after epoch 1)" in err[0]
    state = ckpt.load(tmp_path / "models" / "cut" / "seed0" / "latest.pt", "cpu")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["nets"]["G"].values()
               if v.is_floating_point())
    assert not (tmp_path / "models" / "cut" / "seed0" / "generator.pt").exists()
    assert not (tmp_path / "metrics").exists()


def test_baseline_json_is_read_strictly(tmp_path):
    from fss.errors import UserError
    from fss.evaluation.metric_gate import read_baseline

    (tmp_path / "b.json").write_text(json.dumps({"metrics": {"photo.cuhk.fid": 1.5,
                                                             "masks.all.iou": 1}}))
    assert read_baseline(tmp_path / "b.json") == {"photo.cuhk.fid": 1.5, "masks.all.iou": 1.0}
    (tmp_path / "b.json").write_text('{"metrics": {"photo.cuhk.fid": NaN}}')
    with pytest.raises(UserError, match="metrics.photo.cuhk.fid = nan"):
        read_baseline(tmp_path / "b.json")


def test_export_into_a_full_disk_names_the_output_and_leaves_no_temp(tmp_path, monkeypatch):
    """onnx.save hits ENOSPC half-way (the error names no file): one line about -o, and
    neither the temp file nor its external-data file is left."""
    import onnx

    model = tiny_model_file(tmp_path / "m" / "g.pt")

    def full(m, path, *a, **k):
        Path(path).write_bytes(b"half")
        Path(str(path) + ".data").write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(onnx, "save", full)
    r = CliRunner().invoke(app, ["export", str(model), "-o", str(tmp_path / "q" / "g.onnx")])
    assert_one_line_exit_2(r, "q/g.onnx: No space left on device")
    assert os.listdir(tmp_path / "q") == []


def test_torchscript_export_into_a_full_disk_is_one_line_and_leaves_nothing(tmp_path,
                                                                           monkeypatch):
    """torch's C++ writer aborts the process on a full disk, so the file is serialised
    in memory and written by Python: ENOSPC half-way is one line naming -o."""
    model = tiny_model_file(tmp_path / "m" / "g.pt")
    real_save, targets = torch.jit.save, []

    def in_memory_only(m, f, *a, **k):
        targets.append(f)
        real_save(m, f, *a, **k)

    def full(self, data):
        with open(self, "wb") as f:
            f.write(bytes(data)[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch.jit, "save", in_memory_only)
    monkeypatch.setattr(Path, "write_bytes", full)
    r = CliRunner().invoke(app, ["export", str(model), "--format", "torchscript",
                                 "-o", str(tmp_path / "q" / "g.ts.pt")])
    assert_one_line_exit_2(r, "q/g.ts.pt: No space left on device")
    assert os.listdir(tmp_path / "q") == []
    assert len(targets) == 1 and not isinstance(targets[0], str | Path)   # never a path


def test_a_checkpoint_save_into_a_full_disk_is_one_error_naming_it(tmp_path, monkeypatch):
    """torch's writer reports ENOSPC as a RuntimeError ("unexpected pos ..."): the save
    is a UserError naming the checkpoint (one line in every stage), no temp file left."""
    from fss.errors import UserError
    from fss.inference.model_file import save_atomic

    def full(obj, f, *a, **k):
        Path(f).write_bytes(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(UserError, match=r"latest.pt: could not be written \(\d+ MiB free"):
        save_atomic({"a": torch.zeros(3)}, tmp_path / "latest.pt")
    assert list(tmp_path.iterdir()) == []
