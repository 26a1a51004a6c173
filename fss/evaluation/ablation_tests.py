"""Is each ablation step's gain real? Between adjacent ablation rows (cut -> rcs -> dss ->
mask -> fss), a two-level bootstrap: every resample draws each row's training runs
(seeds) with replacement, then the test images (the same images for both rows, so the
images' own difficulty cancels). The interval thus covers both sources of randomness,
training and the draw of test faces; with one seed per row it covers test images only.
A difference whose 95 % interval excludes 0 is marked. The metrics tested: every
per-image metric and rank-1 with an interval in the metric table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fss.data.splits import ordered_subsets
from fss.errors import UserError
from fss.metrics.bootstrap import BootstrapParams, two_level_bootstrap
from fss.metrics.table import ablation_keys
from fss.runs import MTCNN_SUFFIX, run_name

DEFAULT_BOOTSTRAP = BootstrapParams()


def adjacent_pairs(rows: Sequence[str]) -> list[tuple[str, str]]:
    return list(zip(rows[:-1], rows[1:], strict=True))


def _runs(df: pd.DataFrame, key: str, ids: Sequence[str]) -> np.ndarray:
    """seeds x images of one metric, images in ``ids`` order."""
    wide = df.pivot(index="seed", columns="id", values=key)
    return wide.reindex(columns=list(ids)).to_numpy(float)


def compare_rows(a: pd.DataFrame, b: pd.DataFrame, boot: BootstrapParams = DEFAULT_BOOTSTRAP
                 ) -> dict[str, dict[str, Any]]:
    """Per subset and over all images, per metric column both tables share: b - a
    with its interval. ``a`` and ``b``: one line per test image and training run,
    columns id, subset, seed (optional: one run) and the metrics."""
    a, b = (d if "seed" in d else d.assign(seed=0) for d in (a, b))
    ids_a, ids_b = set(a["id"]), set(b["id"])
    if ids_a != ids_b:
        raise UserError(f"the two rows were scored on different test images "
                        f"({len(ids_a)} and {len(ids_b)}, {len(ids_a & ids_b)} in common)")
    subset_of = a.drop_duplicates("id").set_index("id")["subset"]
    out: dict[str, dict[str, Any]] = {}
    groups = [("all", list(subset_of.index)),
              *((s, list(subset_of.index[subset_of == s])) for s in ordered_subsets(subset_of))]
    for name, ids in groups:
        if not ids:
            continue
        res: dict[str, Any] = {"n": len(ids)}
        for k in ablation_keys():
            if k in a and k in b and a[k].notna().any() and b[k].notna().any():
                iv = two_level_bootstrap(_runs(a, k, ids), _runs(b, k, ids), boot)
                res[k] = {"diff": round(iv.mean, 4), "ci": iv.as_list(),
                          "significant": iv.excludes_zero}
        out[name] = res
    return out


def row_scores(results: Path, hits: pd.DataFrame | None, row: str, seeds: Sequence[int]
               ) -> pd.DataFrame:
    """One line per test image and training run: its per-image metrics
    (``results/<row>/seed<k>/scores.csv``) and rank-1 hits (``hits``: fixed crop, and
    ``<run>@mtcnn`` for the MTCNN crop), with its seed."""
    frames = []
    for s in seeds:
        f = results / run_name(row, s) / "scores.csv"
        if not f.is_file():
            raise FileNotFoundError(f"{f}: missing (run the evaluate stage of {row} seed {s})")
        df = pd.read_csv(f)
        keep = ["id", "subset", *(k for k in ablation_keys() if k in df)]
        df = df[keep].assign(seed=s)
        for col, key in ((run_name(row, s), "rank1"),
                         (run_name(row, s) + MTCNN_SUFFIX, "rank1_mtcnn")):
            if hits is not None and col in hits:
                df = df.merge(hits[["id", col]].rename(columns={col: key}), on="id",
                              how="left", validate="one_to_one")
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def ablation_tests(results: Path, hits_csv: Path | None, rows: Sequence[str],
                   seeds: Sequence[int] | Mapping[str, Sequence[int]],
                   boot: BootstrapParams = DEFAULT_BOOTSTRAP) -> dict[str, Any]:
    """``seeds``: the training runs of every row, or per row (rows may differ)."""
    per_row = {r: list(seeds[r] if isinstance(seeds, Mapping) else seeds) for r in rows}
    hits = pd.read_csv(hits_csv) if hits_csv is not None and hits_csv.is_file() else None
    scores = {r: row_scores(results, hits, r, per_row[r]) for r in rows}
    two = any(len(s) > 1 for s in per_row.values())
    return {"method": ("two-level bootstrap: training seeds, then test images" if two else
                       "paired bootstrap over test images (one seed per row: covers test "
                       "images only)"),
            "levels": ["seeds", "images"] if two else ["images"],
            "resamples": boot.resamples, "level": boot.level, "seed": boot.seed,
            "seeds": per_row,
            "pairs": [{"from": a, "to": b, "subsets": compare_rows(scores[a], scores[b], boot)}
                      for a, b in adjacent_pairs(list(rows))]}
