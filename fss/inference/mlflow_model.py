"""The generator as an MLflow ``pyfunc`` model: photos in, sketches out, through the
same path as ``fss sketch`` (EXIF-upright RGB, MTCNN alignment with the model file's
eye targets, the model's mask, the generator, optional paste-back).

Input: a table with one column ``image``, each cell a base64-encoded image file (any
format Pillow reads; raw bytes also accepted from Python). Output: one row per input
with ``sketch`` (a base64 PNG, empty when it failed), ``status`` (ok | failed),
``reason``, ``width`` and ``height``. The parameter ``paste_back`` (default false)
warps each sketch back into its photo's frame, as ``fss sketch --paste-back`` does.

Logged as a model from code (``mlflow_entry.py``), not a pickled object: loading it
imports this module and reads the model file with ``torch.load(weights_only=True)``,
so nothing in the logged model runs but the project's own code."""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

ARTIFACT = "generator"  # the key of the model file among the logged model's artifacts
ENTRY = Path(__file__).with_name("mlflow_entry.py")


def encode_image(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _decode(cell: Any) -> bytes:
    if isinstance(cell, bytes | bytearray):
        return bytes(cell)
    if isinstance(cell, str):
        try:
            return base64.b64decode(cell, validate=True)
        except binascii.Error:
            raise ValueError("not base64 (send each image file base64-encoded)") from None
    raise ValueError(f"expected a base64 string, got {type(cell).__name__}")


class SketchModel(mlflow.pyfunc.PythonModel):
    """``fss sketch`` as a pyfunc model; the model file comes in as an artifact."""

    def load_context(self, context: Any) -> None:
        from fss.device import resolve_device
        from fss.inference.runtime import open_runner
        from fss.inference.sketch import Sketcher, settings

        config = context.model_config or {}
        device = resolve_device(str(config.get("device", "auto")))
        runner = open_runner(Path(context.artifacts[ARTIFACT]), "torch", device)
        align, masks, _ = settings(runner, None)
        self.sketcher = Sketcher(runner, align, masks, str(device))

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        from fss.inference.sketch import PhotoError, paste_back, read_photo

        paste = bool((params or {}).get("paste_back", False))
        if not isinstance(model_input, pd.DataFrame) or "image" not in model_input.columns:
            raise ValueError("input: a table with a column 'image' (base64-encoded image files)")
        rows = []
        for cell in model_input["image"]:
            try:
                rgb = read_photo(io.BytesIO(_decode(cell)))
                sketch, matrix = self.sketcher(rgb)
                if paste:
                    sketch = paste_back(sketch, matrix, *rgb.shape[:2])
                rows.append({"sketch": encode_image(png_bytes(sketch)), "status": "ok",
                             "reason": "", "width": sketch.shape[1], "height": sketch.shape[0]})
            except Exception as e:  # noqa: BLE001 - one bad photo must not fail the batch
                # (as in fss sketch: decode errors come as OSError, ValueError, ...)
                first = (str(e).strip().splitlines() or [""])[0]
                reason = first if isinstance(e, PhotoError | ValueError) else (
                    f"{e.__class__.__name__}: {first}")
                rows.append({"sketch": "", "status": "failed", "reason": reason,
                             "width": 0, "height": 0})
        return pd.DataFrame(rows, columns=["sketch", "status", "reason", "width", "height"])


def signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", "image")]),
        outputs=Schema([ColSpec("string", "sketch"), ColSpec("string", "status"),
                        ColSpec("string", "reason"), ColSpec("long", "width"),
                        ColSpec("long", "height")]),
        params=ParamSchema([ParamSpec("paste_back", "boolean", False)]))


def log_sketch_model(generator: Path, name: str = "model") -> str:
    """Log ``generator`` (a model file) as a pyfunc model in the active MLflow run;
    returns the model's URI. Requirements are listed, not inferred (inferring them
    would load and run the model in a subprocess); serve it in the project's own
    environment (``--env-manager local``)."""
    import os
    import platform
    import warnings

    import torch

    # A stage's log is no terminal: no progress bars for copying one file.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with warnings.catch_warnings():
        # MLflow's advice to give an input example (it would run the model here) does
        # not apply: the signature is explicit.
        warnings.simplefilter("ignore", UserWarning)
        model = mlflow.pyfunc.log_model(
            name=name, python_model=str(ENTRY), artifacts={ARTIFACT: str(generator)},
            signature=signature(), model_config={"device": "auto"},
            pip_requirements=[f"mlflow=={mlflow.__version__}",
                              f"torch=={torch.__version__.split('+')[0]}",
                              f"numpy=={np.__version__}", "pillow", "pandas", "facenet-pytorch"],
            metadata={"fss_python": platform.python_version()})
    return model.model_uri
