"""The evaluate stage's work: synthesize every test photo with a row's generator (or
make a trivial reference image), then per subset FID / KID and the per-image metrics of
``fss.metrics.table`` (SSIM, PSNR, FSIM, LPIPS, DISTS, ...) with bootstrap intervals,
and SSIM / PSNR inside the face and hair regions of the RCS maps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field

from fss.config import Fraction, NonNegInt, PosInt
from fss.data.splits import ordered_subsets
from fss.errors import UserError
from fss.evaluation.results import KID_SPREAD
from fss.io import atomic_dir, read_gray, read_rgb, save_png, write_text
from fss.metrics.bootstrap import BootstrapParams, bootstrap_ci
from fss.metrics.kid import kid_x1000
from fss.metrics.similarity import psnr, ssim, ssim_skimage
from fss.metrics.table import METRICS, interval_keys

if TYPE_CHECKING:
    from fss.metrics.perceptual import PerceptualMetrics
    from fss.paths import PathsParams

# "Learned nothing" baselines: the grayscale test photo itself, and the mean training
# sketch (the best constant image under L2).
REFERENCES = ("photo", "mean_sketch")


@dataclass(frozen=True)
class EvaluateParams:
    fid_method: Literal["small_sample", "cleanfid"] = "small_sample"  # exact, fast | scipy sqrtm
    region_threshold: Fraction = 0.5      # RCS map > threshold = face / hair region
    kid_subsets: PosInt = 100
    bootstrap_resamples: PosInt = 1000
    bootstrap_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    stats_seed: NonNegInt = 0                # KID subsets and bootstrap resamples
    # of fss.metrics.perceptual (FSIM / LPIPS / DISTS); a profile may drop the costly ones
    perceptual: tuple[Literal["fsim", "lpips", "dists"], ...] = ("fsim", "lpips", "dists")
    batch_size: PosInt = 16               # images per FSIM / LPIPS / DISTS batch

    def bootstrap(self) -> BootstrapParams:
        return BootstrapParams(self.bootstrap_resamples, self.bootstrap_level, self.stats_seed)


@dataclass(frozen=True)
class TestPair:
    id: str
    subset: str
    photo: Path
    sketch: Path


def read_test_pairs(splits_csv: Path, split: str = "test") -> list[TestPair]:
    """The pairs of one split (the test split unless told), in the file's order."""
    from fss.data.splits import read_splits

    df = read_splits(splits_csv)
    df = df[df["split"] == split]
    return [TestPair(r.id, r.subset, Path(r.photo), Path(r.sketch)) for r in df.itertuples()]


def synthesize(generator_path: Path, pairs: list[TestPair], masks_dir: Path, out: Path,
               device: torch.device) -> None:
    """``out/<subset>/<id>.png``: the generator's sketch of every test photo."""
    from tqdm import tqdm

    from fss.inference import generator_input, load_model, sketch_uint8

    g, info = load_model(generator_path, device)
    with atomic_dir(out) as tmp, torch.inference_mode():
        for p in tqdm(pairs, desc=f"synthesize {out.name}", unit="photo", mininterval=5):
            mask = read_gray(masks_dir / f"{p.id}.png") if info.mask_input else None
            x = generator_input(read_rgb(p.photo), mask, info.mask_input)
            y = g(x.to(device))
            (tmp / p.subset).mkdir(exist_ok=True)
            save_png(tmp / p.subset / f"{p.id}.png", sketch_uint8(y[0, 0]))


def mean_training_sketch(splits_csv: Path) -> np.ndarray:
    from fss.data.splits import read_splits

    df = read_splits(splits_csv)
    paths = [Path(s) for s in df[df["split"] == "train"]["sketch"]]
    return np.round(np.mean([read_gray(s).astype(np.float64) for s in paths], axis=0)
                    ).astype(np.uint8)


def make_reference(kind: str, pairs: list[TestPair], splits_csv: Path, out: Path) -> None:
    """``photo``: the test photo in grayscale (ITU-R 601 luma, PIL's "L");
    ``mean_sketch``: the same mean training sketch for every test photo."""
    from PIL import Image

    if kind not in REFERENCES:
        raise UserError(f"reference '{kind}' is not one of {', '.join(REFERENCES)}")
    mean = mean_training_sketch(splits_csv) if kind == "mean_sketch" else None
    with atomic_dir(out) as tmp:
        for p in pairs:
            (tmp / p.subset).mkdir(exist_ok=True)
            img = mean if mean is not None else np.asarray(Image.open(p.photo).convert("L"))
            save_png(tmp / p.subset / f"{p.id}.png", img)


