"""The generator as an MLflow pyfunc model: loaded with mlflow.pyfunc.load_model it
sketches a (synthetic) face photo as `fss sketch` does; served with
`mlflow models serve --env-manager local` it answers over HTTP."""

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_model_file
from PIL import Image

from fss.data.synthetic import draw_photo, random_face
from fss.inference.mlflow_model import encode_image, log_sketch_model

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """(tracking URI, run id, model file, a synthetic face photo as JPEG bytes)."""
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'store.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("fss-test")
    generator = tiny_model_file(root / "generator.pt", size=64)
    with mlflow.start_run() as run:
        log_sketch_model(generator)
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    draw_photo(random_face(rng), rng).save(buf, format="JPEG")
    yield uri, run.info.run_id, generator, buf.getvalue()
    mlflow.set_tracking_uri(None)


def _png(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))))


def _same_as_fss_sketch(generator: Path, photo: bytes, tmp_path: Path) -> np.ndarray:
    from fss.inference.runtime import open_runner
    from fss.inference.sketch import Sketcher, settings, sketch_photos

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "face.jpg").write_bytes(photo)
    runner = open_runner(generator)
    align, masks, _ = settings(runner, None)
    (r,) = sketch_photos([tmp_path / "in" / "face.jpg"], tmp_path / "in", tmp_path / "out",
                         Sketcher(runner, align, masks, "cpu"), progress=False)
    assert r.error is None
    return np.asarray(Image.open(r.out))


def test_pyfunc_model_sketches_like_fss_sketch(logged, tmp_path):
    import mlflow

    uri, run_id, generator, photo = logged
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    blank = io.BytesIO()
    Image.new("RGB", (120, 150), (200, 200, 200)).save(blank, format="PNG")
    out = model.predict(pd.DataFrame({"image": [encode_image(photo), "not base64!",
                                                encode_image(blank.getvalue())]}))
    assert list(out["status"]) == ["ok", "failed", "failed"]
    assert "base64" in out["reason"][1] and out["reason"][2] == "no face found"
    sketch = _png(out["sketch"][0])
    assert sketch.shape == (64, 64) and sketch.dtype == np.uint8
    assert (out["width"][0], out["height"][0]) == (64, 64)
    np.testing.assert_array_equal(sketch, _same_as_fss_sketch(generator, photo, tmp_path))
    pasted = model.predict(pd.DataFrame({"image": [encode_image(photo)]}),
                           params={"paste_back": True})
    assert _png(pasted["sketch"][0]).shape == Image.open(io.BytesIO(photo)).size[::-1]


def _free_port() -> int | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    except OSError:
        return None


def test_served_model_answers_one_request(logged, tmp_path):
    uri, run_id, _, photo = logged
    port = _free_port()
    if port is None:
        pytest.skip("cannot bind a port on 127.0.0.1")
    # The server runs uvicorn from the environment's bin folder (as an activated venv has it).
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "OMP_NUM_THREADS": "1",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"runs:/{run_id}/model",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail("mlflow models serve exited:\n" + server.stdout.read().decode()[-3000:])
            if time.time() > deadline:
                pytest.fail("mlflow models serve did not answer /ping within 240 s")
            time.sleep(1)
        body = json.dumps({"dataframe_split": {"columns": ["image"],
                                               "data": [[encode_image(photo)]]}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            (row,) = json.loads(r.read())["predictions"]
        assert row["status"] == "ok", row
        assert _png(row["sketch"]).shape == (64, 64)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
