"""Run a generator through one of the backends: eager PyTorch on a model file, or
onnxruntime on an exported (optionally int8-quantised) .onnx file. Both take and
return 1xCxHxW float tensors, so the photo side never cares which one runs."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from fss.inference.model_file import ModelFileError, ModelInfo

BACKENDS = ("auto", "torch", "onnxruntime")


class Runner(Protocol):
    info: ModelInfo

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


class TorchRunner:
    def __init__(self, path: Path, device: torch.device | str = "cpu"):
        from fss.inference.model_file import load_model

        self.device = torch.device(device)
        self.net, self.info = load_model(path, self.device)

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.device)).float().cpu()


class OnnxRunner:
    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime as ort

        from fss.inference.export import onnx_info
        from fss.inference.model_file import check_probe, probe_input

        self.info = onnx_info(path)
        opts = ort.SessionOptions()
        if threads > 0:
            opts.intra_op_num_threads = threads
        try:  # a broken graph, missing external data, an op it lacks: onnxruntime's own
            # exception kinds, with no common base but Exception
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
            self.input = self.session.get_inputs()[0].name
            y = self(probe_input(self.info))
        except Exception as e:  # noqa: BLE001
            first = (str(e).strip().splitlines() or [""])[0][:200] or e.__class__.__name__
            raise ModelFileError(f"{path}: onnxruntime cannot run it ({first})") from None
        check_probe(y, str(path))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = self.session.run(None, {self.input: x.detach().cpu().float().numpy()})[0]
        return torch.from_numpy(y)


def open_runner(path: Path, backend: str = "auto", device: torch.device | str = "cpu",
                threads: int = 0) -> Runner:
    """``auto``: onnxruntime for a .onnx file, PyTorch otherwise."""
    if backend not in BACKENDS:
        from fss.errors import UserError

        raise UserError(f"--backend {backend!r}: should be one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "onnxruntime" if path.suffix.lower() == ".onnx" else "torch"
    if backend == "onnxruntime":
        if path.suffix.lower() != ".onnx":
            raise ModelFileError(f"{path}: the onnxruntime backend runs an .onnx file "
                                    f"(make one with: fss export {path} --format onnx)")
        return OnnxRunner(path, threads)
    return TorchRunner(path, device)
