"""Eye alignment: one similarity transform per photo/sketch pair, from MTCNN's eyes.

CUFS pairs are already registered to each other by the database, so the transform
found on the photo is applied unchanged to its sketch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from fss.config import Fraction, NonNegInt, PosFloat, PosInt


@dataclass(frozen=True)
class AlignParams:
    size: Annotated[int, Field(ge=16)] = 256
    # Eye targets as fractions of the output frame (x, y).
    eye_left: tuple[Fraction, Fraction] = (0.40, 0.50)
    eye_right: tuple[Fraction, Fraction] = (0.60, 0.50)
    # Where CUFS's own preprocessing puts the eyes, as fractions of the source image
    # (MTCNN mean over the 606 photos: (75.3, 126.1) and (126.3, 126.1) in 200x250).
    native_eye_left: tuple[Fraction, Fraction] = (0.3766, 0.5044)
    native_eye_right: tuple[Fraction, Fraction] = (0.6317, 0.5044)
    # mtcnn | native (skip detection, use the native positions) | resize (no alignment:
    # the raw image squeezed to size x size, as CUT/pix2pix preprocess; for comparisons
    # with their official code)
    detector: Literal["mtcnn", "native", "resize"] = "mtcnn"
    min_confidence: Fraction = 0.90
    # Smallest face MTCNN looks for; larger = fewer pyramid levels = faster. Capped at
    # 40 % of the image's shorter side (see EyeDetector.detect_many): CUFS faces fill
    # about half of the frame, also in the 64-128 px profiles.
    min_face_px: PosInt = 80
    # MTCNN passes per detection (the image + rescaled/shifted copies, median eyes) and
    # re-detections on the aligned photo folded into the transform; chosen by timing all
    # 606 pairs at 256 (reports/benchmarks.md, "Alignment").
    copies: Annotated[int, Field(ge=1, le=9)] = 5
    refine_steps: NonNegInt = 1
    tolerance_px: PosFloat = 2.0

    def __post_init__(self) -> None:
        for side in ("eye", "native_eye"):
            left, right = getattr(self, f"{side}_left"), getattr(self, f"{side}_right")
            if left[0] >= right[0]:
                raise ValueError(f"{side}_left's x ({left[0]}) should be below "
                                 f"{side}_right's ({right[0]})")


def eye_targets(p: AlignParams) -> np.ndarray:
    """(2, 2) pixel coordinates of the left and right eye targets in the output frame."""
    return np.array([p.eye_left, p.eye_right], dtype=np.float64) * p.size


def native_eyes(width: int, height: int, p: AlignParams) -> np.ndarray:
    return np.array([p.native_eye_left, p.native_eye_right], dtype=np.float64) * [width, height]


def similarity_from_eyes(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 matrix of the similarity (rotation, uniform scale, translation) taking the
    two points ``src`` (2, 2) exactly onto ``dst`` (2, 2)."""
    s0, s1 = complex(*src[0]), complex(*src[1])
    d0, d1 = complex(*dst[0]), complex(*dst[1])
    if abs(s1 - s0) < 1e-6:
        raise ValueError("the two eyes coincide; cannot compute an alignment")
    a = (d1 - d0) / (s1 - s0)
    t = d0 - a * s0
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag], [0.0, 0.0, 1.0]])


def apply_points(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64)
    return pts @ matrix[:2, :2].T + matrix[:2, 2]


def warp_image(image: np.ndarray, matrix: np.ndarray, size: int, fill: float | None) -> np.ndarray:
    """Warp ``image`` (HxW or HxWxC uint8) into a ``size`` square; ``fill`` None
    replicates the border (photo backgrounds), a number paints it (sketch paper)."""
    from skimage.transform import SimilarityTransform, warp  # (0.4 s: only the align stage)

    tform = SimilarityTransform(matrix=matrix)
    kw = {"mode": "edge"} if fill is None else {"mode": "constant", "cval": float(fill)}
    out = warp(image.astype(np.float64), tform.inverse, output_shape=(size, size),
               order=1, preserve_range=True, **kw)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def paper_colour(sketch: np.ndarray) -> float:
    """The sketch's paper tone: the 75th percentile of its border pixels, which ignores
    the black wedges some CUFS sketches carry from the database's own rotation."""
    border = np.concatenate([sketch[0], sketch[-1], sketch[:, 0], sketch[:, -1]])
    return float(np.percentile(border, 75))


