"""Export a model file to ONNX (dynamic batch, height and width; the metadata
carried in the file's ``metadata_props``) or TorchScript (metadata as an extra
file), and read that metadata back."""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from fss.inference.model_file import ModelFileError, ModelInfo, load_model

METADATA_KEY = "fss"  # metadata_props key / TorchScript extra file holding the JSON
MIN_OPSET = 18        # the oldest opset torch's ONNX exporter writes


def _probe_model(opset: int):
    """x -> QuantizeLinear -> DequantizeLinear -> InstanceNormalization: the ops whose
    kernels lag the opset numbers onnxruntime otherwise accepts."""
    import onnx
    from onnx import TensorProto, helper

    def const(name, dtype, vals, dims):
        return helper.make_tensor(name, dtype, dims, vals)

    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"]),
             helper.make_node("InstanceNormalization", ["d", "g", "b"], ["y"])]
    graph = helper.make_graph(
        nodes, "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 2, 2])],
        [const("s", TensorProto.FLOAT, [0.1], []), const("z", TensorProto.UINT8, [128], []),
         const("g", TensorProto.FLOAT, [1.0], [1]), const("b", TensorProto.FLOAT, [0.0], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    return model


def supported_opset() -> int:
    """The newest ONNX opset that torch's exporter writes and onnxruntime runs
    (int8 ops included), found by asking onnxruntime to load a small probe model at
    each opset from the top down: onnxruntime publishes no such number at run time,
    and it accepts opsets before it has every kernel for them."""
    import onnx
    import onnxruntime as ort
    from torch.onnx import _constants

    top = min(onnx.defs.onnx_opset_version(), getattr(_constants, "ONNX_MAX_OPSET", MIN_OPSET))
    for opset in range(top, MIN_OPSET - 1, -1):
        try:
            sess = ort.InferenceSession(_probe_model(opset).SerializeToString(),
                                        providers=["CPUExecutionProvider"])
            sess.run(None, {"x": np.zeros((1, 1, 2, 2), np.float32)})
            return opset
        except Exception:  # noqa: BLE001 - "unsupported opset" comes in several kinds
            continue
    raise RuntimeError(f"onnxruntime {ort.__version__} runs no ONNX opset >= {MIN_OPSET}")


@contextlib.contextmanager
def _written(out: Path) -> Iterator[Path]:
    """``fss.io.atomic_file`` of ``out``, its folder made first; the exporter's external
    data file beside the temp name is removed too."""
    from fss.io import atomic_file

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as tmp:
        try:
            yield tmp
        finally:
            data = tmp.with_name(tmp.name + ".data")
            if os.path.lexists(data):
                data.unlink()


def export_onnx(model: Path, out: Path, opset: int | None = None) -> int:
    """Write ``out`` (.onnx) from the model file ``model``; returns the opset used."""
    import onnx
    from torch.export import Dim

    g, info = load_model(model, "cpu")
    opset = opset or supported_opset()
    size = info.image_size
    x = torch.zeros(1, info.in_channels, size, size)
    # Height and width must stay multiples of 2**n_downsampling for the decoder to
    # give back the input's size; the exporter keeps them symbolic.
    step = 2 ** info.generator.n_downsampling
    h, w = Dim("h_blocks", min=1), Dim("w_blocks", min=1)
    with _written(out) as tmp:
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter's progress lines
            torch.onnx.export(g, (x,), tmp, input_names=["photo"], output_names=["sketch"],
                              dynamic_shapes={"x": {0: Dim("batch"), 2: step * h,
                                                    3: step * w}},
                              opset_version=opset, dynamo=True, external_data=False,
                              verbose=False)
        m = onnx.load(str(tmp))
        onnx.helper.set_model_props(m, {METADATA_KEY: json.dumps(info.to_dict())})
        onnx.save(m, str(tmp))
    # What the file holds, not what was asked for (the exporter may write another).
    return next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), opset)


def check_opset(opset: int) -> None:
    """``opset`` is one torch's exporter writes and the installed onnxruntime runs."""
    from fss.errors import UserError

    top = supported_opset()
    if not MIN_OPSET <= opset <= top:
        raise UserError(f"--opset {opset}: should be between {MIN_OPSET} (the oldest torch's "
                        f"exporter writes) and {top} (the newest onnxruntime here runs)")


def export_torchscript(model: Path, out: Path) -> None:
    """A traced TorchScript file with the metadata as its ``fss`` extra file."""
    g, info = load_model(model, "cpu")
    x = torch.zeros(1, info.in_channels, info.image_size, info.image_size)
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript is deprecated in favour of torch.export, but still the one
        # format that C++ (libtorch) and older runtimes load without Python.
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(g, x, check_trace=False)
    # Serialised in memory and written by Python: torch's C++ file writer aborts the
    # whole process on a full disk, where a Python write raises ENOSPC we can report.
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(traced, buf, _extra_files={METADATA_KEY: json.dumps(info.to_dict())})
    with _written(out) as tmp:
        tmp.write_bytes(buf.getbuffer())


def onnx_info(path: Path) -> ModelInfo:
    """The metadata ``export_onnx`` stored in an .onnx file."""
    import onnx

    if not path.is_file():
        raise FileNotFoundError(f"{path}: ONNX model not found")
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf decode errors have no common base
        raise ModelFileError(f"{path}: not a readable ONNX file ({e.__class__.__name__})") from e
    props = {p.key: p.value for p in m.metadata_props}
    if METADATA_KEY not in props:
        raise ModelFileError(f"{path}: an ONNX file without fss metadata (export it with "
                             "fss export)")
    try:
        return ModelInfo.from_dict(json.loads(props[METADATA_KEY]), str(path))
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: fss metadata is not JSON ({e})") from e
