"""fss.inference.tensors is what evaluation and `fss sketch` feed the generator; the
training set is built by fss.training.dataset. They must agree exactly (the guard on
that copy), and the mask-channel rule is the same for bool and 8-bit masks."""

import numpy as np
import pytest
import torch

from fss.inference.tensors import generator_input, mask_channel, photo_tensor, sketch_uint8
from fss.training.dataset import to_tensor, to_uint8


def test_inference_input_equals_the_training_input():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 6, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (8, 6), dtype=np.uint8)
    assert torch.equal(photo_tensor(rgb), to_tensor(rgb, signed=True))
    assert torch.equal(mask_channel(gray), (to_tensor(gray, signed=False) > 0.5).float())
    assert torch.equal(mask_channel(gray > 127), mask_channel(gray))
    y = torch.rand(8, 6) * 2.4 - 1.2
    assert np.array_equal(sketch_uint8(y), to_uint8(y))
    assert np.array_equal(sketch_uint8(y.numpy()), to_uint8(y))


def test_generator_input_channels():
    rgb = np.zeros((4, 4, 3), np.uint8)
    assert generator_input(rgb, None, False).shape == (1, 3, 4, 4)
    x = generator_input(rgb, np.full((4, 4), 255, np.uint8), True)
    assert x.shape == (1, 4, 4, 4) and x[0, 3].min() == 1 and x[0, :3].max() == -1
    with pytest.raises(ValueError, match="takes a person mask"):
        generator_input(rgb, None, True)
    with pytest.raises(ValueError, match="differ in size"):
        generator_input(rgb, np.ones((2, 2), bool), True)
