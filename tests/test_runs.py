"""Seeds: run naming, finding a row's runs, and their mean +/- std."""

import pytest

from fss.runs import run_name, seed_paths, summarize_seeds


def test_run_name():  # train.seeds itself is checked with the params (test_params.py)
    assert run_name("fss", 2) == "fss/seed2"


def test_seed_paths_finds_files_and_folders_in_seed_order(tmp_path):
    for k in (10, 2):
        (tmp_path / "fss" / f"seed{k}.json").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fss" / f"seed{k}.json").write_text("{}")
    (tmp_path / "fss" / "notes.json").write_text("{}")
    assert list(seed_paths(tmp_path, "fss")) == [2, 10]
    (tmp_path / "res" / "fss" / "seed0").mkdir(parents=True)
    assert list(seed_paths(tmp_path / "res", "fss", suffix="")) == [0]
    assert seed_paths(tmp_path, "cut") == {}


def test_one_seed_is_kept_as_it_is():
    run = {"subsets": {"ar": {"ssim": 0.6, "ssim_ci": [0.5, 0.7]}}, "row": "fss"}
    assert summarize_seeds([run], [0]) == {**run, "seeds": [0]}


def test_several_seeds_give_mean_and_std_and_drop_per_run_intervals():
    runs = [{"row": "fss", "subsets": {"ar": {"ssim": s, "ssim_ci": [0, 1], "n": 43}}}
            for s in (0.5, 0.7)]
    out = summarize_seeds(runs, [0, 1])
    ar = out["subsets"]["ar"]
    assert ar["ssim"] == pytest.approx(0.6)
    assert ar["ssim_std"] == pytest.approx(0.1414214, abs=1e-6)
    assert ar["n"] == 43 and ar["n_std"] == 0
    assert "ssim_ci" not in ar and out["row"] == "fss" and out["seeds"] == [0, 1]
    with pytest.raises(ValueError):
        summarize_seeds([], [])
