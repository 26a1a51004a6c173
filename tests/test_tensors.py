"""fss.tensors: how images become tensors and back, for training and inference alike
(the photo scaling, the mask-channel rule for bool and 8-bit masks, the output's 8 bits)."""

import numpy as np
import pytest
import torch

from fss.tensors import generator_input, image_tensor, mask_channel, photo_tensor, sketch_uint8


def test_scalings_and_their_inverse():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 6, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (8, 6), dtype=np.uint8)
    x = photo_tensor(rgb)
    assert x.shape == (3, 8, 6) and x.dtype == torch.float32
    assert torch.equal(x[1], torch.from_numpy(rgb[..., 1]).float() / 255 * 2 - 1)
    assert x.min() >= -1 and x.max() <= 1
    g = image_tensor(gray, signed=False)
    assert g.shape == (1, 8, 6) and torch.equal(g[0], torch.from_numpy(gray).float() / 255)
    # the training mask (dataset: map > 0.5) is the inference mask channel
    assert torch.equal(mask_channel(gray), (g > 0.5).float())
    assert torch.equal(mask_channel(gray > 127), mask_channel(gray))
    # the output's 8 bits invert the signed scaling exactly, and clip out-of-range values
    assert np.array_equal(sketch_uint8(image_tensor(gray, signed=True)[0]), gray)
    y = torch.tensor([[-1.5, -1.0, 0.0, 1.0, 2.0]])
    assert sketch_uint8(y).tolist() == [[0, 0, 128, 255, 255]]
    assert np.array_equal(sketch_uint8(y.numpy()), sketch_uint8(y))


def test_generator_input_channels():
    rgb = np.zeros((4, 4, 3), np.uint8)
    assert generator_input(rgb, None, False).shape == (1, 3, 4, 4)
    x = generator_input(rgb, np.full((4, 4), 255, np.uint8), True)
    assert x.shape == (1, 4, 4, 4) and x[0, 3].min() == 1 and x[0, :3].max() == -1
    with pytest.raises(ValueError, match="takes a person mask"):
        generator_input(rgb, None, True)
    with pytest.raises(ValueError, match="differ in size"):
        generator_input(rgb, np.ones((2, 2), bool), True)
