"""The ablation-step test between adjacent rows, on per-image score files: a two-level
bootstrap (training seeds, then test images); with one seed, over test images only."""

import numpy as np
import pandas as pd
import pytest

from fss.evaluation.ablation_tests import ablation_tests, adjacent_pairs, compare_rows


def _scores(ssim: np.ndarray, subsets: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"i{k}" for k in range(len(ssim))], "subset": subsets,
                         "ssim": ssim, "psnr": 10 + ssim})


def test_adjacent_pairs_in_order():
    assert adjacent_pairs(["cut", "rcs", "dss"]) == [("cut", "rcs"), ("rcs", "dss")]


def test_compare_rows_flags_an_offset_per_subset_and_not_an_identical_row():
    rng = np.random.default_rng(0)
    s = rng.normal(0.6, 0.1, 60)
    subsets = ["cuhk"] * 30 + ["ar"] * 30
    a = _scores(s, subsets)
    same = compare_rows(a, a.copy())
    assert not same["all"]["ssim"]["significant"] and same["all"]["ssim"]["diff"] == 0
    better = compare_rows(a, _scores(s + 0.02, subsets))
    assert better["cuhk"]["ssim"]["significant"] and better["all"]["n"] == 60
    assert better["ar"]["psnr"]["diff"] == pytest.approx(0.02)
    assert "xm2vts" not in better
    with pytest.raises(ValueError, match="different test images"):
        compare_rows(a, a.iloc[:10])


def test_ablation_tests_reads_every_seed_and_the_rank1_hits(tmp_path):
    rng = np.random.default_rng(1)
    s = rng.normal(0.6, 0.1, 20)
    subsets = ["cuhk"] * 20
    hits = pd.DataFrame({"id": [f"i{k}" for k in range(20)], "subset": subsets})
    for row, shift in (("cut", 0.0), ("rcs", 0.05)):
        for seed in (0, 1):
            d = tmp_path / "results" / row / f"seed{seed}"
            d.mkdir(parents=True)
            _scores(s + shift + 0.001 * seed, subsets).to_csv(d / "scores.csv", index=False)
            hits[f"{row}/seed{seed}"] = (rng.random(20) < 0.5 + shift * 8).astype(int)
    hits.to_csv(tmp_path / "hits.csv", index=False)
    out = ablation_tests(tmp_path / "results", tmp_path / "hits.csv", ["cut", "rcs"], [0, 1])
    (pair,) = out["pairs"]
    assert (pair["from"], pair["to"]) == ("cut", "rcs")
    assert out["seeds"] == {"cut": [0, 1], "rcs": [0, 1]} and out["levels"] == ["seeds", "images"]
    assert pair["subsets"]["all"]["ssim"]["diff"] == pytest.approx(0.05, abs=1e-4)
    assert pair["subsets"]["all"]["ssim"]["significant"]
    assert "rank1" in pair["subsets"]["all"]
    with pytest.raises(FileNotFoundError, match="seed 2"):
        ablation_tests(tmp_path / "results", None, ["cut", "rcs"], [0, 2])


def _runs(tmp_path, row: str, offsets: list[float], base: np.ndarray) -> None:
    """One scores.csv per seed: the base SSIM per image plus that seed's offset and a
    little per-image noise."""
    rng = np.random.default_rng(len(row))
    for seed, off in enumerate(offsets):
        d = tmp_path / row / f"seed{seed}"
        d.mkdir(parents=True)
        _scores(base + off + rng.normal(0, 0.005, len(base)), ["cuhk"] * len(base)).to_csv(
            d / "scores.csv", index=False)


def test_two_level_flags_a_consistent_offset_not_a_seed_inconsistent_one(tmp_path):
    base = np.random.default_rng(3).normal(0.6, 0.1, 40)
    _runs(tmp_path, "cut", [0.0, 0.002, -0.002], base)
    _runs(tmp_path, "rcs", [0.02, 0.021, 0.019], base)          # +0.02 in every run
    _runs(tmp_path, "dss", [0.08, -0.04, 0.04], base)           # +0.027 on average only
    out = ablation_tests(tmp_path, None, ["cut", "rcs", "dss"], [0, 1, 2])
    consistent = out["pairs"][0]["subsets"]["cuhk"]["ssim"]
    assert consistent["diff"] == pytest.approx(0.02, abs=0.003) and consistent["significant"]
    # rcs -> dss: +0.007 on average, but one of dss's seeds is 0.06 below rcs
    messy = out["pairs"][1]["subsets"]["cuhk"]["ssim"]
    assert not messy["significant"] and messy["ci"][0] < -0.03
    # The image-only test of the seed-averaged scores would have starred both steps.
    from fss.evaluation.ablation_tests import compare_rows

    mean_of = {r: pd.concat(pd.read_csv(tmp_path / r / f"seed{k}" / "scores.csv")
                            for k in range(3)).groupby(["id", "subset"], as_index=False).mean()
               for r in ("cut", "dss")}
    naive = compare_rows(mean_of["cut"], mean_of["dss"])["cuhk"]["ssim"]
    assert naive["significant"]
    assert out["method"].startswith("two-level")


def test_one_seed_covers_test_images_only_and_rows_may_differ(tmp_path):
    base = np.random.default_rng(4).normal(0.6, 0.1, 30)
    _runs(tmp_path, "cut", [0.0], base)
    _runs(tmp_path, "rcs", [0.03, 0.031, 0.029], base)
    one = ablation_tests(tmp_path, None, ["cut", "rcs"], [0])
    assert one["levels"] == ["images"] and "test images only" in one["method"]
    assert one["pairs"][0]["subsets"]["cuhk"]["ssim"]["significant"]
    mixed = ablation_tests(tmp_path, None, ["cut", "rcs"], {"cut": [0], "rcs": [0, 1, 2]})
    assert mixed["seeds"] == {"cut": [0], "rcs": [0, 1, 2]} and "seeds" in mixed["levels"]
    assert mixed["pairs"][0]["subsets"]["cuhk"]["ssim"]["diff"] == pytest.approx(0.03,
                                                                                  abs=0.003)