# The rescaled / shifted copies whose median steadies MTCNN's eyes, most useful first:
# the two scales, the two shifts, then their combinations (all 8: the 3 x 3 grid).
VARIANTS: tuple[tuple[float, float, float], ...] = (
    (0.92, 0.0, 0.0), (1.08, 0.0, 0.0), (1.0, 2.5, -1.5), (1.0, -1.5, 2.5),
    (0.92, 2.5, -1.5), (0.92, -1.5, 2.5), (1.08, 2.5, -1.5), (1.08, -1.5, 2.5),
)
# The "eyes within tolerance" check always re-detects with all 9 copies, so the metric
# means the same whatever ``align.copies`` the alignment itself used.
CHECK_COPIES = 9
# MTCNN's P-Net threshold 0.7 for alignment (facenet's default 0.6): a CUFS photo holds one
# large frontal face, and fewer weak candidates leave R-Net/O-Net ~10 % less to do at the
# same accuracy (reports/benchmarks.md, "Alignment").
ALIGN_THRESHOLDS = (0.7, 0.7, 0.7)


class EyeDetector:
    """MTCNN (facenet-pytorch) with the registry's verified weights; ``copies``: the
    image plus ``copies - 1`` of ``VARIANTS``, their eyes' median."""

    def __init__(self, device: str = "cpu", augment: bool = True, min_face_px: int = 20,
                 copies: int = 9, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)):
        try:
            from facenet_pytorch import MTCNN
        except ImportError as e:  # installed --no-deps on purpose: it pins an old torch
            raise RuntimeError(
                "facenet-pytorch is not installed; run: pip install --no-deps "
                "facenet-pytorch==2.6.0 (scripts/setup.sh does this)"
            ) from e
        import torch

        from fss.weights import resolve

        self.mtcnn = MTCNN(keep_all=False, select_largest=False, device=device,
                           thresholds=list(thresholds))
        self.min_face_px = min_face_px
        for net, name in ((self.mtcnn.pnet, "mtcnn_pnet"), (self.mtcnn.rnet, "mtcnn_rnet"),
                          (self.mtcnn.onet, "mtcnn_onet")):
            state = torch.load(resolve(name), map_location=device, weights_only=True)
            net.load_state_dict(state)
        if not 1 <= copies <= 1 + len(VARIANTS):
            raise ValueError(f"detector copies {copies} is not within 1..{1 + len(VARIANTS)}")
        self.variants = list(VARIANTS[:copies - 1]) if augment else []

    @classmethod
    def for_alignment(cls, p: AlignParams, device: str = "cpu",
                      min_face_px: int | None = None) -> EyeDetector:
        """The detector the align stage uses (its copies, thresholds, smallest face), so a
        photo aligned later (``fss sketch``) lands where the training photos did."""
        return cls(device, min_face_px=p.min_face_px if min_face_px is None else min_face_px,
                   copies=p.copies, thresholds=ALIGN_THRESHOLDS)

    def with_copies(self, copies: int) -> EyeDetector:
        """The same detector (shared networks) with another number of copies."""
        import copy

        other = copy.copy(self)
        other.variants = list(VARIANTS[:copies - 1])
        return other

    def detect_once(self, rgb: np.ndarray) -> tuple[np.ndarray | None, float]:
        """Eyes (2, 2) as (left-in-image, right-in-image) and the face probability."""
        return self.detect_many([rgb])[0]

    def detect_many(self, images: list[np.ndarray]) -> list[tuple[np.ndarray | None, float]]:
        """``detect_once`` of several same-size images in ONE MTCNN call: its image
        pyramid and its three networks then run on a batch instead of once per image
        (several times faster on CPU; the per-image result is the same up to float
        rounding)."""
        from PIL import Image

        # Faces fill CUFS frames, so a floor relative to the image keeps small aligned
        # outputs (64 px in the smoke profile) detectable.
        shape = images[0].shape[:2]
        self.mtcnn.min_face_size = max(12, min(self.min_face_px, int(0.4 * min(shape))))
        batch = [Image.fromarray(im) for im in images]
        boxes, probs, landmarks = self.mtcnn.detect(batch, landmarks=True)
        out: list[tuple[np.ndarray | None, float]] = []
        for b, p, lm in zip(boxes, probs, landmarks, strict=True):
            if b is None or len(b) == 0:
                out.append((None, 0.0))
                continue
            best = int(np.argmax(p))
            eyes = np.asarray(lm[best][:2], dtype=np.float64)
            out.append((eyes[np.argsort(eyes[:, 0])], float(p[best])))
        return out

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray | None, float]:
        """Median eyes over slightly rescaled/shifted copies of the image. A single
        MTCNN pass jitters by 1-2 px (sometimes 5) with sub-pixel changes of the
        input; the median over variants is repeatable to well under that. The copies
        go through MTCNN as one batch."""
        if not self.variants:
            return self.detect_once(rgb)
        h, w = rgb.shape[:2]
        mats = [np.array([[scale, 0, dx + (1 - scale) * w / 2],
                          [0, scale, dy + (1 - scale) * h / 2], [0, 0, 1]])
                for scale, dx, dy in self.variants]
        found = self.detect_many([rgb, *(_warp_rect(rgb, m) for m in mats)])
        eyes, prob = found[0]
        if eyes is None:
            return None, 0.0
        points = [eyes] + [apply_points(np.linalg.inv(m), e)
                           for m, (e, _) in zip(mats, found[1:], strict=True) if e is not None]
        return np.median(np.stack(points), axis=0), prob


