"""The data stages chained on synthetic CUFS, through the library calls the stages make."""

import json

import pandas as pd

from fss.data.align import AlignParams, align_dataset
from fss.data.download import DataParams, run_download
from fss.data.masks import MaskParams, mask_dataset
from fss.data.splits import build_splits, split_counts


def test_data_stages_end_to_end(synthetic_cufs, tmp_path, weights_dir):
    raw, aligned = tmp_path / "raw", tmp_path / "aligned"
    run_download(DataParams(source=str(synthetic_cufs), synthetic_per_split=3), raw)
    m = align_dataset(raw, aligned, AlignParams(size=64, detector="native"))
    assert m["pairs"] == 18 and m["fallbacks"] == 18
    assert len(pd.read_csv(aligned / "fallbacks.csv")) == 18  # listed, not dropped
    df = build_splits(raw, aligned)
    assert split_counts(df) == {s: {"train": 3, "test": 3} for s in ("cuhk", "ar", "xm2vts")}
    df.to_csv(tmp_path / "splits.csv", index=False)
    mm = mask_dataset(tmp_path / "splits.csv", tmp_path / "masks", MaskParams())
    assert len(list((tmp_path / "masks").glob("*.png"))) == 18
    saved = json.loads((tmp_path / "masks" / "metrics.json").read_text())
    assert saved["mean_iou"] == mm["mean_iou"] and 0.0 <= mm["mean_iou"] <= 1.0
    assert len(saved["selfie"]["worst5"]) == 5
