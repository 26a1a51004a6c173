"""The Wang et al. split as a CSV (params' ``paths.splits``): id, subset, split, photo,
sketch; ``build_splits`` makes it, ``read_splits`` is its one checked reader."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from fss.data.cufs import SPLITS, SUBSETS, CufsError, read_manifest, read_source

COLUMNS = ("id", "subset", "split", "photo", "sketch")
PAPER_COUNTS = {"cuhk": {"train": 88, "test": 100}, "ar": {"train": 80, "test": 43},
                "xm2vts": {"train": 100, "test": 195}}


def ordered_subsets(names: Iterable[str]) -> list[str]:
    """Each subset once: CUFS's in the paper's order, then any other (a paired folder's)
    by name."""
    names = set(names)
    return [s for s in SUBSETS if s in names] + sorted(names - set(SUBSETS))


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
    df["_s"] = df["subset"].map(ordered_subsets(df["subset"]).index)
    df["_p"] = df["split"].map(SPLITS.index)
    return df.sort_values(["_s", "_p", "id"]).drop(columns=["_s", "_p"]).reset_index(drop=True)


def split_counts(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    return {s: {sp: int(((df.subset == s) & (df.split == sp)).sum()) for sp in SPLITS}
            for s in ordered_subsets(df["subset"])}


def check_paper_counts(df: pd.DataFrame, raw: Path) -> None:
    """On the full real database the counts must be the paper's."""
    src = read_source(raw)
    if (src.get("kind") == "real" and src.get("dataset", "cufs") == "cufs"
            and src.get("limit_per_split", "0") == "0"):
        got = split_counts(df)
        if got != PAPER_COUNTS:
            raise CufsError(f"{raw}: split counts {got} differ from the paper's {PAPER_COUNTS}")


def read_splits(path: Path) -> pd.DataFrame:
    """The split file, checked: every stage and command that reads it comes here, so a
    missing or damaged file is one UserError line naming it and the problem (never a
    pandas traceback in whichever stage reads it first). Every value is a string (an id
    such as ``001`` stays ``001``)."""
    from fss.errors import UserError

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: missing (run the split stage first)")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a readable CSV ({' '.join(str(e).split())})") from None
    if missing := [c for c in COLUMNS if c not in df.columns]:
        raise UserError(f"{path}: column(s) {', '.join(missing)} missing (has "
                        f"{', '.join(map(str, df.columns)) or 'none'}; expected "
                        f"{', '.join(COLUMNS)})")
    bad = df[~df["split"].isin(SPLITS)]
    if len(bad):
        line = int(bad.index[0]) + 2  # the header is line 1
        raise UserError(f"{path}: line {line}: split {bad['split'].iloc[0]!r} should be "
                        f"one of {', '.join(SPLITS)} ({len(bad)} such line(s))")
    if (df["id"] == "").any():
        raise UserError(f"{path}: line {int(df.index[df['id'] == ''][0]) + 2}: empty id")
    if len(dup := df["id"][df["id"].duplicated()]):
        raise UserError(f"{path}: id {dup.iloc[0]!r} listed more than once")
    return df
