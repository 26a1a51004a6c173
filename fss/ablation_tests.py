"""Is each ablation step's gain real? A paired bootstrap over the test images between
adjacent ablation rows (cut -> rcs -> dss -> mask -> fss): every resample draws the same
images for both rows, so the images' own difficulty cancels and only the rows'
difference is left. A difference whose 95 % interval excludes 0 is marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fss.metrics.bootstrap import BootstrapParams, paired_bootstrap
from fss.published import SUBSETS
from fss.runs import run_name

METRICS = ("ssim", "psnr", "rank1")
DEFAULT_BOOTSTRAP = BootstrapParams()


def adjacent_pairs(rows: Sequence[str]) -> list[tuple[str, str]]:
    return list(zip(rows[:-1], rows[1:], strict=True))


def compare_rows(a: pd.DataFrame, b: pd.DataFrame, boot: BootstrapParams = DEFAULT_BOOTSTRAP
                 ) -> dict[str, dict[str, Any]]:
    """Per subset and over all images, per metric column both tables share: b - a
    with its interval. ``a`` and ``b``: one line per test image, columns id, subset and
    the metrics; matched on id."""
    m = a.merge(b, on=["id", "subset"], suffixes=("_a", "_b"), validate="one_to_one")
    if len(m) != len(a) or len(m) != len(b):
        raise ValueError(f"the two rows were scored on different test images "
                         f"({len(a)} and {len(b)}, {len(m)} in common)")
    out: dict[str, dict[str, Any]] = {}
    groups = [("all", m), *((s, m[m["subset"] == s]) for s in SUBSETS)]
    for name, g in groups:
        if g.empty:
            continue
        res: dict[str, Any] = {"n": len(g)}
        for k in METRICS:
            if f"{k}_a" in g and f"{k}_b" in g:
                iv = paired_bootstrap(g[f"{k}_a"].to_numpy(float), g[f"{k}_b"].to_numpy(float),
                                      boot)
                res[k] = {"diff": round(iv.mean, 4), "ci": iv.as_list(),
                          "significant": iv.excludes_zero}
        out[name] = res
    return out


def row_scores(results: Path, hits: pd.DataFrame | None, row: str, seeds: Sequence[int]
               ) -> pd.DataFrame:
    """One line per test image: SSIM and PSNR (``results/<row>/seed<k>/scores.csv``) and
    rank-1 hit (``hits``), each averaged over the row's seeds."""
    frames = []
    for s in seeds:
        f = results / run_name(row, s) / "scores.csv"
        if not f.is_file():
            raise FileNotFoundError(f"{f}: missing (run the evaluate stage of {row} seed {s})")
        frames.append(pd.read_csv(f)[["id", "subset", "ssim", "psnr"]])
    df = pd.concat(frames).groupby(["id", "subset"], as_index=False, sort=False).mean()
    cols = [run_name(row, s) for s in seeds]
    if hits is not None and all(c in hits for c in cols):
        rank = hits[["id"]].assign(rank1=hits[cols].mean(axis=1))
        df = df.merge(rank, on="id", how="left", validate="one_to_one")
    return df


def ablation_tests(results: Path, hits_csv: Path | None, rows: Sequence[str],
                   seeds: Sequence[int], boot: BootstrapParams = DEFAULT_BOOTSTRAP
                   ) -> dict[str, Any]:
    hits = pd.read_csv(hits_csv) if hits_csv is not None and hits_csv.is_file() else None
    scores = {r: row_scores(results, hits, r, seeds) for r in rows}
    return {"method": "paired bootstrap over test images", "resamples": boot.resamples,
            "level": boot.level, "seed": boot.seed, "seeds": list(seeds),
            "pairs": [{"from": a, "to": b, "subsets": compare_rows(scores[a], scores[b], boot)}
                      for a, b in adjacent_pairs(list(rows))]}
