"""Table 7's numbers: gallery = real test sketches, probes = the test photos and each
row's synthesized sketches; rank-1 overall and per subset (probes of a subset against
the whole gallery of all subsets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fss.evaluation import SUBSETS, TestPair
from fss.io import read_rgb
from fss.metrics.bootstrap import BootstrapParams, bootstrap_ci
from fss.metrics.recognition import FaceEmbedder, RecognitionParams, rank1


def _rgb(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the evaluate stage first)")
    return read_rgb(path)


def accuracy_by_subset(hits: np.ndarray, pairs: list[TestPair],
                       boot: BootstrapParams | None = None) -> dict[str, Any]:
    """Rank-1 rate overall and per subset; with ``boot``, ``<subset>_ci`` intervals."""
    groups = {"all": list(range(len(pairs)))}
    groups |= {s: [i for i, p in enumerate(pairs) if p.subset == s] for s in SUBSETS}
    out: dict[str, Any] = {}
    for name, sel in groups.items():
        if sel:
            out[name] = round(float(hits[sel].mean()), 4)
            if boot is not None:
                out[f"{name}_ci"] = bootstrap_ci(hits[sel].astype(float), boot).as_list()
    return out


def recognition_table(pairs: list[TestPair], results: Path, runs: list[str],
                      p: RecognitionParams, device: torch.device,
                      boot: BootstrapParams | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """Rank-1 of the test photos and of each run's sketches (``runs``: folders under
    ``results``, e.g. ``fss/seed0``); also every probe's hit per test image (one column
    per probe set), which the paired bootstrap between rows resamples."""
    emb = FaceEmbedder(p, device)
    labels = [x.id for x in pairs]
    gallery, fb = emb.embed([_rgb(x.sketch) for x in pairs])
    fallbacks = {"gallery": fb}
    probes: dict[str, dict[str, Any]] = {}
    hits_table = pd.DataFrame({"id": labels, "subset": [x.subset for x in pairs]})
    sources = {"test_photos": [x.photo for x in pairs]}
    sources |= {r: [results / r / x.subset / f"{x.id}.png" for x in pairs] for r in runs}
    for name, files in sources.items():
        e, fb = emb.embed([_rgb(f) for f in files])
        hits = rank1(e, gallery, labels, labels)
        probes[name] = accuracy_by_subset(hits, pairs, boot)
        hits_table[name] = hits.astype(int)
        fallbacks[name] = fb
    return ({"gallery": "real test sketches", "n_gallery": len(pairs), "metric": "rank-1",
             "probes": probes, "crop_fallbacks": fallbacks}, hits_table)
