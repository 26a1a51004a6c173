"""Seeds: run naming and finding a row's runs (their summary over seeds:
tests/test_report_summaries.py)."""

from fss.runs import run_name, seed_paths


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

