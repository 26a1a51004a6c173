import numpy as np
import pandas as pd
import pytest
import torch

from fss.evaluation.evaluate import (
    EvaluateParams,
    evaluate_results,
    make_reference,
    mean_training_sketch,
    read_test_pairs,
    synthesize,
)
from fss.io import read_gray, save_png
from tests.conftest import tiny_model_file


def _dataset(tmp_path, s=16, subsets=("cuhk", "ar")):
    rng = np.random.default_rng(0)
    rows = []
    for subset in subsets:
        for split in ("train", "test"):
            for i in range(2):
                pid = f"{subset}-{split}-{i}"
                photo, sketch = tmp_path / f"p_{pid}.png", tmp_path / f"s_{pid}.png"
                save_png(photo, rng.integers(0, 256, (s, s, 3), dtype=np.uint8))
                save_png(sketch, rng.integers(0, 256, (s, s), dtype=np.uint8))
                if (tmp_path / "masks").is_dir():
                    save_png(tmp_path / "masks" / f"{pid}.png", np.full((s, s), 255, np.uint8))
                rows.append((pid, subset, split, str(photo), str(sketch)))
    csv = tmp_path / "splits.csv"
    pd.DataFrame(rows, columns=["id", "subset", "split", "photo", "sketch"]).to_csv(csv,
                                                                                    index=False)
    return csv


def test_references_and_scores(tmp_path):
    csv = _dataset(tmp_path)
    pairs = read_test_pairs(csv)
    assert [p.subset for p in pairs] == ["cuhk", "cuhk", "ar", "ar"]
    make_reference("mean_sketch", pairs, csv, tmp_path / "res")
    mean = mean_training_sketch(csv)
    assert np.array_equal(read_gray(tmp_path / "res" / "ar" / "ar-test-1.png"), mean)
    # Scoring the real sketches against themselves: perfect SSIM, infinite PSNR skipped.
    for p in pairs:
        (tmp_path / "real" / p.subset).mkdir(parents=True, exist_ok=True)
        save_png(tmp_path / "real" / p.subset / f"{p.id}.png", read_gray(p.sketch))
    m = evaluate_results(tmp_path / "real", pairs, {}, None, None)
    assert m["subsets"]["cuhk"]["ssim"] == 1.0 and m["all"]["n"] == 4
    assert m["subsets"]["ar"]["psnr"] is None          # +inf everywhere: no finite mean
    m2 = evaluate_results(tmp_path / "res", pairs, {}, None, None)
    assert m2["subsets"]["cuhk"]["ssim"] < 1.0
    with pytest.raises(ValueError, match="not one of"):
        make_reference("noise", pairs, csv, tmp_path / "x")


def test_region_scores_with_maps(tmp_path):
    csv = _dataset(tmp_path)
    pairs = read_test_pairs(csv)
    maps = tmp_path / "maps"
    maps.mkdir()
    for p in pairs:
        face = np.zeros((16, 16), np.uint8)
        face[4:12, 4:12] = 255
        hair = np.zeros((16, 16), np.uint8)
        hair[:4] = 255
        save_png(maps / f"{p.id}_face.png", face)
        save_png(maps / f"{p.id}_hair.png", hair)
    make_reference("photo", pairs, csv, tmp_path / "res")
    m = evaluate_results(tmp_path / "res", pairs, {}, None, maps)
    assert set(m["subsets"]["ar"]) >= {"ssim_face", "psnr_face", "ssim_hair", "psnr_hair"}


def test_synthesize_with_a_mask_generator(tmp_path):
    (tmp_path / "masks").mkdir()
    csv = _dataset(tmp_path)
    tiny_model_file(tmp_path / "g.pt", mask_input=True, size=16)
    synthesize(tmp_path / "g.pt", read_test_pairs(csv), tmp_path / "masks", tmp_path / "out",
               torch.device("cpu"))
    out = sorted(p.name for p in (tmp_path / "out" / "cuhk").iterdir())
    assert out == ["cuhk-test-0.png", "cuhk-test-1.png"]
    assert read_gray(tmp_path / "out" / "cuhk" / out[0]).shape == (16, 16)


def test_intervals_and_per_image_scores(tmp_path):
    csv = _dataset(tmp_path)
    pairs = read_test_pairs(csv)
    make_reference("photo", pairs, csv, tmp_path / "res")
    from fss.metrics.perceptual import PerceptualMetrics
    from fss.metrics.table import of_kind

    m = evaluate_results(tmp_path / "res", pairs, {}, None, None,
                         scores_csv=tmp_path / "res" / "scores.csv",
                         perceptual=PerceptualMetrics(["fsim"], batch_size=3))
    for group in (m["subsets"]["cuhk"], m["all"]):
        for k in ("ssim", "ssim_skimage", "psnr", "fsim"):
            lo, hi = group[f"{k}_ci"]
            assert lo <= group[k] <= hi
        assert group["ssim"] != group["ssim_skimage"]
    per = pd.read_csv(tmp_path / "res" / "scores.csv")
    assert list(per["id"]) == [p.id for p in pairs]
    # every per-image metric is a column but those not asked for here
    assert {m.key for m in of_kind("image")} - set(per) == {"lpips", "dists"}
    for k in ("ssim", "fsim"):
        assert per[k].mean() == pytest.approx(m["all"][k], abs=1e-4)
    # Each image's FSIM sits on its own line, whatever the batch boundaries.
    from fss.io import read_gray
    from fss.metrics.perceptual import fsim, gray_batch

    last = pairs[-1]
    one = fsim(gray_batch([read_gray(tmp_path / "res" / last.subset / f"{last.id}.png")]),
               gray_batch([read_gray(last.sketch)]))
    assert per["fsim"].iloc[-1] == pytest.approx(float(one[0]), abs=1e-5)


