"""A user's own pairs (data.dataset=paired_folder): pairing by name, the split file or a
seeded share, one-line errors, and the data stages chained on them as on CUFS."""

import shutil

import pandas as pd
import pytest
from PIL import Image

from fss.data.align import AlignParams, align_dataset
from fss.data.cufs import CufsError, read_source
from fss.data.download import DataParams, run_download
from fss.data.paired_folder import SUBSET, paired_folder_pairs, seeded_split
from fss.data.splits import build_splits, ordered_subsets, split_counts
from fss.data.synthetic import make_synthetic_paired


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "mine"
    make_synthetic_paired(root, 6, seed=1)
    return root


def test_pairs_by_name_split_by_a_seeded_share(folder):
    pairs, rule = paired_folder_pairs(folder, 0.5, 3)
    assert rule == "seeded share 0.5, seed 3"
    assert sorted(p.id for p in pairs) == [f"pair-{k:03d}" for k in range(6)]
    assert all(p.photo.parent.name == "photos" and p.sketch.parent.name == "sketches"
               and p.photo.stem == p.sketch.stem == p.id for p in pairs)
    assert [p.split for p in pairs].count("test") == 3
    assert {p.subset for p in pairs} == {SUBSET}
    # train before test, ids sorted within each: the order build_splits writes
    assert [p.split for p in pairs] == ["train"] * 3 + ["test"] * 3
    # the draw follows the seed, and is the same every time
    assert paired_folder_pairs(folder, 0.5, 3) == (pairs, rule)
    other = {p.id for p in paired_folder_pairs(folder, 0.5, 4)[0] if p.split == "test"}
    drawn = {i for i, (_, s) in seeded_split([f"pair-{k:03d}" for k in range(6)], 0.5, 4).items()
             if s == "test"}
    assert other == drawn


@pytest.mark.parametrize("share, n_test", [(0.0, 1), (1.0, 5), (0.34, 2)])
def test_a_seeded_split_keeps_a_pair_on_each_side(share, n_test):
    split = seeded_split([str(k) for k in range(6)], share, 0)
    assert sum(s == "test" for _, s in split.values()) == n_test


def test_a_split_file_decides_split_and_subset(folder):
    ids = [f"pair-{k:03d}" for k in range(6)]
    lines = ["id,split,subset"] + [f"{i},{'test' if k < 2 else 'train'},{'b' if k % 2 else 'a'}"
                                   for k, i in enumerate(ids)]
    (folder / "splits.csv").write_text("\n".join(lines) + "\n")
    pairs, rule = paired_folder_pairs(folder, 0.5, 0)
    assert rule == "splits.csv"
    got = {p.id: (p.subset, p.split) for p in pairs}
    assert got["pair-000"] == ("a", "test") and got["pair-001"] == ("b", "test")
    assert got["pair-002"] == ("a", "train")
    assert [p.subset for p in pairs] == ["a"] * 3 + ["b"] * 3


@pytest.mark.parametrize("text, words", [
    ("id\npair-000\n", "needs the columns id and split"),
    ("id,split\npair-000,val\n", "line 2: split 'val' should be one of train, test"),
    ("id,split\npair-000,test\npair-000,train\n", "line 3: id 'pair-000' listed more than once"),
    ("id,split\nghost,test\n", "id 'ghost' has no photo and sketch"),
    ("id,split\npair-000,test\n", "pair 'pair-001' is not listed (5 unlisted)"),
    ("id,split,subset\npair-000,test,a b\n", "subset 'a b' may hold only"),
])
def test_a_bad_split_file_is_one_line_naming_it(folder, text, words):
    (folder / "splits.csv").write_text(text)
    with pytest.raises(CufsError) as e:
        paired_folder_pairs(folder, 0.5, 0)
    assert str(e.value).startswith(f"{folder / 'splits.csv'}: ") and words in str(e.value)


def test_one_side_only_is_refused(folder):
    ids = [f"pair-{k:03d}" for k in range(6)]
    (folder / "splits.csv").write_text("id,split\n" + "".join(f"{i},train\n" for i in ids))
    with pytest.raises(CufsError, match="no test pair \\(splits.csv\\)"):
        paired_folder_pairs(folder, 0.5, 0)


