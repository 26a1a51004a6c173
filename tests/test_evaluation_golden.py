"""The evaluation's numbers, pinned: a fixed generator scored on fixed synthetic pairs
with the smoke profile's evaluate params and the real Inception / LPIPS / DISTS weights
gives the committed ``tests/data/evaluation_golden.json``. A change to the evaluation
that is meant to leave its numbers alone (a faster feature path, batching, a refactor)
must pass it unchanged; one that moves them updates the file deliberately:

    FSS_UPDATE_GOLDEN=1 python -m pytest tests/test_evaluation_golden.py
"""

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from tests.conftest import REPO, tiny_model_file

GOLDEN = REPO / "tests" / "data" / "evaluation_golden.json"
SIZE = 64                      # the smoke profile's align.size
SUBSETS = ("cuhk", "ar")
# Scores are means of per-image values of 8-bit images: a rounding flip of one pixel in
# the generator's output (thread counts, BLAS) moves them by ~1e-6; a real change to a
# metric moves them by far more. (The stage rounds to 4 decimals: one unit may flip.)
REL, ABS = 1e-4, 1.5e-4


INPUTS = REPO / "tests" / "data" / "golden_pairs"   # committed: the pixels are fixed


def _draw_inputs(root: Path) -> None:
    """Two subsets of 3 test and 2 training pairs of drawn faces at SIZE px, with face
    and hair maps for the region scores: how the committed INPUTS were made (only run
    when they are absent and FSS_UPDATE_GOLDEN is set; Pillow's drawing may change)."""
    from fss.data.synthetic import draw_photo, draw_sketch, random_face
    from fss.io import save_png

    rng = np.random.default_rng(7)
    root.mkdir(parents=True)
    face = np.zeros((SIZE, SIZE), np.uint8)
    face[20:56, 16:48] = 230
    hair = np.zeros((SIZE, SIZE), np.uint8)
    hair[4:24, 10:54] = 200
    save_png(root / "face.png", face)
    save_png(root / "hair.png", hair)
    for pid, _, _ in _ids():
        f = random_face(rng)
        photo = draw_photo(f, rng).resize((SIZE, SIZE), Image.BICUBIC)
        sketch = draw_sketch(f, rng).convert("L").resize((SIZE, SIZE), Image.BICUBIC)
        save_png(root / f"{pid}_photo.png", np.asarray(photo.convert("RGB")))
        save_png(root / f"{pid}_sketch.png", np.asarray(sketch))


def _ids() -> list[tuple[str, str, str]]:
    return [(f"{subset}-{split}-{i}", subset, split) for subset in SUBSETS
            for split, n in (("train", 2), ("test", 3)) for i in range(n)]


def _pairs(root: Path) -> Path:
    """The splits CSV of the committed pairs, and every pair's face / hair map."""
    import shutil

    if not INPUTS.is_dir() and os.environ.get("FSS_UPDATE_GOLDEN"):
        _draw_inputs(INPUTS)
    (root / "maps").mkdir(parents=True)
    rows = []
    for pid, subset, split in _ids():
        shutil.copy(INPUTS / "face.png", root / "maps" / f"{pid}_face.png")
        shutil.copy(INPUTS / "hair.png", root / "maps" / f"{pid}_hair.png")
        rows.append((pid, subset, split, str(INPUTS / f"{pid}_photo.png"),
                     str(INPUTS / f"{pid}_sketch.png")))
    csv = root / "splits.csv"
    pd.DataFrame(rows, columns=["id", "subset", "split", "photo", "sketch"]).to_csv(
        csv, index=False)
    return csv


def _score(tmp_path: Path) -> dict:
    from fss.evaluation.evaluate import (
        Evaluation,
        make_reference,
        read_test_pairs,
        real_sketch_features,
        synthesize,
    )
    from fss.metrics.fid import load_inception
    from fss.metrics.perceptual import PerceptualMetrics
    from fss.params import read_params
    from fss.params_compose import compose_params

    compose_params(tmp_path / "params.yaml", ["profile=smoke"], conf_dir=REPO / "conf")
    p = read_params(tmp_path / "params.yaml").evaluate
    assert p.perceptual == ("fsim", "lpips", "dists")   # the smoke profile scores all three
    csv = _pairs(tmp_path / "data")
    pairs = read_test_pairs(csv)
    cpu = torch.device("cpu")
    inception = load_inception(cpu)
    e = Evaluation(pairs, real_sketch_features(pairs, inception, cpu), inception,
                   tmp_path / "data" / "maps", cpu, p,
                   PerceptualMetrics(p.perceptual, cpu, p.batch_size))
    model = tiny_model_file(tmp_path / "g.pt", size=SIZE, seed=3)
    synthesize(model, pairs, tmp_path / "masks", tmp_path / "fake", cpu)
    make_reference("photo", pairs, csv, tmp_path / "photo")
    return {"generator": e.score(tmp_path / "fake"), "photo": e.score(tmp_path / "photo")}


def _leaves(d, prefix=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix, d


def _same(a, b) -> bool:
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return (isinstance(a, list | tuple) and isinstance(b, list | tuple)
                and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


def _versions() -> str:
    """The packages the numbers come from: an upgrade of one moves them legitimately."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("torch", "numpy", "scipy", "scikit-image", "clean-fid", "piq", "lpips",
                 "DISTS_pytorch", "pillow"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} absent")
    return ", ".join(out)


def test_evaluation_numbers_are_the_committed_ones(tmp_path, weights_dir):
    got = json.loads(json.dumps(_score(tmp_path)))      # the JSON the stage would write
    if os.environ.get("FSS_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    g, w = dict(_leaves(got)), dict(_leaves(want))
    assert sorted(g) == sorted(w), f"keys differ: {sorted(set(g) ^ set(w))}"
    moved = [f"{k}: {w[k]} -> {g[k]}" for k in sorted(w) if not _same(g[k], w[k])]
    assert not moved, ("evaluation numbers moved (with " + _versions() + "):\n"
                       + "\n".join(moved))
    # What the file pins is a real evaluation: FID, KID, every per-image metric and the
    # region scores, per subset and over all, for a generator and a reference.
    for name in ("generator", "photo"):
        for where in ("subsets.cuhk", "subsets.ar", "all"):
            for key in ("fid", "ssim", "psnr", "fsim", "lpips", "dists", "ssim_face",
                        "psnr_hair"):
                assert isinstance(w.get(f"{name}.{where}.{key}"), float), (name, where, key)
    assert w["generator.all.fid"] != w["photo.all.fid"]
