"""A small synthetic CUFS in the real layout, for tests and the smoke profile on
machines without the database. Procedural head-and-shoulders photos with matching
pencil-like drawings of the same geometry. Never a substitute for real results: the
folder carries a marker file that the download stage records as ``synthetic``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from fss.data.cufs import SYNTHETIC_MARKER

WIDTH, HEIGHT = 200, 250
# The same folder names as the redistributed real copy.
LAYOUT = {
    ("cuhk", "train"): ("CUHK Students/Training/photos", "CUHK Students/Training/sketches"),
    ("cuhk", "test"): ("CUHK Students/Testing/photos", "CUHK Students/Testing/sketches"),
    ("ar", "train"): ("AR/Training Photos", "AR/Training Sketches"),
    ("ar", "test"): ("AR/Testing Photos", "AR/Testing Sketches"),
    ("xm2vts", "train"): ("XM2VTS/Training Photos", "XM2VTS/Training Sketches"),
    ("xm2vts", "test"): ("XM2VTS/Testing Photos", "XM2VTS/Testing Sketches"),
}


@dataclass(frozen=True)
class Face:
    cx: float
    eye_y: float
    eye_dx: float
    face_w: float
    face_h: float
    hair: float
    skin: tuple[int, int, int]
    hair_rgb: tuple[int, int, int]
    shirt: tuple[int, int, int]
    background: tuple[int, int, int]


def random_face(rng: np.random.Generator) -> Face:
    tone = rng.uniform(0.55, 0.95)
    return Face(
        cx=WIDTH / 2 + rng.uniform(-3, 3),
        eye_y=126 + rng.uniform(-3, 3),
        eye_dx=25.5 + rng.uniform(-2, 2),
        face_w=rng.uniform(56, 68),
        face_h=rng.uniform(74, 86),
        hair=rng.uniform(0.2, 1.0),
        skin=tuple(int(c) for c in np.array([235, 190, 160]) * tone),
        hair_rgb=tuple(int(c) for c in rng.uniform(15, 90, 3)),
        shirt=tuple(int(c) for c in rng.uniform(30, 200, 3)),
        background=tuple(int(c) for c in rng.uniform(200, 250, 3)),
    )


def _shapes(f: Face) -> dict[str, list[float]]:
    fy = f.eye_y + 10
    return {
        "shoulders": [f.cx - 95, 205, f.cx + 95, 330],
        "neck": [f.cx - 22, fy + 40, f.cx + 22, 225],
        "hair": [f.cx - f.face_w - 8 * f.hair, fy - f.face_h - 14 * f.hair,
                 f.cx + f.face_w + 8 * f.hair, fy + 30 * f.hair],
        "face": [f.cx - f.face_w * 0.82, fy - f.face_h * 0.78, f.cx + f.face_w * 0.82,
                 fy + f.face_h * 0.88],
        "eye_l": [f.cx - f.eye_dx - 7, f.eye_y - 3, f.cx - f.eye_dx + 7, f.eye_y + 3],
        "eye_r": [f.cx + f.eye_dx - 7, f.eye_y - 3, f.cx + f.eye_dx + 7, f.eye_y + 3],
        "brow_l": [f.cx - f.eye_dx - 10, f.eye_y - 12, f.cx - f.eye_dx + 9, f.eye_y - 9],
        "brow_r": [f.cx + f.eye_dx - 9, f.eye_y - 12, f.cx + f.eye_dx + 10, f.eye_y - 9],
        "nose": [f.cx - 6, f.eye_y + 22, f.cx + 6, f.eye_y + 30],
        "mouth": [f.cx - 15, f.eye_y + 44, f.cx + 15, f.eye_y + 50],
    }


def draw_photo(f: Face, rng: np.random.Generator) -> Image.Image:
    s = _shapes(f)
    im = Image.new("RGB", (WIDTH, HEIGHT), f.background)
    d = ImageDraw.Draw(im)
    d.ellipse(s["shoulders"], fill=f.shirt)
    d.rectangle(s["neck"], fill=f.skin)
    d.ellipse(s["hair"], fill=f.hair_rgb)
    d.ellipse(s["face"], fill=f.skin)
    for k in ("eye_l", "eye_r"):
        d.ellipse(s[k], fill=(250, 250, 250))
        x0, y0, x1, y1 = s[k]
        c = ((x0 + x1) / 2, (y0 + y1) / 2)
        d.ellipse([c[0] - 3, c[1] - 3, c[0] + 3, c[1] + 3], fill=(30, 20, 15))
    for k in ("brow_l", "brow_r"):
        d.rectangle(s[k], fill=f.hair_rgb)
    dark = tuple(int(c * 0.7) for c in f.skin)
    d.line([s["nose"][0], s["nose"][3], s["nose"][2], s["nose"][3]], fill=dark, width=2)
    d.ellipse(s["mouth"], fill=(150, 60, 60))
    arr = np.asarray(im.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float64)
    arr += rng.normal(0, 3, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def draw_sketch(f: Face, rng: np.random.Generator) -> Image.Image:
    s = _shapes(f)
    im = Image.new("L", (WIDTH, HEIGHT), 245)
    d = ImageDraw.Draw(im)
    d.ellipse(s["shoulders"], outline=110, width=2)
    d.ellipse(s["hair"], fill=90, outline=40, width=2)
    d.ellipse(s["face"], fill=238, outline=100, width=2)
    d.line([s["neck"][0], s["neck"][1] + 10, s["neck"][0], 218], fill=120, width=2)
    d.line([s["neck"][2], s["neck"][1] + 10, s["neck"][2], 218], fill=120, width=2)
    for k in ("eye_l", "eye_r"):
        d.ellipse(s[k], outline=50, width=2)
        x0, y0, x1, y1 = s[k]
        c = ((x0 + x1) / 2, (y0 + y1) / 2)
        d.ellipse([c[0] - 2.5, c[1] - 2.5, c[0] + 2.5, c[1] + 2.5], fill=25)
    for k in ("brow_l", "brow_r"):
        d.rectangle(s[k], fill=70)
    d.line([s["nose"][0], s["nose"][3], s["nose"][2], s["nose"][3]], fill=90, width=2)
    d.arc(s["mouth"], 0, 180, fill=70, width=2)
    arr = np.asarray(im, dtype=np.float64)
    # Pencil grain: fine noise, stronger where the drawing is dark.
    arr += rng.normal(0, 4, arr.shape) * (1.5 - arr / 255.0)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _names(subset: str, split: str, n: int, start: int) -> list[tuple[str, str]]:
    """(photo name, sketch name) following the real database's naming rules."""
    out = []
    for k in range(n):
        num = start + k
        if subset == "cuhk":
            sex = "f" if k % 2 == 0 else "m"
            photo = f"{sex}-{num:03d}-01.jpg"
            sketch = (f"{sex.upper()}2-{num:03d}-01-sz1.jpg" if split == "train"
                      else f"{num:d}.jpg")
        else:
            photo = sketch = f"{num}.jpg"
        out.append((photo, sketch))
    if subset == "cuhk" and split == "test":
        # numbered sketches pair with photos in sorted name order
        photos = sorted(p for p, _ in out)
        out = [(p, f"{start + 88 + i}.jpg") for i, p in enumerate(photos)]
    return out


