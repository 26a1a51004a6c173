"""Static int8 quantisation of an exported generator (onnxruntime ``quantize_static``,
QDQ format), calibrated on real training photos.

Instance norm stays in float: onnxruntime has no int8 InstanceNormalization, so each
conv runs in int8 between a quantise and a dequantise, and the norm (per-image mean
and variance) sees float values. That is also why calibration needs real photos: the
conv outputs before each norm carry the image's own scale, which random inputs do
not reproduce, while the normalised activations after it are near N(0, 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fss.inference.model_file import ModelInfo


def calibration_inputs(splits_csv: Path, masks_dir: Path | None, model: Path | ModelInfo,
                       count: int = 32, split: str = "train") -> list[np.ndarray]:
    """Up to ``count`` generator inputs (1xCxHxW float32) from ``split``'s aligned photos
    (evenly spread over the split), with their masks when the model takes one;
    ``model``: an exported .onnx or the model file's metadata."""
    from fss.data.splits import read_splits
    from fss.inference.export import onnx_info
    from fss.io import read_gray, read_rgb
    from fss.tensors import generator_input

    info = model if isinstance(model, ModelInfo) else onnx_info(model)
    if info.mask_input and masks_dir is None:
        raise ValueError("the model takes a mask channel: calibration needs a mask folder")
    df = read_splits(splits_csv)
    df = df[df["split"] == split]
    if df.empty:
        raise FileNotFoundError(f"{splits_csv}: no '{split}' photos to calibrate on")
    picks = np.unique(np.linspace(0, len(df) - 1, min(count, len(df))).round().astype(int))
    out = []
    for r in df.iloc[picks].itertuples():
        mask = read_gray(masks_dir / f"{r.id}.png") if info.mask_input else None
        out.append(generator_input(read_rgb(Path(r.photo)), mask, info.mask_input).numpy())
    return out


def quantize_int8(fp32: Path, out: Path, inputs: list[np.ndarray]) -> None:
    """``out``: ``fp32`` with int8 convs (per-channel weights, uint8 activations with
    min/max ranges from ``inputs``), the fp32 file's metadata kept."""
    import os
    import tempfile

    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not inputs:
        raise ValueError("int8 calibration needs at least one input")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.it, None)
            return None if x is None else {"photo": x}

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        pre, q = Path(tmp) / "pre.onnx", Path(tmp) / "q.onnx"
        quant_pre_process(str(fp32), str(pre))
        # reduce_range: 7-bit weights avoid the u8 x s8 saturation of AVX2 without VNNI.
        quantize_static(str(pre), str(q), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv"])
        m, src = onnx.load(str(q)), onnx.load(str(fp32), load_external_data=False)
        onnx.helper.set_model_props(m, {p.key: p.value for p in src.metadata_props})
        onnx.save(m, str(q))
        os.replace(q, out)
