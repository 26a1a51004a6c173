"""FaceNet recognition on real aligned photos (skips without weights / CUFS)."""

import numpy as np
import pytest
from conftest import shared_cufs

from fss.evaluation import SUBSETS
from fss.recognition_eval import accuracy_by_subset


def test_accuracy_by_subset_counts_each_subset():
    from fss.evaluation import TestPair

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