def make_synthetic_cufs(out: Path, per_split: int = 4, seed: int = 0) -> int:
    """Write ``per_split`` pairs for every subset and split under ``out`` (a new or
    empty folder, written whole or not at all); returns the number of pairs written."""
    from fss.errors import UserError
    from fss.io import atomic_dir

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: exists and is not an empty folder (the synthetic dataset "
                        "goes into a new one)")
    rng = np.random.default_rng(seed)
    n = 0
    with atomic_dir(out) as tmp:
        for (subset, split), (pdir, sdir) in LAYOUT.items():
            (tmp / pdir).mkdir(parents=True, exist_ok=True)
            (tmp / sdir).mkdir(parents=True, exist_ok=True)
            start = 1 if split == "train" else 1 + per_split
            for photo_name, sketch_name in _names(subset, split, per_split, start):
                face = random_face(rng)
                draw_photo(face, rng).save(tmp / pdir / photo_name, quality=95)
                draw_sketch(face, rng).save(tmp / sdir / sketch_name, quality=95)
                n += 1
        (tmp / SYNTHETIC_MARKER).write_text(
            "Synthetic CUFS-like data written by `fss make-synthetic-cufs`. Not real faces; "
            "numbers computed on it say nothing about the method.\n"
        )
    return n


def make_synthetic_paired(out: Path, n: int = 8, seed: int = 0) -> int:
    """``n`` synthetic pairs in the paired-folder layout (``photos/``, ``sketches/``,
    matching names; ``fss.data.paired_folder``) under ``out``, a new folder written whole
    or not at all; returns ``n``."""
    from fss.errors import UserError
    from fss.io import atomic_dir

    out = Path(out)
    if out.exists():
        raise UserError(f"{out}: exists (the synthetic pairs go into a new folder)")
    rng = np.random.default_rng(seed)
    with atomic_dir(out) as tmp:
        (tmp / "photos").mkdir()
        (tmp / "sketches").mkdir()
        for k in range(n):
            face = random_face(rng)
            draw_photo(face, rng).save(tmp / "photos" / f"pair-{k:03d}.png")
            draw_sketch(face, rng).save(tmp / "sketches" / f"pair-{k:03d}.jpg", quality=95)
    return n
