"""Weak FACE and HAIR labels from a photo, to pre-train the RCS network: the face is
the MediaPipe face-mesh oval grown up to the hairline, the hair is the person mask
minus the face, above the jaw line.

The photos are eye-aligned, so the mesh's face crop comes from the known eye
positions instead of a face detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.draw import polygon

# MediaPipe face-mesh face-oval contour, in order around the face (starts at the top,
# index 10, goes down the image-right side to the chin, 152, and back up).
FACE_OVAL: list[int] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
]  # fmt: skip


@dataclass(frozen=True)
class MeshParams:
    # Face crop around the eyes, in inter-eye distances (IOD). Measured: running
    # MediaPipe's own tracking rule (crop = landmark bounding box x 1.5, centred on it)
    # to convergence on 60 aligned CUFS photos gives a side of 4.03 IOD (p10-p90
    # 3.78-4.25) centred 0.47 IOD below the eyes, so this is the crop the model was
    # trained on. Tighter crops (2.2-2.6 IOD) cut the chin and forehead off and move
    # the eye landmarks 1.5-2x further from the known eye positions.
    crop_scale: float = 4.0
    crop_drop: float = 0.45
    # Below this face-presence probability the landmarks are not trusted.
    min_presence: float = 0.5
    input_size: int = 192


def face_crop(eye_left: np.ndarray, eye_right: np.ndarray, p: MeshParams) -> tuple[float, ...]:
    """(cx, cy, side) of the square face crop, from the two eye centres (x, y)."""
    el, er = np.asarray(eye_left, float), np.asarray(eye_right, float)
    iod = float(np.linalg.norm(er - el))
    mid = (el + er) / 2
    # "Below" is perpendicular to the eye line, so a tilted face still gets its chin.
    down = np.array([-(er - el)[1], (er - el)[0]]) / max(iod, 1e-9)
    cx, cy = mid + p.crop_drop * iod * down
    return float(cx), float(cy), p.crop_scale * iod


def crop_square(rgb: np.ndarray, cx: float, cy: float, side: float, out: int) -> np.ndarray:
    """``out`` x ``out`` resample of the square (cx, cy, side); outside the image the
    border is replicated, as MediaPipe's own cropping does."""
    from PIL import Image

    pad = int(np.ceil(side))
    big = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    x0, y0 = cx - side / 2 + pad, cy - side / 2 + pad
    im = Image.fromarray(big).transform(
        (out, out), Image.Transform.EXTENT, (x0, y0, x0 + side, y0 + side), Image.BILINEAR
    )
    return np.asarray(im)