def test_every_subset_of_the_split_file_is_scored(tmp_path):
    """A paired folder's subsets (not CUFS's) are scored, not dropped from the subsets
    while they stay in "all"; CUFS's come first, in the paper's order, then by name."""
    from fss.evaluation.evaluate import real_sketch_floor

    csv = _dataset(tmp_path, subsets=("street", "ar", "garden"))
    pairs = read_test_pairs(csv)
    make_reference("mean_sketch", pairs, csv, tmp_path / "res")
    m = evaluate_results(tmp_path / "res", pairs, {}, None, None)
    assert list(m["subsets"]) == ["ar", "garden", "street"]
    assert sum(v["n"] for v in m["subsets"].values()) == m["all"]["n"] == 6
    rng = np.random.default_rng(0)
    feats = {s: np.abs(rng.normal(0, 1, (20, 8))) for s in ("street", "ar")}
    assert list(real_sketch_floor(feats, feats)["subsets"]) == ["ar", "street"]


def test_distances_and_the_real_sketch_floor():
    from fss.evaluation.evaluate import distances, real_sketch_floor

    rng = np.random.default_rng(0)
    test = {"cuhk": np.abs(rng.normal(0, 1, (40, 32))), "ar": np.abs(rng.normal(0, 1, (30, 32)))}
    train = {"cuhk": np.abs(rng.normal(0, 1, (36, 32))), "ar": np.abs(rng.normal(0, 1, (30, 32)))}
    floor = real_sketch_floor(train, test)
    assert set(floor["subsets"]) == {"cuhk", "ar"}
    assert floor["subsets"]["cuhk"]["n_train"] == 36 and floor["all"]["n"] == 70
    # Same distribution: FID stays above 0 (small-sample bias); a shift dwarfs it.
    assert floor["subsets"]["cuhk"]["fid"] > 0
    far = distances(test["cuhk"] + 3.0, test["cuhk"], EvaluateParams())
    assert far["fid"] > 10 * floor["subsets"]["cuhk"]["fid"]
    assert far["kid"] > 10 * abs(floor["subsets"]["cuhk"]["kid"]) and far["kid_spread"] >= 0


def test_features_are_saved_per_split_and_subset(tmp_path):
    from fss.evaluation.evaluate import load_features, save_features

    f = {"test": {"ar": np.ones((2, 3))}, "train": {"ar": np.zeros((4, 3))}}
    save_features(f, tmp_path / "feats")
    assert load_features(tmp_path / "feats")["ar"].shape == (2, 3)
    assert load_features(tmp_path / "feats", "train")["ar"].shape == (4, 3)
    with pytest.raises(FileNotFoundError, match="fid_reference"):
        load_features(tmp_path / "none")


def test_evaluation_load_wires_the_pipelines_files(tmp_path, monkeypatch):
    """Evaluation.load: the split's test pairs, the features, Inception, the perceptual
    nets only when params name any, the RCS maps only when pre-training made them; and
    its score is evaluate_results with those."""
    import dataclasses
    from pathlib import Path

    import fss.metrics.fid as fid
    import fss.metrics.perceptual as perceptual
    from fss.evaluation.evaluate import Evaluation, save_features
    from fss.paths import read_paths

    root = Path(__file__).resolve().parents[1]
    at = read_paths(root / "params.yaml").under(tmp_path)
    at.splits.parent.mkdir(parents=True, exist_ok=True)
    _dataset(tmp_path).replace(at.splits)
    save_features({"test": {"cuhk": np.ones((2, 3))}, "train": {}}, at.fid_features)
    inception, nets = object(), []
    monkeypatch.setattr(fid, "load_inception", lambda device: inception)
    monkeypatch.setattr(perceptual, "PerceptualMetrics",
                        lambda names, device, batch: nets.append(names) or "nets")
    p = EvaluateParams(perceptual=("fsim",))
    e = Evaluation.load(at, p, torch.device("cpu"))
    assert [q.id for q in e.pairs] == [q.id for q in read_test_pairs(at.splits)]
    assert len(e.pairs) == 4 and e.fid_model is inception and e.perceptual == "nets"
    assert nets == [("fsim",)] and e.maps_dir is None and e.params is p
    assert e.real_features["cuhk"].shape == (2, 3)
    at.rcs_maps.mkdir(parents=True)
    given = e.pairs[:1]
    e2 = Evaluation.load(at, dataclasses.replace(p, perceptual=()), torch.device("cpu"), given)
    assert e2.maps_dir == at.rcs_maps and e2.perceptual is None and e2.pairs is given
