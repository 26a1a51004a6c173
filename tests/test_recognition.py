"""FaceNet recognition on real aligned photos (skips without weights / CUFS)."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import shared_cufs

from fss.evaluation.recognition import accuracy_by_subset
from fss.published import SUBSETS


def test_accuracy_by_subset_counts_each_subset():
    from fss.evaluation.evaluate import TestPair

    pairs = [TestPair(f"i{i}", s, None, None) for i, s in enumerate(["cuhk", "cuhk", "ar"])]
    acc = accuracy_by_subset(np.array([1.0, 0.0, 1.0]), pairs)
    assert acc == {"all": round(2 / 3, 4), "cuhk": 0.5, "ar": 1.0}
    assert set(acc) <= {"all", *SUBSETS}


def test_facenet_matches_photo_to_itself_not_to_another(weights_dir):
    from fss.metrics.recognition import FaceEmbedder, RecognitionParams, rank1

    cufs = shared_cufs()
    if cufs is None:
        pytest.skip("real CUFS not found (set FSS_CUFS or put ../shared beside)")
    from PIL import Image

    photos = sorted((cufs / "AR").rglob("*.jpg"))[:3] or sorted(cufs.rglob("*.jpg"))[:3]
    imgs = [np.asarray(Image.open(p).convert("RGB")) for p in photos]
    emb, fallbacks = FaceEmbedder(RecognitionParams()).embed(imgs)
    assert emb.shape == (3, 512) and fallbacks == 0
    flipped, _ = FaceEmbedder(RecognitionParams()).embed([im[:, ::-1].copy() for im in imgs])
    labels = ["a", "b", "c"]
    # A mirrored photo is recognised as its own person among three.
    assert rank1(flipped, emb, labels, labels).mean() == 1.0


def test_fixed_box_from_the_alignment_targets():
    from fss.data.align import AlignParams
    from fss.metrics.recognition import RecognitionParams, fixed_box

    a = AlignParams(size=256, eye_left=(0.4, 0.5), eye_right=(0.6, 0.5))
    box = fixed_box(a, (-1.0, -1.0, 1.0, 2.0))
    # eyes at x 102.4 / 153.6, y 128: midpoint (128, 128), eye distance 51.2
    assert box == pytest.approx([76.8, 76.8, 179.2, 230.4])
    default = fixed_box(replace(a, size=128), RecognitionParams().crop_box)
    assert default[0] + default[2] == pytest.approx(128)          # centred between the eyes
    assert 0 <= default[0] < default[2] <= 128 and 0 <= default[1] < default[3] <= 128
    with pytest.raises(ValueError, match="crop_box"):
        fixed_box(a, (1.0, 0.0, -1.0, 1.0))


def test_every_image_gets_the_same_fixed_box(tmp_path, monkeypatch):
    """Photos, real sketches and every row's sketches: one box for all on the fixed
    route; each image's own MTCNN box on the other; detectable = where MTCNN found one."""
    import torch

    import fss.evaluation.recognition as rec
    from fss.evaluation.evaluate import TestPair
    from fss.io import save_png

    pairs = []
    for i, s in enumerate(["cuhk", "cuhk", "ar"]):
        photo, sketch = tmp_path / f"p{i}.png", tmp_path / f"s{i}.png"
        save_png(photo, np.full((32, 32, 3), 10 * i, np.uint8))
        save_png(sketch, np.full((32, 32), 200 + i, np.uint8))
        out = tmp_path / "res" / "fss" / "seed0" / s / f"i{i}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        save_png(out, np.full((32, 32), 100 + i, np.uint8))
        pairs.append(TestPair(f"i{i}", s, photo, sketch))
    seen: dict[str, list[np.ndarray]] = {"fixed": [], "mtcnn": []}

    class FakeEmbedder:
        def __init__(self, p, device):
            pass

        def detect(self, images):
            # a different box per image; no face in the darkest image
            boxes = np.array([[i, i, 20 + i, 20 + i] for i in range(len(images))], float)
            return boxes, np.array([im.mean() > 5 for im in images])

        def embed_boxes(self, images, boxes):
            b = np.broadcast_to(np.asarray(boxes, float), (len(images), 4))
            seen["fixed" if np.asarray(boxes).ndim == 1 else "mtcnn"].append(b.copy())
            # embedding = the image's mean grey: a photo/sketch/result of one id differ
            return np.stack([[im.mean(), 1.0] for im in images])

    monkeypatch.setattr(rec, "FaceEmbedder", FakeEmbedder)
    box = np.array([5.0, 4.0, 27.0, 30.0])
    from fss.metrics.recognition import RecognitionParams

    table, hits = rec.recognition_table(pairs, tmp_path / "res", ["fss/seed0"],
                                        RecognitionParams(), torch.device("cpu"), None, box,
                                        32)
    fixed = np.concatenate(seen["fixed"])
    assert len(seen["fixed"]) == 3 and len(fixed) == 9         # gallery, photos, fss
    assert (fixed == box).all()                                 # one box for every image
    assert len({tuple(b) for b in np.concatenate(seen["mtcnn"])}) == 3
    assert table.crop.box == (5.0, 4.0, 27.0, 30.0) and table.crop.size == 32
    assert set(table.probes) == set(table.probes_mtcnn) == {"test_photos", "fss/seed0"}
    assert table.detectable["test_photos"].values["all"] == round(2 / 3, 4)   # p0 is black
    assert table.detectable["fss/seed0"].values["all"] == 1.0
    # the file the stage writes reads back the same
    from fss.evaluation.results import read_recognition, write_record

    write_record(tmp_path / "recognition.json", table)
    assert read_recognition(tmp_path / "recognition.json") == table
    assert list(hits.columns) == ["id", "subset", "test_photos", "test_photos@mtcnn",
                                  "fss/seed0", "fss/seed0@mtcnn"]
