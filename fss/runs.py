"""A trained row runs once per seed in ``train.seeds`` (a DVC matrix). Each run's files
live under ``<folder>/<row>/seed<k>``; readers gather a row's seeds and summarise
them as mean and standard deviation. Pure functions, no torch."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SEED_DIR = re.compile(r"^seed(\d+)$")
# The recognition hits table's column of a run's MTCNN-crop route: "<run>@mtcnn".
MTCNN_SUFFIX = "@mtcnn"


def run_name(row: str, seed: int) -> str:
    """``fss/seed0``: the relative path of one run under models/, results/, metrics/."""
    return f"{row}/seed{int(seed)}"


def seed_paths(folder: Path, row: str, suffix: str = ".json") -> dict[int, Path]:
    """``{seed: folder/row/seed<k><suffix>}`` for the runs present, by seed."""
    d = Path(folder) / row
    if not d.is_dir():
        return {}
    found = {}
    for p in d.iterdir():
        m = SEED_DIR.match(p.name.removesuffix(suffix)) if p.name.endswith(suffix) else None
        if m and (suffix or p.is_dir()):
            found[int(m.group(1))] = p
    return dict(sorted(found.items()))


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def summarize_seeds(runs: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> dict[str, Any]:
    """One dict for a row: with one run, that run as it is; with several, every number
    present in all of them becomes their mean, with ``<key>_std`` (sample standard
    deviation) beside it. Per-run intervals (``*_ci``) and other lists are dropped (they
    describe one run); strings shared by all runs are kept. ``seeds`` lists the runs."""
    if not runs:
        raise ValueError("no runs to summarize")
    if len(runs) == 1:
        return {**runs[0], "seeds": list(seeds)}
    out = _merge(runs)
    out["seeds"] = list(seeds)
    return out


def _merge(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in runs[0].items():
        vals = [r.get(k) for r in runs]
        if all(isinstance(x, Mapping) for x in vals):
            out[k] = _merge(vals)
        elif all(_number(x) for x in vals):
            mean = sum(vals) / len(vals)
            var = sum((x - mean) ** 2 for x in vals) / (len(vals) - 1)
            out[k] = round(mean, 6)
            out[f"{k}_std"] = round(math.sqrt(var), 6)
        elif isinstance(v, str) and all(x == v for x in vals):
            out[k] = v
    return out
