"""Sketch-photo recognition (paper Table 7): FaceNet embeddings of 160x160 face crops,
rank-1 identification by cosine similarity against a gallery. The crop: one fixed box
from the alignment geometry for every image (every image here is aligned on its eyes,
so one box suits every row alike), or, as a secondary route, each image's own MTCNN
box (which mixes detectability into recognisability)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fss.config import NonNegInt, PosInt
from fss.data.align import AlignParams, eye_targets


@dataclass(frozen=True)
class RecognitionParams:
    crop_size: PosInt = 160
    margin: NonNegInt = 32            # context pixels in the 160 crop, as FaceNet's training crops
    min_face_px: PosInt = 20
    batch_size: PosInt = 32
    # The fixed face box around the eyes' midpoint, in eye distances (x0, y0, x1, y1):
    # the median MTCNN box relative to MTCNN's own eyes on 40 CUFS photos (-1.11, -1.14,
    # 1.08, 1.81), made symmetric.
    crop_box: tuple[float, float, float, float] = (-1.09, -1.14, 1.09, 1.81)


def fixed_box(align: AlignParams, box: tuple[float, float, float, float]) -> np.ndarray:
    """The face box (x0, y0, x1, y1) in pixels of an image aligned by ``align`` (its eyes
    at the alignment's targets), from ``box`` in eye distances around the eyes' midpoint."""
    eyes = eye_targets(align)
    d = float(np.linalg.norm(eyes[1] - eyes[0]))  # > 0: AlignParams keeps the eyes apart
    x0, y0, x1, y1 = box
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"recognize.crop_box {box} is not (x0, y0, x1, y1) with x0 < x1, "
                         "y0 < y1")
    cx, cy = eyes.mean(axis=0)
    return np.array([cx + x0 * d, cy + y0 * d, cx + x1 * d, cy + y1 * d])


def rank1(probe: np.ndarray, gallery: np.ndarray, probe_labels: list[str],
          gallery_labels: list[str]) -> np.ndarray:
    """Per probe: 1.0 if the gallery entry most cosine-similar to it has its label."""
    p = probe / np.linalg.norm(probe, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    best = np.argmax(p @ g.T, axis=1)
    return np.array([gallery_labels[b] == lab for b, lab in zip(best, probe_labels, strict=True)],
                    dtype=np.float64)


class FaceEmbedder:
    """Face box -> 160x160 crop -> FaceNet (CASIA-WebFace) 512-d embedding. The box is
    given (the fixed crop) or found by MTCNN (``detect``): an image where MTCNN finds no
    face is cropped with the median box of the others in the same call (every image
    here shares one aligned geometry), and counted."""

    def __init__(self, p: RecognitionParams, device: str | torch.device = "cpu"):
        try:
            from facenet_pytorch import InceptionResnetV1
        except ImportError as e:
            raise RuntimeError("facenet-pytorch is not installed; run: pip install --no-deps "
                               "facenet-pytorch==2.6.0 (scripts/setup.sh does this)") from e
        from fss.data.align import EyeDetector
        from fss.weights import resolve

        self.p, self.device = p, torch.device(device)
        self.mtcnn = EyeDetector(str(self.device), augment=False).mtcnn
        self.mtcnn.min_face_size = p.min_face_px
        net = InceptionResnetV1(classify=False)
        state = torch.load(resolve("facenet_casia"), map_location="cpu", weights_only=True)
        missing, unexpected = net.load_state_dict({k: v.float() for k, v in state.items()},
                                                  strict=False)
        if unexpected or [k for k in missing if not k.startswith("logits")]:
            raise RuntimeError(f"FaceNet weights do not fit InceptionResnetV1: missing {missing}, "
                               f"unexpected {unexpected}")
        self.net = net.eval().to(self.device)

    def boxes(self, images: list[np.ndarray]) -> tuple[np.ndarray, int]:
        boxes, found = self.detect(images)
        return boxes, int((~found).sum())

    def detect(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """MTCNN's box per image (the median box where it finds none), and whether it
        found a face."""
        from PIL import Image

        found: list[np.ndarray | None] = []
        for rgb in images:
            b, prob = self.mtcnn.detect(Image.fromarray(rgb))
            found.append(None if b is None or len(b) == 0 else b[int(np.argmax(prob))])
        ok = [b for b in found if b is not None]
        h, w = images[0].shape[:2]
        fallback = (np.median(np.stack(ok), axis=0) if ok
                    else np.array([0.15 * w, 0.2 * h, 0.85 * w, 0.95 * h]))
        return (np.stack([fallback if b is None else b for b in found]),
                np.array([b is not None for b in found]))

    def crops(self, images: list[np.ndarray], boxes: np.ndarray) -> torch.Tensor:
        from facenet_pytorch.models.utils.detect_face import extract_face
        from PIL import Image

        out = [extract_face(Image.fromarray(rgb), box, self.p.crop_size, self.p.margin)
               for rgb, box in zip(images, boxes, strict=True)]
        return (torch.stack(out) - 127.5) / 128.0   # FaceNet's fixed standardisation

    @torch.inference_mode()
    def embed_boxes(self, images: list[np.ndarray], boxes: np.ndarray) -> np.ndarray:
        """N x 512 embeddings of RGB uint8 images (grayscale sketches as 3 equal
        channels), each cropped at its box (one box: the same for every image)."""
        boxes = np.broadcast_to(np.asarray(boxes, np.float64), (len(images), 4))
        x = self.crops(images, boxes)
        embs = [self.net(x[i:i + self.p.batch_size].to(self.device)).cpu()
                for i in range(0, len(x), self.p.batch_size)]
        return torch.cat(embs).numpy()

    def embed(self, images: list[np.ndarray]) -> tuple[np.ndarray, int]:
        """Embeddings on each image's own MTCNN box, and how many needed the fallback."""
        boxes, n_fallback = self.boxes(images)
        return self.embed_boxes(images, boxes), n_fallback
