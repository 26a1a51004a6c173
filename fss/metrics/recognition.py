"""Sketch-photo recognition (paper Table 7): FaceNet embeddings of MTCNN-aligned
160x160 crops, rank-1 identification by cosine similarity against a gallery."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fss.config import NonNegInt, PosInt


@dataclass(frozen=True)
class RecognitionParams:
    crop_size: PosInt = 160
    margin: NonNegInt = 32            # context pixels in the 160 crop, as FaceNet's training crops
    min_face_px: PosInt = 20
    batch_size: PosInt = 32


def rank1(probe: np.ndarray, gallery: np.ndarray, probe_labels: list[str],
          gallery_labels: list[str]) -> np.ndarray:
    """Per probe: 1.0 if the gallery entry most cosine-similar to it has its label."""
    p = probe / np.linalg.norm(probe, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    best = np.argmax(p @ g.T, axis=1)
    return np.array([gallery_labels[b] == lab for b, lab in zip(best, probe_labels, strict=True)],
                    dtype=np.float64)


class FaceEmbedder:
    """MTCNN box -> 160x160 crop -> FaceNet (CASIA-WebFace) 512-d embedding. An image
    where MTCNN finds no face is cropped with the median box of the others in the
    same call (every image here shares one aligned geometry), and counted."""

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
        from PIL import Image

        found: list[np.ndarray | None] = []
        for rgb in images:
            b, prob = self.mtcnn.detect(Image.fromarray(rgb))
            found.append(None if b is None or len(b) == 0 else b[int(np.argmax(prob))])
        ok = [b for b in found if b is not None]
        h, w = images[0].shape[:2]
        fallback = (np.median(np.stack(ok), axis=0) if ok
                    else np.array([0.15 * w, 0.2 * h, 0.85 * w, 0.95 * h]))
        n_fallback = sum(b is None for b in found)
        return np.stack([fallback if b is None else b for b in found]), n_fallback

    def crops(self, images: list[np.ndarray], boxes: np.ndarray) -> torch.Tensor:
        from facenet_pytorch.models.utils.detect_face import extract_face
        from PIL import Image

        out = [extract_face(Image.fromarray(rgb), box, self.p.crop_size, self.p.margin)
               for rgb, box in zip(images, boxes, strict=True)]
        return (torch.stack(out) - 127.5) / 128.0   # FaceNet's fixed standardisation

    @torch.inference_mode()
    def embed(self, images: list[np.ndarray]) -> tuple[np.ndarray, int]:
        """N x 512 embeddings of RGB uint8 images (grayscale sketches as 3 equal
        channels), and how many needed the fallback crop."""
        boxes, n_fallback = self.boxes(images)
        x = self.crops(images, boxes)
        embs = [self.net(x[i:i + self.p.batch_size].to(self.device)).cpu()
                for i in range(0, len(x), self.p.batch_size)]
        return torch.cat(embs).numpy(), n_fallback