def _warp_rect(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Same-size affine warp with PIL: ~20x faster than skimage for the detector's
    augmented copies, where interpolation quality does not matter."""
    from PIL import Image

    inv = np.linalg.inv(matrix)
    coeffs = (inv[0, 0], inv[0, 1], inv[0, 2], inv[1, 0], inv[1, 1], inv[1, 2])
    im = Image.fromarray(image).transform((image.shape[1], image.shape[0]), Image.AFFINE,
                                          data=coeffs, resample=Image.BILINEAR)
    return np.asarray(im)


@dataclass
class AlignedPair:
    photo: np.ndarray
    sketch: np.ndarray | None
    matrix: np.ndarray
    fallback: bool


def alignment_matrix(width: int, height: int, eyes: np.ndarray | None,
                     p: AlignParams) -> np.ndarray:
    """Transform taking ``eyes`` onto the targets; with ``eyes`` None, the dataset's
    native eye positions (CUFS is pre-aligned, so this is its own alignment)."""
    src = native_eyes(width, height, p) if eyes is None else eyes
    return similarity_from_eyes(src, eye_targets(p))


def align_pair(photo: np.ndarray, sketch: np.ndarray | None, eyes: np.ndarray | None,
               p: AlignParams, refine=None) -> AlignedPair:
    """Warp photo (and sketch, same transform) so ``eyes`` land on the targets. With
    ``refine`` (an eye detector) and detected ``eyes``, the transform is corrected by
    detecting again on the warped photo (``refine_matrix``): the align stage and
    ``fss sketch`` both align this way."""
    h, w = photo.shape[:2]
    m = alignment_matrix(w, h, eyes, p)
    if refine is not None and eyes is not None:
        m = refine_matrix(photo, m, refine, p)
    out_sketch = None
    if sketch is not None:
        out_sketch = warp_image(sketch, m, p.size, fill=paper_colour(sketch))
    return AlignedPair(warp_image(photo, m, p.size, fill=None), out_sketch, m, eyes is None)


def resize_pair(photo: np.ndarray, sketch: np.ndarray, size: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """No alignment: both images resized to ``size`` x ``size`` with PIL's bicubic, as
    the official CUT / pix2pix code loads them (aspect ratio not kept)."""
    from PIL import Image

    def resize(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a).resize((size, size), Image.BICUBIC))

    return resize(photo), resize(sketch)


def refine_matrix(photo: np.ndarray, matrix: np.ndarray, detect, p: AlignParams) -> np.ndarray:
    """Re-detect the eyes on the warped photo and fold the residual into the
    transform: the landmarks found at the source scale are off by a fraction of a
    pixel at the output scale. More passes do not converge further; they only
    follow the detector's remaining jitter."""
    target = eye_targets(p)
    for _ in range(p.refine_steps):
        again, _prob = detect(warp_image(photo, matrix, p.size, fill=None))
        if again is None:
            break
        if np.linalg.norm(again - target, axis=1).max() < 0.05:
            break
        matrix = similarity_from_eyes(again, target) @ matrix
    return matrix


def align_dataset(raw: Path, out: Path, p: AlignParams, device: str = "cpu") -> dict:
    """Align every raw pair into ``out/{photos,sketches}/<id>.png``; write
    ``eyes.csv`` (detected and re-detected eyes), ``fallbacks.csv`` and ``metrics.json``.

    The check that the eyes "land on target" runs the detector on the final ALIGNED
    photo (the transform maps the first detection exactly, so only a detection on the
    output measures anything).
    """
    import pandas as pd
    from tqdm import tqdm

    from fss.data.cufs import read_manifest
    from fss.io import atomic_dir, read_gray, read_rgb, save_png, write_json

    rows = read_manifest(raw)
    detector = EyeDetector.for_alignment(p, device) if p.detector == "mtcnn" else None
    check = detector.with_copies(CHECK_COPIES) if detector is not None else None
    target = eye_targets(p)
    records = []
    with atomic_dir(out) as tmp:
        (tmp / "photos").mkdir()
        (tmp / "sketches").mkdir()
        for r in tqdm(rows, desc="align", unit="pair"):
            photo = read_rgb(raw / r["photo"])
            sketch = read_gray(raw / r["sketch"])
            if p.detector == "resize":
                photo, sketch = resize_pair(photo, sketch, p.size)
                save_png(tmp / "photos" / f"{r['id']}.png", photo)
                save_png(tmp / "sketches" / f"{r['id']}.png", sketch)
                records.append({"id": r["id"], "subset": r["subset"], "split": r["split"],
                                "fallback": False, "reason": "detector=resize (not aligned)",
                                "face_prob": 0.0})
                continue
            eyes, prob = (detector(photo) if detector else (None, 0.0))
            reason = ""
            if detector is None:
                reason = "detector=native"
            elif eyes is None:
                reason = "no face detected"
            elif prob < p.min_confidence:
                reason = f"face probability {prob:.2f} < {p.min_confidence}"
            use = eyes if not reason else None
            a = align_pair(photo, sketch, use, p, refine=detector)
            save_png(tmp / "photos" / f"{r['id']}.png", a.photo)
            save_png(tmp / "sketches" / f"{r['id']}.png", a.sketch)
            rec = {"id": r["id"], "subset": r["subset"], "split": r["split"],
                   "fallback": a.fallback, "reason": reason, "face_prob": round(prob, 4)}
            if eyes is not None:
                rec.update(src_lx=eyes[0, 0], src_ly=eyes[0, 1], src_rx=eyes[1, 0],
                           src_ry=eyes[1, 1])
            if check is not None:
                again, _ = check(a.photo)
                if again is not None:
                    err = np.linalg.norm(again - target, axis=1).max()
                    rec.update(out_lx=again[0, 0], out_ly=again[0, 1], out_rx=again[1, 0],
                               out_ry=again[1, 1], error_px=round(float(err), 3))
            records.append(rec)
        df = pd.DataFrame(records)
        df.to_csv(tmp / "eyes.csv", index=False, float_format="%.3f")
        df[df["fallback"]][["id", "subset", "split", "reason"]].to_csv(
            tmp / "fallbacks.csv", index=False)
        metrics = alignment_metrics(df, p.tolerance_px)
        write_json(tmp / "metrics.json", metrics)
    return metrics


def alignment_metrics(df, tolerance_px: float) -> dict:
    """Counts of fallbacks and of images whose re-detected eyes are within tolerance."""
    n = len(df)
    err = df["error_px"].dropna() if "error_px" in df else df.iloc[0:0, 0]
    within = int((err <= tolerance_px).sum())
    return {
        "pairs": n,
        "fallbacks": int(df["fallback"].sum()),
        "redetected": int(len(err)),
        "tolerance_px": tolerance_px,
        "within_tolerance": within,
        "within_tolerance_fraction": round(within / n, 4) if n else 0.0,
        "median_error_px": round(float(err.median()), 3) if len(err) else None,
        "p95_error_px": round(float(err.quantile(0.95)), 3) if len(err) else None,
    }
