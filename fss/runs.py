"""A trained row runs once per seed in ``train.seeds`` (a DVC matrix). Each run's files
live under ``<folder>/<row>/seed<k>``; readers gather a row's seeds (the report
summarises them: ``fss.report.summaries``). Pure functions, no torch."""

from __future__ import annotations

import re
from pathlib import Path

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
