"""Using a trained generator: the model file (safe load/save, metadata), tensor
conversion and the mask-channel rule, backends (PyTorch, onnxruntime), export,
int8 quantisation and ``fss sketch``. Nothing here imports ``fss.training``."""

from fss.inference.model_file import (
    ModelFileError,
    ModelInfo,
    load_model,
    read_model,
    save_model,
)
from fss.tensors import generator_input, sketch_uint8

__all__ = ["ModelFileError", "ModelInfo", "generator_input", "load_model", "read_model",
           "save_model", "sketch_uint8"]
