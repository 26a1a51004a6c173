"""Paired bootstrap between adjacent ablation rows, on per-image score files."""

import numpy as np
import pandas as pd
import pytest

from fss.ablation_tests import ablation_tests, adjacent_pairs, compare_rows


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
    assert (pair["from"], pair["to"]) == ("cut", "rcs") and out["seeds"] == [0, 1]
    assert pair["subsets"]["all"]["ssim"]["diff"] == pytest.approx(0.05, abs=1e-4)
    assert pair["subsets"]["all"]["ssim"]["significant"]
    assert "rank1" in pair["subsets"]["all"]
    with pytest.raises(FileNotFoundError, match="seed 2"):
        ablation_tests(tmp_path / "results", None, ["cut", "rcs"], [0, 2])