def test_unpaired_duplicate_and_missing_files_are_one_line(folder):
    (folder / "photos" / "lonely.png").write_bytes((folder / "photos" / "pair-000.png")
                                                   .read_bytes())
    with pytest.raises(CufsError, match=r"lonely.png: no sketch named 'lonely' in .*sketches"):
        paired_folder_pairs(folder, 0.5, 0)
    (folder / "photos" / "lonely.png").unlink()
    shutil.copy(folder / "sketches" / "pair-001.jpg", folder / "sketches" / "pair-001.png")
    with pytest.raises(CufsError, match="two files named 'pair-001'"):
        paired_folder_pairs(folder, 0.5, 0)
    (folder / "sketches" / "pair-001.png").unlink()
    (folder / "photos" / "a b.png").write_bytes(b"x")
    with pytest.raises(CufsError, match="may hold only letters"):
        paired_folder_pairs(folder, 0.5, 0)
    (folder / "photos" / "a b.png").unlink()
    # what an operating system leaves beside the images is not a pair
    (folder / "photos" / "Thumbs.db").write_bytes(b"x")
    (folder / "sketches" / ".DS_Store").write_bytes(b"x")
    assert len(paired_folder_pairs(folder, 0.5, 0)[0]) == 6
    shutil.rmtree(folder / "sketches")
    with pytest.raises(CufsError, match="sketches: folder missing"):
        paired_folder_pairs(folder, 0.5, 0)


def test_download_refuses_cufs_sources_and_broken_images(folder, tmp_path):
    for source in ("auto", "official"):
        with pytest.raises(CufsError, match=f"data.source={source}: a paired folder needs"):
            run_download(DataParams(dataset="paired_folder", source=source), tmp_path / "raw")
    with pytest.raises(CufsError, match="paired folder not found"):
        run_download(DataParams(dataset="paired_folder", source=str(tmp_path / "nope")),
                     tmp_path / "raw")
    (folder / "photos" / "pair-002.png").write_bytes(b"not an image")
    with pytest.raises(CufsError, match="pair-002.png: unreadable image"):
        run_download(DataParams(dataset="paired_folder", source=str(folder)), tmp_path / "raw")
    assert not (tmp_path / "raw").exists()      # nothing half-written


def test_data_stages_on_a_paired_folder(folder, tmp_path):
    raw, aligned = tmp_path / "raw", tmp_path / "aligned"
    Image.open(folder / "photos" / "pair-000.png").convert("L").save(
        folder / "photos" / "pair-000.png")      # a gray photo is read as RGB like CUFS's
    r = run_download(DataParams(dataset="paired_folder", source=str(folder), test_share=0.34),
                     raw)
    assert (r.kind, r.pairs) == ("real", 6)
    src = read_source(raw)
    assert src["dataset"] == "paired_folder" and src["split"] == "seeded share 0.34, seed 0"
    align_dataset(raw, aligned, AlignParams(size=32, detector="native"))
    df = build_splits(raw, aligned)     # no paper counts asked of a user's folder
    assert split_counts(df) == {SUBSET: {"train": 4, "test": 2}}
    assert list(df["split"]) == ["train"] * 4 + ["test"] * 2


def test_synthetic_pairs_for_the_smoke_run(tmp_path):
    r = run_download(DataParams(dataset="paired_folder", source="synthetic",
                                synthetic_per_split=2), tmp_path / "raw")
    assert (r.kind, r.pairs, r.source) == ("synthetic", 4, "synthetic")
    manifest = pd.read_csv(tmp_path / "raw" / "manifest.csv", dtype=str)
    assert list(manifest["split"]).count("test") == 2
    with pytest.raises(Exception, match="exists"):
        make_synthetic_paired(tmp_path / "raw", 2)


def test_subsets_keep_the_papers_order_then_names():
    assert ordered_subsets(["xm2vts", "zoo", "cuhk", "ar", "b", "cuhk"]) == [
        "cuhk", "ar", "xm2vts", "b", "zoo"]
