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


def _write_manifest(path: Path, root: Path, files: list[Path]) -> Path:
    from fss.weights import sha256_of

    lines = ["path,bytes,sha256"] + [
        f"{f.relative_to(root).as_posix()},{f.stat().st_size},{sha256_of(f)}" for f in files]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_manifest_must_list_every_paired_file(synthetic_cufs, tmp_path, capsys):
    pairs = cufs.discover_pairs([synthetic_cufs])
    files = sorted(f for p in pairs for f in (p.photo, p.sketch))
    full = _write_manifest(tmp_path / "full.csv", synthetic_cufs, files)
    assert cufs.check_manifest(pairs, full, synthetic_cufs) == (36, 36)
    gap = _write_manifest(tmp_path / "gap.csv", synthetic_cufs, files[1:])
    unlisted = files[0].relative_to(synthetic_cufs).as_posix()
    with pytest.raises(cufs.CufsError, match=f"1 paired file\\(s\\) not listed.*{unlisted}"):
        cufs.check_manifest(pairs, gap, synthetic_cufs)
    assert cufs.check_manifest(pairs, gap, synthetic_cufs, unlisted="warn") == (35, 36)
    assert f"warning: {gap}: 1 paired file(s) not listed" in capsys.readouterr().err


def test_manifest_names_the_first_few_unlisted(synthetic_cufs, tmp_path):
    pairs = cufs.discover_pairs([synthetic_cufs])
    files = sorted(f for p in pairs for f in (p.photo, p.sketch))
    gap = _write_manifest(tmp_path / "gap.csv", synthetic_cufs, files[5:])
    with pytest.raises(cufs.CufsError) as e:
        cufs.check_manifest(pairs, gap, synthetic_cufs)
    msg = str(e.value)
    assert "5 paired file(s)" in msg and "and 2 more" in msg and "\n" not in msg
    assert files[0].relative_to(synthetic_cufs).as_posix() in msg


def test_manifest_catches_a_changed_file(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    pairs = cufs.discover_pairs([root])
    files = sorted(f for p in pairs for f in (p.photo, p.sketch))
    m = _write_manifest(tmp_path / "m.csv", root, files)
    files[3].write_bytes(files[3].read_bytes() + b"\0")
    with pytest.raises(cufs.CufsError, match=f"{files[3].name}: sha256 differs"):
        cufs.check_manifest(pairs, m, root)


def test_real_cufs_unlisted_file_stops_download(tmp_path):
    root = shared_cufs()
    if root is None:
        pytest.skip("real CUFS not found (set FSS_CUFS or put ../shared beside the repo)")
    listed = root.parent / "cufs-sha256.csv"
    if not listed.is_file():
        pytest.skip(f"{listed}: no sha256 manifest beside the real CUFS")
    lines = listed.read_text().splitlines()
    dropped = next(ln for ln in lines[1:] if ln.startswith("AR/Testing Photos/"))
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join(ln for ln in lines if ln != dropped) + "\n")
    out = tmp_path / "raw"
    with pytest.raises(cufs.CufsError, match=f"not listed.*{dropped.split(',')[0]}"):
        run_download(DataParams(source=str(root), manifest=str(gap)), out)
    assert not out.exists()
    r = run_download(DataParams(source=str(root), manifest=str(gap), manifest_unlisted="warn",
                                limit_per_split=1), out)
    assert r.verified_line().startswith("1211 of 1212 files verified")


def test_os_sidecar_files_are_ignored(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    photos = root / "CUHK Students" / "Training" / "photos"
    first = sorted(photos.iterdir())[0]
    (photos / f"._{first.name}").write_bytes(b"\0\5\26\7 AppleDouble")
    (photos / ".DS_Store").write_bytes(b"\0")
    (photos / "desktop.ini").write_text("[.ShellClassInfo]")
    (photos / "Thumbs.db").write_bytes(b"\0")
    junk = root / "__MACOSX" / "CUHK Students" / "Training" / "photos"
    junk.mkdir(parents=True)
    (junk / f"._{first.name}").write_bytes(b"\0")
    pairs = cufs.discover_pairs([root])
    assert len(pairs) == 18
    assert all(not p.photo.name.startswith(".") for p in pairs)


def _cuhk_test(root: Path) -> tuple[list[Path], list[Path]]:
    base = root / "CUHK Students" / "Testing"
    return (sorted((base / "photos").iterdir()),
            sorted((base / "sketches").iterdir(), key=lambda s: int(s.stem)))


def test_missing_numbered_sketch_named_by_its_number(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    photos, sketches = _cuhk_test(root)
    sketches[1].unlink()  # a gap in the numbering
    with pytest.raises(cufs.CufsError, match=f"{sketches[1].name}: missing numbered sketch"):
        cufs.discover_pairs([root])


def _split_rows(photos, sketches):
    """The committed split's rows for the CUHK test pairs, as discover_pairs reads them."""
    return [{"subset": "cuhk", "split": "test", "id": f"cuhk-{p.stem}",
             "photo": f"CUHK Students/Testing/photos/{p.name}",
             "sketch": f"CUHK Students/Testing/sketches/{s.name}"}
            for p, s in zip(photos, sketches, strict=True)]


def test_missing_first_numbered_sketch_named_from_the_split(synthetic_cufs, tmp_path):
    """Without a gap only the committed split can say which number is gone."""
    root = _copy(synthetic_cufs, tmp_path)
    photos, sketches = _cuhk_test(root)
    reference = _split_rows(photos, sketches)
    sketches[0].unlink()
    with pytest.raises(cufs.CufsError) as e:
        cufs.discover_pairs([root], reference)
    msg = str(e.value)
    assert msg.startswith(f"{sketches[0]}: missing numbered sketch (pairs with {photos[0].name}")
    assert "unpaired" not in msg


def test_missing_photo_of_a_numbered_sketch_is_named(synthetic_cufs, tmp_path):
    root = _copy(synthetic_cufs, tmp_path)
    photos, sketches = _cuhk_test(root)
    reference = _split_rows(photos, sketches)
    photos[2].unlink()
    with pytest.raises(cufs.CufsError, match=f"{photos[2].name}: missing photo \\(its numbered "
                                             f"sketch {sketches[2].name}"):
        cufs.discover_pairs([root], reference)
