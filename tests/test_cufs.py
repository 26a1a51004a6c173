import shutil
from pathlib import Path

import pytest

from fss.data import cufs
from fss.data.download import DataParams, run_download
from tests.conftest import shared_cufs


def test_pair_key_cuhk_decorations():
    assert cufs.pair_key("F2-005-01-sz1") == "f-005-01"
    assert cufs.pair_key("M2-041-01-sz1") == "m-041-01"
    assert cufs.pair_key("m1-041-01") == "m1-041-01"
    assert cufs.pair_key("100") == "100"


def test_classify_dir_both_layouts():
    assert cufs.classify_dir(Path("AR/Training Photos")) == ("ar", "photo", "train")
    assert cufs.classify_dir(Path("CUHK Students/Testing/sketches")) == ("cuhk", "sketch", "test")
    assert cufs.classify_dir(Path("CUHK_training_sketch/sketch")) == ("cuhk", "sketch", "train")
    assert cufs.classify_dir(Path("XM2VTS_sketch")) == ("xm2vts", "sketch", None)


def test_discover_synthetic_pairs_every_rule(synthetic_cufs):
    pairs = cufs.discover_pairs([synthetic_cufs])
    assert len(pairs) == 3 * 2 * 3
    by = {(p.subset, p.split): [] for p in pairs}
    for p in pairs:
        by[(p.subset, p.split)].append(p)
    # CUHK test sketches are numbered and pair with photos in sorted name order
    test = sorted(by[("cuhk", "test")], key=lambda p: p.photo.name)
    nums = [int(p.sketch.stem) for p in test]
    assert nums == sorted(nums)
    for p in by[("cuhk", "train")]:
        assert cufs.pair_key(p.sketch.stem) == p.photo.stem
    for p in by[("ar", "train")]:
        assert p.photo.name == p.sketch.name


def _copy(src: Path, tmp: Path) -> Path:
    dst = tmp / "cufs"
    shutil.copytree(src, dst)
    return dst


def _params(root: Path) -> DataParams:
    return DataParams(source=str(root), synthetic_per_split=3)


def test_download_writes_verified_copy(synthetic_cufs, tmp_path):
    out = tmp_path / "raw"
    r = run_download(_params(synthetic_cufs), out)
    assert r.kind == "synthetic" and r.pairs == 18
    rows = cufs.read_manifest(out)
    assert len(rows) == 18 and all((out / row["photo"]).is_file() for row in rows)
    assert cufs.read_source(out)["kind"] == "synthetic"


def test_download_missing_subset_errors_and_writes_nothing(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    shutil.rmtree(root / "AR")
    out = tmp_path / "raw"
    with pytest.raises(cufs.CufsError, match="missing subset 'ar'"):
        run_download(_params(root), out)
    assert not out.exists()
    assert not list(tmp_path.glob(".raw*"))


def test_download_corrupt_image_names_file(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    bad = sorted((root / "XM2VTS" / "Testing Photos").iterdir())[0]
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "raw"
    with pytest.raises(cufs.CufsError, match=f"{bad.name}: unreadable image"):
        run_download(_params(root), out)
    assert not out.exists()


def test_failed_download_keeps_previous_output(synthetic_cufs, tmp_path):
    out = tmp_path / "raw"
    run_download(_params(synthetic_cufs), out)
    before = sorted(p.name for p in (out / "photos").iterdir())
    root = _copy(synthetic_cufs, tmp_path)
    next(iter((root / "AR" / "Training Sketches").iterdir())).unlink()
    with pytest.raises(cufs.CufsError, match="unpaired file"):
        run_download(_params(root), out)
    assert sorted(p.name for p in (out / "photos").iterdir()) == before


def test_unpaired_sketch_named(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    photo = sorted((root / "AR" / "Testing Photos").iterdir())[0]
    photo.unlink()
    with pytest.raises(cufs.CufsError, match=f"{photo.name}: unpaired file"):
        cufs.discover_pairs([root])


def test_wrong_count_against_reference(synthetic_cufs):
    pairs = cufs.discover_pairs([synthetic_cufs])
    with pytest.raises(cufs.CufsError, match=r"ar test has 3 pairs, expected 43"):
        cufs.check_against_reference(pairs, cufs.reference_pairs(), synthetic_cufs)


def test_archive_source(synthetic_cufs, tmp_path):
    archive = shutil.make_archive(str(tmp_path / "cufs"), "zip", synthetic_cufs)
    r = run_download(DataParams(source=archive, synthetic_per_split=3), tmp_path / "raw")
    assert r.pairs == 18


def test_limit_per_split(synthetic_cufs):
    pairs = cufs.limit_per_split(cufs.discover_pairs([synthetic_cufs]), 2)
    assert len(pairs) == 12


def test_reference_split_counts():
    ref = cufs.reference_pairs()
    counts = {}
    for r in ref:
        counts[(r["subset"], r["split"])] = counts.get((r["subset"], r["split"]), 0) + 1
    assert counts == {("cuhk", "train"): 88, ("cuhk", "test"): 100, ("ar", "train"): 80,
                      ("ar", "test"): 43, ("xm2vts", "train"): 100, ("xm2vts", "test"): 195}


def test_real_cufs_matches_paper_split():
    root = shared_cufs()
    if root is None:
        pytest.skip("real CUFS not found (set FSS_CUFS or put ../shared beside the repo)")
    pairs = cufs.discover_pairs([root], cufs.reference_pairs())
    cufs.check_against_reference(pairs, cufs.reference_pairs(), root)
    ref = {r["id"]: r for r in cufs.reference_pairs()}
    for p in pairs:
        assert p.sketch.relative_to(root).as_posix() == ref[p.id]["sketch"]
