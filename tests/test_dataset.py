"""load_pairs on data a user can break (a hand-edited or stale splits.csv, an image of
another size, a damaged PNG): one UserError naming the file, never a pandas or numpy
traceback."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fss.errors import UserError
from fss.training.dataset import load_pairs


def _png(path: Path, shape: tuple[int, ...]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(shape, 128, dtype=np.uint8)).save(path)
    return path


def _tree(tmp: Path, sketch_shape=(16, 16), mask_shape=(16, 16)) -> Path:
    photo = _png(tmp / "p" / "a.png", (16, 16, 3))
    sketch = _png(tmp / "s" / "a.png", sketch_shape)
    _png(tmp / "masks" / "a.png", mask_shape)
    csv = tmp / "splits.csv"
    csv.write_text(f"id,subset,split,photo,sketch\na,cuhk,train,{photo},{sketch}\n")
    return csv


def test_a_good_tree_loads(tmp_path):
    data = load_pairs(_tree(tmp_path), "train", tmp_path / "masks")
    assert data.ids == ["a"] and tuple(data.photos.shape) == (1, 3, 16, 16)


@pytest.mark.parametrize(("text", "words"), [
    ("", "not a readable CSV"),
    ("id,split,photo\na,train,x.png\n", "column(s) subset, sketch missing"),
    ("id,subset,split,photo,sketch\na,cuhk,test,x.png,y.png\n", "no pairs in split 'train'"),
    ("id,subset,split,photo,sketch\na,cuhk,train,x.png,y.png\nb,cuhk,train,,y.png\n",
     "line 3: empty photo"),
    ('id,subset,split,photo,sketch\n"a,cuhk,train\n', "not a readable CSV"),
])
def test_a_bad_splits_csv_is_one_error_naming_it(tmp_path, text, words):
    (tmp_path / "splits.csv").write_text(text)
    with pytest.raises(UserError, match="splits.csv: ") as e:
        load_pairs(tmp_path / "splits.csv", "train", tmp_path / "masks")
    assert words in str(e.value)


def test_a_splits_csv_that_is_not_text(tmp_path):
    (tmp_path / "splits.csv").write_bytes(b"\xff\xfe\x00\x89PNG\x00\x00")
    with pytest.raises(UserError, match="splits.csv: not a readable CSV"):
        load_pairs(tmp_path / "splits.csv", "train", tmp_path / "masks")


@pytest.mark.parametrize(("sketch", "mask", "bad"), [((20, 16), (16, 16), "s"),
                                                      ((16, 16), (8, 8), "masks")])
def test_an_image_of_another_size_names_it(tmp_path, sketch, mask, bad):
    csv = _tree(tmp_path, sketch, mask)
    with pytest.raises(UserError, match=rf"{bad}/a.png: size \d+x\d+ differs from the photo's "
                                        "16x16"):
        load_pairs(csv, "train", tmp_path / "masks")


def test_a_damaged_png_names_it(tmp_path):
    csv = _tree(tmp_path)
    data = (tmp_path / "s" / "a.png").read_bytes()
    (tmp_path / "s" / "a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"s/a.png: not a readable image"):
        load_pairs(csv, "train", tmp_path / "masks")
