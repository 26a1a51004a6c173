"""A user's own pairs as a dataset (``data.dataset: paired_folder``): ``<source>/photos/``
and ``<source>/sketches/`` holding one photo and one sketch per name (the file name
without its suffix is the pair's id), split by ``<source>/splits.csv`` (columns ``id``,
``split`` and optionally ``subset``) when the folder has one, else by a seeded share of
test pairs (``data.test_share``, ``data.split_seed``). The pairs come out as
``cufs.Pair``, so the raw copy, alignment, split, masks and everything after them read a
user's pairs as they read CUFS."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from fss.data.cufs import IMAGE_SUFFIXES, SPLITS, CufsError, Pair, is_os_junk

SUBSET = "pairs"        # the one subset of a folder whose split file names none
SPLIT_FILE = "splits.csv"
# an id becomes a file name (aligned/photos/<id>.png) and a CSV cell
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _images(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise CufsError(f"{folder}: folder missing (a paired folder holds photos/ and "
                        "sketches/ with one file per pair, matching names)")
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if not f.is_file() or is_os_junk(f.name) or f.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if not _SAFE_ID.match(f.stem):
            raise CufsError(f"{f}: a pair's name may hold only letters, digits, '.', '_' and "
                            "'-' (it becomes a file name and a CSV cell)")
        if f.stem in out:
            raise CufsError(f"{f}: two files named {f.stem!r} in {folder} "
                            f"({out[f.stem].name}, {f.name}); keep one")
        out[f.stem] = f
    return out


def discover_paired(root: Path) -> dict[str, tuple[Path, Path]]:
    """id -> (photo, sketch), every file of either folder paired, sorted by id."""
    photos, sketches = _images(root / "photos"), _images(root / "sketches")
    for have, lack, kind in ((photos, sketches, "sketch"), (sketches, photos, "photo")):
        if alone := sorted(set(have) - set(lack)):
            folder = root / ("sketches" if kind == "sketch" else "photos")
            raise CufsError(f"{have[alone[0]]}: no {kind} named {alone[0]!r} in {folder} "
                            f"({len(alone)} such file(s))")
    if len(photos) < 2:
        raise CufsError(f"{root}: {len(photos)} pair(s); a train and a test split need at "
                        "least 2")
    return {k: (photos[k], sketches[k]) for k in sorted(photos)}


def read_split_file(path: Path, ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (subset, split) from a split file that lists every pair once."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = set(rows[0]) if rows else set()
    if not {"id", "split"} <= fields:
        raise CufsError(f"{path}: needs the columns id and split (has "
                        f"{', '.join(sorted(fields)) or 'none'})")
    out: dict[str, tuple[str, str]] = {}
    for line, r in enumerate(rows, start=2):
        i, split, subset = r["id"], r["split"], (r.get("subset") or SUBSET)
        if split not in SPLITS:
            raise CufsError(f"{path}: line {line}: split {split!r} should be one of "
                            f"{', '.join(SPLITS)}")
        if not _SAFE_ID.match(subset):
            raise CufsError(f"{path}: line {line}: subset {subset!r} may hold only letters, "
                            "digits, '.', '_' and '-'")
        if i in out:
            raise CufsError(f"{path}: line {line}: id {i!r} listed more than once")
        out[i] = (subset, split)
    known = set(ids)
    if extra := sorted(set(out) - known):
        raise CufsError(f"{path}: id {extra[0]!r} has no photo and sketch "
                        f"({len(extra)} such id(s))")
    if missing := [i for i in ids if i not in out]:
        raise CufsError(f"{path}: pair {missing[0]!r} is not listed ({len(missing)} "
                        "unlisted); list every pair once")
    return out


def seeded_split(ids: list[str], test_share: float, seed: int) -> dict[str, tuple[str, str]]:
    """id -> (SUBSET, split): ``round(test_share * n)`` test pairs drawn with ``seed``,
    at least one pair on each side."""
    n = len(ids)
    n_test = min(max(round(test_share * n), 1), n - 1)
    test = set(np.random.default_rng(seed).permutation(n)[:n_test].tolist())
    return {i: (SUBSET, "test" if k in test else "train") for k, i in enumerate(ids)}


def paired_folder_pairs(root: Path, test_share: float, seed: int) -> tuple[list[Pair], str]:
    """The folder's pairs with their subset and split, ordered by subset, split, id, and
    how they were split ('splits.csv' or 'seeded share 0.5, seed 0')."""
    found = discover_paired(root)
    ids = list(found)
    if (root / SPLIT_FILE).is_file():
        where, rule = read_split_file(root / SPLIT_FILE, ids), SPLIT_FILE
    else:
        where, rule = seeded_split(ids, test_share, seed), f"seeded share {test_share}, seed {seed}"
    for split in SPLITS:
        if not any(s == split for _, s in where.values()):
            raise CufsError(f"{root}: no {split} pair ({rule}); a split needs both sides")
    pairs = [Pair(where[i][0], where[i][1], i, *found[i]) for i in ids]
    pairs.sort(key=lambda p: (p.subset, SPLITS.index(p.split), p.id))
    return pairs, rule
