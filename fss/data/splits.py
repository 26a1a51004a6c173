"""The Wang et al. split as ``data/splits.csv``: id, subset, split, photo, sketch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fss.data.cufs import SPLITS, SUBSETS, CufsError, read_manifest, read_source

PAPER_COUNTS = {"cuhk": {"train": 88, "test": 100}, "ar": {"train": 80, "test": 43},
                "xm2vts": {"train": 100, "test": 195}}


def build_splits(raw: Path, aligned: Path) -> pd.DataFrame:
    """One row per aligned pair, ordered by subset, split, id (deterministic)."""
    rows = []
    for r in read_manifest(raw):
        photo = aligned / "photos" / f"{r['id']}.png"
        sketch = aligned / "sketches" / f"{r['id']}.png"
        for f in (photo, sketch):
            if not f.is_file():
                raise CufsError(f"{f}: aligned image missing; re-run the align stage")
        rows.append({"id": r["id"], "subset": r["subset"], "split": r["split"],
                     "photo": photo.as_posix(), "sketch": sketch.as_posix()})
    df = pd.DataFrame(rows)
    df["_s"] = df["subset"].map(SUBSETS.index)
    df["_p"] = df["split"].map(SPLITS.index)
    return df.sort_values(["_s", "_p", "id"]).drop(columns=["_s", "_p"]).reset_index(drop=True)


def split_counts(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    return {s: {sp: int(((df.subset == s) & (df.split == sp)).sum()) for sp in SPLITS}
            for s in SUBSETS}


def check_paper_counts(df: pd.DataFrame, raw: Path) -> None:
    """On the full real database the counts must be the paper's."""
    src = read_source(raw)
    if src.get("kind") == "real" and src.get("limit_per_split", "0") == "0":
        got = split_counts(df)
        if got != PAPER_COUNTS:
            raise CufsError(f"{raw}: split counts {got} differ from the paper's {PAPER_COUNTS}")
