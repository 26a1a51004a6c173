import os
from pathlib import Path

import pytest

from fss.data.synthetic import make_synthetic_cufs

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def synthetic_cufs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cufs") / "cufs"
    make_synthetic_cufs(root, per_split=3, seed=1)
    return root


def shared_weights() -> Path | None:
    p = Path(os.environ.get("FSS_WEIGHTS", SHARED / "weights"))
    return p if (p / "selfie_segmentation.tflite").is_file() else None


def shared_cufs() -> Path | None:
    p = Path(os.environ.get("FSS_CUFS", SHARED / "data" / "cufs"))
    return p if (p / "AR").is_dir() else None


@pytest.fixture
def weights_dir(monkeypatch) -> Path:
    w = shared_weights()
    if w is None:
        pytest.skip("pretrained weights not found (set FSS_WEIGHTS or put ../shared beside)")
    monkeypatch.setenv("FSS_WEIGHTS", str(w))
    return w


def tiny_pairs(n: int = 3, s: int = 32):
    """A tiny training PairSet (random photos/sketches/masks, a square face region and a
    hair band) for the training and multi-process tests."""
    import torch

    from fss.training.dataset import PairSet

    g = torch.Generator().manual_seed(0)
    face = torch.zeros(n, 1, s, s)
    face[..., 8:24, 8:24] = 0.9
    hair = torch.zeros(n, 1, s, s)
    hair[..., 0:8, 4:28] = 0.7
    return PairSet(ids=[f"p{i}" for i in range(n)],
                   photos=torch.rand(n, 3, s, s, generator=g) * 2 - 1,
                   sketches=torch.rand(n, 1, s, s, generator=g) * 2 - 1,
                   masks=(torch.rand(n, 1, s, s, generator=g) > 0.3).float(), face=face, hair=hair)


def tiny_model_file(path: Path, mask_input: bool = False, size: int = 32, seed: int = 0,
                    state: dict | None = None) -> Path:
    """A small random generator (ngf 4, 1 block) saved as an fss model file."""
    import torch

    from fss.data.align import AlignParams
    from fss.data.masks import MaskParams
    from fss.inference.model_file import ModelInfo, save_model
    from fss.models.generator import GeneratorParams, ResnetGenerator

    torch.manual_seed(seed)
    ch = 4 if mask_input else 3
    gp = GeneratorParams(ngf=4, n_blocks=1)
    g = ResnetGenerator(ch, 1, gp)
    info = ModelInfo(in_channels=ch, out_channels=1, generator=gp, mask_input=mask_input,
                     image_size=size, align=AlignParams(size=size, min_face_px=20),
                     masks=MaskParams() if mask_input else None, row="test", seed=seed)
    save_model(path, state if state is not None else g.state_dict(), info)
    return path
