"""The training pairs, held in memory as tensors: CUFS is small (268 pairs), and
reading PNGs every iteration would cost more than a CPU training step at low size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from fss.errors import UserError
from fss.io import read_gray, read_rgb
from fss.tensors import image_tensor


@dataclass
class PairSet:
    ids: list[str]
    photos: torch.Tensor     # N x 3 x H x W in [-1, 1]
    sketches: torch.Tensor   # N x 1 x H x W in [-1, 1]
    masks: torch.Tensor      # N x 1 x H x W in {0, 1}
    face: torch.Tensor | None = None   # N x 1 x H x W in [0, 1] (RCS maps)
    hair: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def size(self) -> int:
        return int(self.photos.shape[-1])

    def scaled(self, load: int) -> PairSet:
        """Every image at ``load`` x ``load`` for crop augmentation (CUT's load_size):
        bicubic for photos and sketches (clamped: bicubic overshoots), nearest for the
        binary masks, bilinear for the soft RCS maps."""
        def resize(t: torch.Tensor | None, mode: str, lo: float, hi: float
                   ) -> torch.Tensor | None:
            if t is None:
                return None
            kw = {} if mode == "nearest" else {"align_corners": False}
            return F.interpolate(t, size=(load, load), mode=mode, **kw).clamp(lo, hi)

        return PairSet(ids=self.ids, photos=resize(self.photos, "bicubic", -1, 1),
                       sketches=resize(self.sketches, "bicubic", -1, 1),
                       masks=resize(self.masks, "nearest", 0, 1),
                       face=resize(self.face, "bilinear", 0, 1),
                       hair=resize(self.hair, "bilinear", 0, 1))


def load_size(size: int, scale: float) -> int:
    """The size images are resized to before the random crop (CUT: 256 * 1.117 = 286)."""
    return int(round(size * scale))


def _load(path: Path, reader, signed: bool, shape: tuple[int, int] | None) -> torch.Tensor:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the earlier pipeline stages first)")
    a = reader(path)
    if shape is not None and a.shape[:2] != shape:
        raise UserError(f"{path}: size {a.shape[1]}x{a.shape[0]} differs from the photo's "
                        f"{shape[1]}x{shape[0]} (stale stage output?)")
    return image_tensor(a, signed)


def load_pairs(splits_csv: Path, split: str, masks_dir: Path,
               maps_dir: Path | None = None) -> PairSet:
    """Every pair of ``split`` from the split file with its mask and, when
    ``maps_dir`` is given, its RCS face/hair maps (``<id>_face.png``, ``<id>_hair.png``)."""
    from fss.data.splits import read_splits

    df = read_splits(splits_csv)  # a missing or damaged file: one line naming it
    df = df[df["split"] == split]
    if df.empty:
        raise UserError(f"{splits_csv}: no pairs in split '{split}'")
    for c in ("photo", "sketch"):  # (read_splits checks id and split)
        blank = df.index[df[c].str.strip() == ""]
        if len(blank):  # (line 1 is the header)
            raise UserError(f"{splits_csv}: line {blank[0] + 2}: empty {c}")
    photos, sketches, masks, faces, hairs = [], [], [], [], []
    for r in df.itertuples():
        photo = _load(Path(r.photo), read_rgb, True, None)
        shape = tuple(photo.shape[-2:])
        photos.append(photo)
        sketches.append(_load(Path(r.sketch), read_gray, True, shape))
        masks.append((_load(masks_dir / f"{r.id}.png", read_gray, False, shape) > 0.5).float())
        if maps_dir is not None:
            faces.append(_load(maps_dir / f"{r.id}_face.png", read_gray, False, shape))
            hairs.append(_load(maps_dir / f"{r.id}_hair.png", read_gray, False, shape))
    return PairSet(
        ids=list(df["id"]), photos=torch.stack(photos), sketches=torch.stack(sketches),
        masks=torch.stack(masks),
        face=torch.stack(faces) if faces else None, hair=torch.stack(hairs) if hairs else None,
    )


@dataclass
class Batch:
    photo: torch.Tensor
    sketch: torch.Tensor
    mask: torch.Tensor
    face: torch.Tensor | None   # RCS maps stay on the host: they only feed the sampler,
    hair: torch.Tensor | None   # which draws from a CPU generator (no device round trip)
    unpaired_sketch: torch.Tensor | None = None   # CycleGAN's sketch from another pair


Crop = tuple[int, int]   # (top, left) of a crop in a scaled PairSet


def make_batch(data: PairSet, i: int, flip: bool, device: torch.device,
               unpaired: int | None = None, crop: Crop | None = None,
               unpaired_crop: Crop | None = None, size: int | None = None) -> Batch:
    """Pair ``i`` of ``data`` as a batch of one. With ``crop`` (``data`` then being a
    scaled set), the same ``size`` x ``size`` window of photo, sketch, mask and maps, so
    they stay registered; the flip comes after the crop, as in CUT."""
    def window(x: torch.Tensor, c: Crop | None) -> torch.Tensor:
        if c is None:
            return x
        top, left = c
        return x[..., top:top + size, left:left + size]

    def get(t: torch.Tensor | None, j: int = i, c: Crop | None = crop,
            device: torch.device = device) -> torch.Tensor | None:
        if t is None:
            return None
        x = window(t[j : j + 1], c)
        return (x.flip(-1) if flip else x).to(device)

    if (crop is not None or unpaired_crop is not None) and size is None:
        raise ValueError("a crop needs the crop size")
    host = torch.device("cpu")
    return Batch(photo=get(data.photos), sketch=get(data.sketches), mask=get(data.masks),
                 face=get(data.face, device=host), hair=get(data.hair, device=host),
                 unpaired_sketch=(get(data.sketches, unpaired, unpaired_crop)
                                  if unpaired is not None else None))
