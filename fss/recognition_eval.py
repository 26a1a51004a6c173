"""Table 7's numbers: gallery = real test sketches, probes = the test photos and each
row's synthesized sketches; rank-1 overall and per subset (probes of a subset against
the whole gallery of all subsets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from fss.evaluation import SUBSETS, TestPair
from fss.io import read_rgb
from fss.metrics.recognition import FaceEmbedder, RecognitionParams, rank1


def _rgb(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the evaluate stage first)")
    return read_rgb(path)


def accuracy_by_subset(hits: np.ndarray, pairs: list[TestPair]) -> dict[str, float]:
    out = {"all": round(float(hits.mean()), 4)}
    for s in SUBSETS:
        sel = [i for i, p in enumerate(pairs) if p.subset == s]
        if sel:
            out[s] = round(float(hits[sel].mean()), 4)
    return out


def recognition_table(pairs: list[TestPair], results: Path, rows: list[str],
                      p: RecognitionParams, device: torch.device) -> dict[str, Any]:
    emb = FaceEmbedder(p, device)
    labels = [x.id for x in pairs]
    gallery, fb = emb.embed([_rgb(x.sketch) for x in pairs])
    fallbacks = {"gallery": fb}
    probes: dict[str, dict[str, float]] = {}
    sources = {"test_photos": [x.photo for x in pairs]}
    sources |= {r: [results / r / x.subset / f"{x.id}.png" for x in pairs] for r in rows}
    for name, files in sources.items():
        e, fb = emb.embed([_rgb(f) for f in files])
        probes[name] = accuracy_by_subset(rank1(e, gallery, labels, labels), pairs)
        fallbacks[name] = fb
    return {"gallery": "real test sketches", "n_gallery": len(pairs), "metric": "rank-1",
            "probes": probes, "crop_fallbacks": fallbacks}