class FaceMesh:
    """MediaPipe 468-point face mesh through ai-edge-litert.

    Input normalisation, checked on 12 real aligned photos (4 per subset): with [0, 1]
    and with [-1, 1] the landmarks both land on the face (mean eye-landmark error 1.3
    vs 1.4 px at 256), and [0, 1] agrees better with its own mirror image (oval
    chamfer 1.36 vs 1.53 px). [0, 1] is also what MediaPipe's graph feeds it, so
    [0, 1] it is."""

    def __init__(self, p: MeshParams = MeshParams(), num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        from fss.weights import resolve

        self.p = p
        self.interp = Interpreter(model_path=str(resolve("face_landmark")),
                                  num_threads=num_threads)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        # Outputs: 1x1x1x1404 landmarks (x, y, z in crop pixels) and 1x1x1x1 face-presence
        # logit; told apart by size, not by order, which converters do not keep.
        outs = self.interp.get_output_details()
        self.lm_out = next(o for o in outs if int(np.prod(o["shape"])) == 468 * 3)
        self.score_out = next(o for o in outs if int(np.prod(o["shape"])) == 1)
        self.size = int(self.inp["shape"][1])

    def detect(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """(468, 2) landmark pixel coordinates in ``crop`` (size x size RGB uint8) and
        the face-presence probability."""
        if crop.shape[:2] != (self.size, self.size):
            raise ValueError(f"face crop must be {self.size}x{self.size}, got {crop.shape[:2]}")
        x = crop.astype(np.float32)[None] / 255.0
        self.interp.set_tensor(self.inp["index"], x)
        self.interp.invoke()
        lm = self.interp.get_tensor(self.lm_out["index"]).reshape(468, 3)[:, :2]
        logit = float(self.interp.get_tensor(self.score_out["index"]).ravel()[0])
        return lm.astype(np.float64), float(1.0 / (1.0 + np.exp(-logit)))

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        return self.detect(crop)[0]

    def landmarks(self, rgb: np.ndarray, eye_left: np.ndarray,
                  eye_right: np.ndarray) -> tuple[np.ndarray, float]:
        """(468, 2) landmarks in ``rgb``'s pixel coordinates, and the presence
        probability, from the crop that the eye positions define."""
        cx, cy, side = face_crop(eye_left, eye_right, self.p)
        lm, presence = self.detect(crop_square(rgb, cx, cy, side, self.size))
        return lm * (side / self.size) + [cx - side / 2, cy - side / 2], presence


def face_label(landmarks_xy: np.ndarray, shape: tuple[int, int], forehead: float) -> np.ndarray:
    """Filled face oval, HxW bool, its upper half stretched so the top rises by
    ``forehead`` x the oval's height: the mesh's oval stops around mid-forehead.

    Stretching (about the row of the oval's widest points) rather than shifting keeps
    the rounded top and leaves the cheeks and jaw where the mesh put them."""
    oval = np.asarray(landmarks_xy, float)[FACE_OVAL]
    x, y = oval[:, 0], oval[:, 1].copy()
    top, bottom = y.min(), y.max()
    pivot = (y[np.argmin(x)] + y[np.argmax(x)]) / 2
    if forehead > 0 and pivot > top:
        k = 1.0 + forehead * (bottom - top) / (pivot - top)
        up = y < pivot
        y[up] = pivot - (pivot - y[up]) * k
    rr, cc = polygon(y, x, shape=shape)
    out = np.zeros(shape, bool)
    out[rr, cc] = True
    return out


def hair_label(person_mask: np.ndarray, face: np.ndarray, landmarks_xy: np.ndarray,
               margin: float = 0.05) -> np.ndarray:
    """Person minus face, above the jaw line, HxW bool: no neck, no shoulders.

    Under the face, the limit is the face label's lowest row in that column (the jaw
    line), which drops the neck between the jaw's corners. Beside the face it is the
    chin's row less ``margin`` x the oval height, which keeps hair hanging beside the
    cheeks and drops the shoulders. Hair falling below the chin is lost: a weak label
    that misses some hair is better than one that calls shoulders hair."""
    person, face = np.asarray(person_mask, bool), np.asarray(face, bool)
    h = person.shape[0]
    y = np.asarray(landmarks_xy, float)[FACE_OVAL, 1]
    cut = y.max() - margin * (y.max() - y.min())
    covered = face.any(axis=0)
    jaw = np.where(covered, h - 1 - np.argmax(face[::-1], axis=0), np.inf)
    limit = np.minimum(jaw, cut)
    return person & ~face & (np.arange(h)[:, None] < limit[None, :])


def labels_from_landmarks(landmarks_xy: np.ndarray, person_mask: np.ndarray,
                          forehead: float) -> tuple[np.ndarray, np.ndarray]:
    """(face, hair) at the mask's size. The face is kept inside the person mask, so
    the forehead stretch cannot spill onto the background above a short haircut."""
    person = np.asarray(person_mask, bool)
    face = face_label(landmarks_xy, person.shape, forehead) & person
    return face, hair_label(person, face, landmarks_xy)


def _rank_within(values: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Each region pixel's rank among the region's values, in (0, 1] (ties share the
    highest rank); 0 outside the region."""
    from scipy.stats import rankdata

    out = np.zeros(region.shape, np.float64)
    v = values[region]
    if v.size:
        out[region] = rankdata(v, method="max") / v.size
    return out


def graded(density: np.ndarray, region: np.ndarray, floor: float, gamma: float) -> np.ndarray:
    """HxW float32 label: 0 outside ``region``; inside, ``floor`` + (1 - floor) u^gamma
    with u the pixel's density rank within the region. Ranks make the label's
    distribution the same on every photo (a dense-share that does not drift with the
    face's size or the mesh's spread), and ``floor`` above the region threshold keeps
    every region pixel inside the region."""
    u = _rank_within(np.asarray(density, np.float64), np.asarray(region, bool))
    return np.where(region, floor + (1.0 - floor) * u ** gamma, 0.0).astype(np.float32)


def mesh_density(landmarks_xy: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Closeness to the face mesh's 468 vertices: a Gaussian kernel density (bandwidth
    ``sigma`` x the face-oval height) of the vertices, HxW. The mesh packs its vertices
    where the face has structure (eyes, brows, nose, lips), so this is high exactly
    where a sketch has its strokes."""
    from scipy.ndimage import gaussian_filter

    lm = np.asarray(landmarks_xy, float)
    y = lm[FACE_OVAL, 1]
    bandwidth = max(sigma * float(y.max() - y.min()), 0.5)
    points = np.zeros(shape, np.float64)
    xi, yi = np.rint(lm[:, 0]).astype(int), np.rint(lm[:, 1]).astype(int)
    inside = (xi >= 0) & (xi < shape[1]) & (yi >= 0) & (yi < shape[0])
    np.add.at(points, (yi[inside], xi[inside]), 1.0)
    return gaussian_filter(points, bandwidth, mode="constant")


def hair_depth(hair: np.ndarray) -> np.ndarray:
    """Distance of each hair pixel to the nearest non-hair pixel: the hair's mass is
    dense, its wisps at the edge sparse."""
    from scipy.ndimage import distance_transform_edt

    return distance_transform_edt(np.asarray(hair, bool))


def density_labels(landmarks_xy: np.ndarray, face: np.ndarray, hair: np.ndarray,
                   floor: float, gamma: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(face, hair) graded labels, HxW float32 in [0, 1], from the binary regions."""
    face, hair = np.asarray(face, bool), np.asarray(hair, bool)
    return (graded(mesh_density(landmarks_xy, face.shape, sigma), face, floor, gamma),
            graded(hair_depth(hair), hair, floor, gamma))


def weak_labels(rgb: np.ndarray, person_mask: np.ndarray, mesh: FaceMesh,
                eye_left: np.ndarray, eye_right: np.ndarray,
                forehead: float) -> tuple[np.ndarray, np.ndarray]:
    """(face, hair) HxW bool at the image's size; eyes in the image's pixels. Uses the
    landmarks whatever the presence score (see ``pretrain_rcs`` for the fall-back)."""
    lm, _ = mesh.landmarks(rgb, eye_left, eye_right)
    return labels_from_landmarks(lm, person_mask, forehead)


def eye_pixels(eye_left: tuple[float, float], eye_right: tuple[float, float],
               shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Eye positions in pixels of an aligned image of ``shape``, from the alignment's
    fractions of the frame (x, y)."""
    wh = np.array([shape[1], shape[0]], float)
    return np.asarray(eye_left, float) * wh, np.asarray(eye_right, float) * wh
