"""Table 7's numbers: gallery = real test sketches, probes = the test photos and each
row's synthesized sketches; rank-1 overall and per subset (probes of a subset against
the whole gallery of all subsets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fss.data.splits import ordered_subsets
from fss.evaluation.evaluate import TestPair
from fss.evaluation.results import Crop, Rates, RecognitionRecord
from fss.io import read_rgb
from fss.metrics.bootstrap import BootstrapParams, bootstrap_ci
from fss.metrics.recognition import FaceEmbedder, RecognitionParams, rank1
from fss.runs import MTCNN_SUFFIX


def _rgb(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the evaluate stage first)")
    return read_rgb(path)


def accuracy_by_subset(hits: np.ndarray, pairs: list[TestPair],
                       boot: BootstrapParams | None = None) -> dict[str, Any]:
    """Rank-1 rate overall and per subset; with ``boot``, ``<subset>_ci`` intervals."""
    groups = {"all": list(range(len(pairs)))}
    groups |= {s: [i for i, p in enumerate(pairs) if p.subset == s]
               for s in ordered_subsets(p.subset for p in pairs)}
    out: dict[str, Any] = {}
    for name, sel in groups.items():
        if sel:
            out[name] = round(float(hits[sel].mean()), 4)
            if boot is not None:
                out[f"{name}_ci"] = bootstrap_ci(hits[sel].astype(float), boot).as_list()
    return out




def recognition_table(pairs: list[TestPair], results: Path, runs: list[str],
                      p: RecognitionParams, device: torch.device,
                      boot: BootstrapParams | None, box: np.ndarray,
                      image_size: int) -> tuple[RecognitionRecord, pd.DataFrame]:
    """Rank-1 of the test photos and of each run's sketches (``runs``: folders under
    ``results``, e.g. ``fss/seed0``) against the real test sketches, twice: every image
    cropped at the one fixed ``box`` (``probes``; see ``fixed_box``), and each on its own
    MTCNN box (``probes_mtcnn``); with the share of each set where MTCNN finds a face
    (``detectable``). Also every probe's hit per test image (one column per probe set,
    ``<name>@mtcnn`` for the MTCNN route), which the ablation test resamples."""
    emb = FaceEmbedder(p, device)
    labels = [x.id for x in pairs]
    sources = {"gallery": [x.sketch for x in pairs], "test_photos": [x.photo for x in pairs]}
    sources |= {r: [results / r / x.subset / f"{x.id}.png" for x in pairs] for r in runs}
    fixed, mtcnn, detectable, fallbacks = {}, {}, {}, {}
    hits_table = pd.DataFrame({"id": labels, "subset": [x.subset for x in pairs]})
    gallery: dict[str, np.ndarray] = {}
    for name, files in sources.items():
        images = [_rgb(f) for f in files]
        boxes, found = emb.detect(images)
        detectable[name] = accuracy_by_subset(found.astype(float), pairs, boot)
        fallbacks[name] = int((~found).sum())
        routes = {"fixed": box, "mtcnn": boxes}
        embs = {k: emb.embed_boxes(images, b) for k, b in routes.items()}
        if name == "gallery":
            gallery = embs
            continue
        for route, e in embs.items():
            hits = rank1(e, gallery[route], labels, labels)
            (fixed if route == "fixed" else mtcnn)[name] = accuracy_by_subset(hits, pairs, boot)
            col = name if route == "fixed" else name + MTCNN_SUFFIX
            hits_table[col] = hits.astype(int)
    def rates(sets: dict[str, dict[str, Any]], section: str) -> dict[str, Rates]:
        return {n: Rates.from_flat(r, f"{section}.{n}") for n, r in sets.items()}

    crop = Crop(tuple(round(float(v), 2) for v in box), image_size, p.crop_size, p.margin,
                tuple(p.crop_box))
    record = RecognitionRecord(len(pairs), crop, rates(fixed, "probes"),
                               rates(mtcnn, "probes_mtcnn"), rates(detectable, "detectable"),
                               fallbacks)
    return record, hits_table