def region_masks(maps_dir: Path | None, pid: str, threshold: float
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Face = face map > threshold; hair = hair map > threshold outside the face (the
    same regions the RCS sampler uses)."""
    if maps_dir is None:
        return None, None
    face = read_gray(maps_dir / f"{pid}_face.png") > threshold * 255
    hair = (read_gray(maps_dir / f"{pid}_hair.png") > threshold * 255) & ~face
    return face, hair


def _mean(xs: list[float]) -> float | None:
    v = [x for x in xs if np.isfinite(x)]
    return round(float(np.mean(v)), 4) if v else None


# The per-image metrics computed one image pair at a time (numpy); the perceptual ones
# (fss.metrics.perceptual) are computed in batches.
PIXEL_METRICS = {"ssim": ssim, "ssim_skimage": ssim_skimage, "psnr": psnr}


def similarity_scores(results: Path, pairs: list[TestPair], maps_dir: Path | None,
                      threshold: float = 0.5, perceptual: PerceptualMetrics | None = None
                      ) -> dict[str, dict[str, list[float]]]:
    """Per image, grouped by subset: the pixel metrics, their face/hair versions where
    the table asks for regions, and (given ``perceptual``) FSIM / LPIPS / DISTS."""
    scores: dict[str, dict[str, list[float]]] = {}
    fakes, reals = [], []
    for p in pairs:
        fake = read_gray(results / p.subset / f"{p.id}.png")
        real = read_gray(p.sketch)
        if fake.shape != real.shape:
            raise UserError(f"{results / p.subset / p.id}.png: size {fake.shape} differs from "
                            f"the real sketch's {real.shape}")
        face, hair = region_masks(maps_dir, p.id, threshold)
        s = scores.setdefault(p.subset, {})
        vals = {k: f(fake, real) for k, f in PIXEL_METRICS.items()}
        if face is not None:
            for k, f in PIXEL_METRICS.items():
                if METRICS[k].regions:
                    vals |= {f"{k}_face": f(fake, real, face), f"{k}_hair": f(fake, real, hair)}
        for k, v in vals.items():
            s.setdefault(k, []).append(v)
        if perceptual is not None:
            fakes.append(fake)
            reals.append(real)
    if perceptual is not None and pairs:
        per = perceptual(fakes, reals)
        for k, values in per.items():
            for p, v in zip(pairs, values, strict=True):
                scores[p.subset].setdefault(k, []).append(v)
    return scores


def _summary(values: dict[str, list[float]], p: EvaluateParams) -> dict[str, Any]:
    out: dict[str, Any] = {k: _mean(v) for k, v in values.items()}
    for k in interval_keys():
        if k in values and any(np.isfinite(values[k])):
            out[f"{k}_ci"] = bootstrap_ci(values[k], p.bootstrap()).as_list()
    return out


def distances(fake: np.ndarray, real: np.ndarray, p: EvaluateParams) -> dict[str, float]:
    """FID, and KID x 1000 with its spread over KID subsets, of two Inception feature
    sets."""
    from fss.metrics.fid import fid_from_features

    kid, spread = kid_x1000(fake, real, p.kid_subsets, p.stats_seed)
    return {"fid": round(fid_from_features(fake, real, p.fid_method), 3),
            "kid": round(kid, 3), KID_SPREAD: round(spread, 3)}


def write_scores(scores: dict[str, dict[str, list[float]]], pairs: list[TestPair],
                 path: Path) -> None:
    """One line per test image (id, subset, ssim, psnr, ...): what the paired
    bootstrap between rows resamples."""
    import pandas as pd

    frames = []
    for subset, vals in scores.items():
        ids = [p.id for p in pairs if p.subset == subset]
        frames.append(pd.DataFrame({"id": ids, "subset": subset, **vals}))
    write_text(path, pd.concat(frames).to_csv(index=False, float_format="%.6f"))


def evaluate_results(results: Path, pairs: list[TestPair], real_features: dict[str, np.ndarray],
                     fid_model: torch.nn.Module | None, maps_dir: Path | None,
                     device: torch.device | str = "cpu",
                     p: EvaluateParams = EvaluateParams(),
                     scores_csv: Path | None = None,
                     perceptual: PerceptualMetrics | None = None) -> dict[str, Any]:
    """Metrics per subset and over all test images: FID and KID, the mean of every
    per-image metric with its bootstrap interval, and the face / hair versions.
    ``real_features``: Inception features of the real test sketches per subset (see
    ``fid_reference``); ``fid_model`` None skips FID/KID and ``perceptual`` None skips
    FSIM / LPIPS / DISTS (tests of the pixel-metric path); ``scores_csv``: where to keep
    the per-image values."""
    from fss.metrics.fid import image_features

    scores = similarity_scores(results, pairs, maps_dir, p.region_threshold, perceptual)
    if scores_csv is not None:
        write_scores(scores, pairs, scores_csv)
    out: dict[str, Any] = {"subsets": {}}
    fake_all, real_all = [], []
    for subset in ordered_subsets(scores):
        sub = [p for p in pairs if p.subset == subset]
        m: dict[str, Any] = {"n": len(sub)}
        if fid_model is not None:
            fake = image_features([results / subset / f"{p.id}.png" for p in sub], fid_model,
                                  device)
            m |= distances(fake, real_features[subset], p)
            fake_all.append(fake)
            real_all.append(real_features[subset])
        m |= _summary(scores[subset], p)
        out["subsets"][subset] = m
    every = {k: sum((scores[s][k] for s in scores), []) for k in next(iter(scores.values()))}
    out["all"] = {"n": len(pairs), **_summary(every, p)}
    if fake_all:
        out["all"] |= distances(np.concatenate(fake_all), np.concatenate(real_all), p)
    return out


@dataclass(frozen=True)
class Evaluation:
    """The test set and the models the evaluation scores with, loaded once (the
    evaluate stage scores one folder with it, the curve stage every snapshot's)."""
    pairs: list[TestPair]
    real_features: dict[str, np.ndarray]
    fid_model: torch.nn.Module | None
    maps_dir: Path | None
    device: torch.device
    params: EvaluateParams
    perceptual: PerceptualMetrics | None

    @classmethod
    def load(cls, paths: PathsParams, p: EvaluateParams, device: torch.device,
             pairs: list[TestPair] | None = None) -> Evaluation:
        """From the pipeline's files: the test split (``pairs`` when already read), the
        real sketches' Inception features (``fid_reference``), the RCS maps when
        pre-training made them."""
        from fss.metrics.fid import load_inception
        from fss.metrics.perceptual import PerceptualMetrics

        pairs = read_test_pairs(paths.splits) if pairs is None else pairs
        return cls(pairs, load_features(paths.fid_features),
                   load_inception(device), paths.rcs_maps if paths.rcs_maps.is_dir() else None,
                   device, p,
                   PerceptualMetrics(p.perceptual, device, p.batch_size) if p.perceptual
                   else None)

    def score(self, results: Path, scores_csv: Path | None = None) -> dict[str, Any]:
        """``evaluate_results`` of the sketches in ``results``."""
        return evaluate_results(results, self.pairs, self.real_features, self.fid_model,
                                self.maps_dir, self.device, self.params, scores_csv=scores_csv,
                                perceptual=self.perceptual)


def real_sketch_floor(train: dict[str, np.ndarray], test: dict[str, np.ndarray],
                      p: EvaluateParams = EvaluateParams()) -> dict[str, Any]:
    """FID / KID between each subset's real training and real test sketches: what a
    generator that drew perfect sketches of other people could score at these sizes."""
    out: dict[str, Any] = {"subsets": {}}
    common = ordered_subsets(set(train) & set(test))
    for s in common:
        out["subsets"][s] = {"n": len(test[s]), "n_train": len(train[s]),
                             **distances(train[s], test[s], p)}
    if common:
        out["all"] = {"n": sum(len(test[s]) for s in common),
                      "n_train": sum(len(train[s]) for s in common),
                      **distances(np.concatenate([train[s] for s in common]),
                                  np.concatenate([test[s] for s in common]), p)}
    return out


def real_sketch_features(pairs: list[TestPair], model: torch.nn.Module,
                         device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    from fss.metrics.fid import image_features

    return {s: image_features([p.sketch for p in pairs if p.subset == s], model, device)
            for s in ordered_subsets(p.subset for p in pairs)}


def save_features(feats: dict[str, dict[str, np.ndarray]], out: Path) -> None:
    """``feats[split][subset]`` -> ``out/<split>_<subset>.npy``."""
    with atomic_dir(out) as tmp:
        for split, per_subset in feats.items():
            for subset, f in per_subset.items():
                np.save(tmp / f"{split}_{subset}.npy", f)


def load_features(folder: Path, split: str = "test") -> dict[str, np.ndarray]:
    files = sorted(folder.glob(f"{split}_*.npy"))
    if not files:
        raise FileNotFoundError(f"{folder}: no real {split}-sketch features (run fid_reference "
                                "first)")
    return {f.stem.removeprefix(f"{split}_"): np.load(f) for f in files}
