"""Pre-training of the RCS network on weak face/hair labels (the paper pre-trains RCS
but gives no objective; see docs/method.md): BCE towards GRADED density labels plus Dice
on the region, both heads, TRAIN photos only, then a face and a hair map for every
photo."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fss.data.align import AlignParams
from fss.errors import DivergenceError, UserError
from fss.rcs.net import RCSNet, RCSParams

# rgb (HxWx3 uint8, aligned) -> (468, 2) landmarks in its pixels, face-presence prob.
Landmarker = Callable[[np.ndarray], tuple[np.ndarray, float]]

FALLBACK = "mean landmarks of the photos the mesh found (frames are eye-aligned)"


def bce_dice_loss(pred: torch.Tensor, target: torch.Tensor, dice_weight: float,
                  from_logits: bool = False, region: torch.Tensor | None = None,
                  region_floor: float = 1.0) -> torch.Tensor:
    """Mean BCE + ``dice_weight`` x soft Dice loss (per image, then averaged).

    ``pred`` holds probabilities, or logits with ``from_logits`` (stabler for
    training). BCE fits ``target``, which may be graded (soft labels). Dice keeps a
    small region (the hair of a short haircut) from being swamped by background pixels
    in the BCE; it scores the binary ``region`` (default: target > 0.5) against
    min(prob / ``region_floor``, 1), so that any prediction at or above the graded
    labels' floor counts as inside and Dice does not push graded values to 1. Its +1
    smoothing makes an empty target with an empty prediction cost nothing."""
    target = target.float()
    if from_logits:
        bce = F.binary_cross_entropy_with_logits(pred, target)
        prob = torch.sigmoid(pred)
    else:
        bce = F.binary_cross_entropy(pred, target)
        prob = pred
    region = (target > 0.5).float() if region is None else region.float()
    inside = (prob / region_floor).clamp(max=1.0)
    dims = tuple(range(1, pred.dim()))
    inter = (inside * region).sum(dims)
    dice = 1.0 - (2.0 * inter + 1.0) / (inside.sum(dims) + region.sum(dims) + 1.0)
    return bce + dice_weight * dice.mean()


def mesh_landmarker(align: AlignParams) -> Landmarker:
    """The MediaPipe face mesh, cropped from the alignment's eye positions."""
    from fss.rcs.weak_labels import FaceMesh, eye_pixels

    mesh = FaceMesh()

    def landmarks(rgb: np.ndarray) -> tuple[np.ndarray, float]:
        el, er = eye_pixels(align.eye_left, align.eye_right, rgb.shape)
        return mesh.landmarks(rgb, el, er)

    return landmarks


@dataclass
class LabelledSet:
    ids: list[str]
    subsets: list[str]
    splits: list[str]
    photos: np.ndarray  # N x H x W x 3 uint8
    face: np.ndarray  # N x H x W bool: the regions
    hair: np.ndarray
    failures: list[dict]
    face_density: np.ndarray  # N x H x W float32 in [0, 1]: graded labels (the targets)
    hair_density: np.ndarray


def label_dataset(splits_csv: Path, masks_dir: Path, p: RCSParams,
                  landmarker: Landmarker, min_presence: float = 0.5) -> LabelledSet:
    """Weak labels for every photo of ``splits_csv``. A photo whose face-presence
    probability is below ``min_presence`` gets the mean landmarks of the others: the
    frames are eye-aligned, so the average face sits close to where its face is."""
    from tqdm import tqdm

    from fss.data.splits import read_splits
    from fss.io import read_gray, read_rgb
    from fss.rcs.weak_labels import density_labels, labels_from_landmarks

    df = read_splits(splits_csv)
    photos, persons, marks, presence = [], [], [], []
    for r in tqdm(df.itertuples(), total=len(df), desc="rcs labels", unit="photo"):
        rgb = read_rgb(Path(r.photo))
        person = read_gray(Path(masks_dir) / f"{r.id}.png") > 127
        if photos and rgb.shape != photos[0].shape:
            raise UserError(f"{r.photo}: size {rgb.shape[:2]} differs from the first "
                            f"photo's {photos[0].shape[:2]}; photos must be aligned")
        if person.shape != rgb.shape[:2]:
            raise UserError(f"{r.id}: mask size {person.shape} != photo size {rgb.shape[:2]}")
        lm, pr = landmarker(rgb)
        photos.append(rgb)
        persons.append(person)
        marks.append(np.asarray(lm, float))
        presence.append(float(pr))
    if not photos:
        raise UserError(f"{splits_csv}: no photos listed")
    ok = np.array(presence) >= min_presence
    if not ok.any():
        raise UserError(f"face mesh found no face in any of the {len(photos)} photos")
    mean_lm = np.mean([m for m, good in zip(marks, ok, strict=True) if good], axis=0)
    failures = []
    face, hair, face_d, hair_d = [], [], [], []
    for i, r in enumerate(df.itertuples()):
        lm = marks[i]
        if not ok[i]:
            lm = mean_lm
            failures.append({"id": r.id, "presence": round(presence[i], 4), "handled": FALLBACK})
        f, h = labels_from_landmarks(lm, persons[i], p.forehead)
        fd, hd = density_labels(lm, f, h, p.density_floor, p.density_gamma, p.density_sigma)
        face.append(f)
        hair.append(h)
        face_d.append(fd)
        hair_d.append(hd)
    return LabelledSet(list(df["id"].astype(str)), list(df["subset"].astype(str)),
                       list(df["split"].astype(str)), np.stack(photos), np.stack(face),
                       np.stack(hair), failures, np.stack(face_d), np.stack(hair_d))


def _to_input(photos: torch.Tensor) -> torch.Tensor:
    """N x H x W x 3 uint8 -> N x 3 x H x W float in [-1, 1]."""
    return photos.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def train_rcs(data: LabelledSet, p: RCSParams, seed: int,
              device: torch.device) -> tuple[RCSNet, list[float]]:
    """RCSNet fitted to the TRAIN photos' labels; returns it and the per-epoch losses.
    All randomness (init, order, flips) comes from ``seed``."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train = np.array([s == "train" for s in data.splits])
    if not train.any():
        raise UserError("no TRAIN photos to pre-train RCS on")
    x_all = torch.from_numpy(data.photos[train]).to(device)
    y_face = torch.from_numpy(data.face_density[train]).to(device)[:, None]
    y_hair = torch.from_numpy(data.hair_density[train]).to(device)[:, None]
    r_face = torch.from_numpy(data.face[train]).to(device)[:, None]
    r_hair = torch.from_numpy(data.hair[train]).to(device)[:, None]
    net = RCSNet(p).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=p.lr)
    n, losses = len(x_all), []
    bar = tqdm(range(p.epochs), desc="rcs train", unit="epoch")
    for epoch in bar:
        order = torch.randperm(n, generator=gen)
        flip = torch.rand(n, generator=gen) < 0.5
        total = 0.0
        for i in range(0, n, p.batch_size):
            idx = order[i:i + p.batch_size]
            x = _to_input(x_all[idx])
            yf, yh = y_face[idx].float(), y_hair[idx].float()
            rf, rh = r_face[idx].float(), r_hair[idx].float()
            # Mirror a random half: faces are near-symmetric, so labels mirror too.
            f = flip[idx].to(device)[:, None, None, None]
            x, yf, yh, rf, rh = (torch.where(f, t.flip(-1), t) for t in (x, yf, yh, rf, rh))
            hair, face = net.logits(x)
            loss = (bce_dice_loss(face, yf, p.dice_weight, True, rf, p.density_floor)
                    + bce_dice_loss(hair, yh, p.dice_weight, True, rh, p.density_floor))
            value = float(loss.detach())
            if not math.isfinite(value):  # nothing is saved before the last epoch
                raise DivergenceError(f"pretrain_rcs: diverged at epoch {epoch + 1}, iteration "
                                      f"{i // p.batch_size + 1}: loss = {value} (lower rcs.lr?)")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * len(idx)
        losses.append(total / n)
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    if any(not torch.isfinite(q).all() for q in net.parameters()):
        raise DivergenceError(f"pretrain_rcs: diverged in epoch {p.epochs}: the weights hold "
                              f"NaN or inf (last loss {losses[-1]:.4g}; lower rcs.lr?)")
    return net.eval(), losses


@torch.no_grad()
def predict_maps(net: RCSNet, photos: np.ndarray, device: torch.device,
                 batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(hair, face) probabilities, N x H x W float32, for N x H x W x 3 uint8 photos."""
    net.eval()
    hair, face = [], []
    for i in range(0, len(photos), batch_size):
        x = _to_input(torch.from_numpy(photos[i:i + batch_size]).to(device))
        a, b = net(x)
        hair.append(a[:, 0].float().cpu().numpy())
        face.append(b[:, 0].float().cpu().numpy())
    return np.concatenate(hair), np.concatenate(face)


def region_ious(data: LabelledSet, hair: np.ndarray, face: np.ndarray,
                threshold: float) -> dict:
    """Mean IoU of (map > threshold) vs the weak label, per split and per
    split/subset; ``test_face_iou`` and ``test_hair_iou`` are the headline."""
    from fss.data.masks import iou

    rows = [(data.splits[i], data.subsets[i], iou(face[i] > threshold, data.face[i]),
             iou(hair[i] > threshold, data.hair[i])) for i in range(len(data.ids))]
    out: dict = {"by_subset": {}}
    for split in sorted({r[0] for r in rows}):
        sel = [r for r in rows if r[0] == split]
        out[f"{split}_face_iou"] = round(float(np.mean([r[2] for r in sel])), 4)
        out[f"{split}_hair_iou"] = round(float(np.mean([r[3] for r in sel])), 4)
        out["by_subset"][split] = {
            s: {"n": len(ss), "face_iou": round(float(np.mean([r[2] for r in ss])), 4),
                "hair_iou": round(float(np.mean([r[3] for r in ss])), 4)}
            for s in sorted({r[1] for r in sel}) for ss in [[r for r in sel if r[1] == s]]
        }
    return out


def _check_own_folder(model_out: Path) -> None:
    """The model's folder is replaced as a whole (atomically), so it must hold nothing
    but the model: refuse a folder that holds anything else (e.g. the repo root)."""
    folder = model_out.parent
    if folder.resolve() == Path.cwd().resolve() or not folder.name:
        raise UserError(f"{model_out}: the model needs a folder of its own (one that holds "
                        "nothing else)")
    if folder.is_dir():
        other = [q.name for q in folder.iterdir()
                 if q.name != model_out.name and not q.name.startswith(".")]
        if other:
            raise UserError(f"{folder}: would be replaced but also holds {', '.join(other[:3])}")


def pretrain_rcs(splits_csv: Path, masks_dir: Path, align: AlignParams, p: RCSParams,
                 seed: int, device: str, model_out: Path, maps_out: Path, metrics_out: Path,
                 landmarker: Landmarker | None = None) -> dict:
    """Weak labels for every photo, RCSNet trained on the TRAIN ones, then:
    ``model_out`` (its folder replaced atomically), ``maps_out/<id>_{face,hair}.png``
    (uint8 = round(255 p), every photo), ``maps_out/labels/<id>_{face,hair}.png`` (the
    graded weak labels, uint8 = round(255 label)) and ``metrics_out`` (IoUs, label
    failures, timing).

    ``landmarker`` replaces the MediaPipe mesh (tests inject a synthetic one)."""
    from fss.device import resolve_device
    from fss.io import atomic_dir, save_png, write_json
    from fss.rcs.net import save_rcs

    model_out, maps_out = Path(model_out), Path(maps_out)
    _check_own_folder(model_out)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    data = label_dataset(Path(splits_csv), Path(masks_dir), p,
                         landmarker or mesh_landmarker(align))
    t1 = time.perf_counter()
    net, losses = train_rcs(data, p, seed, dev)
    t2 = time.perf_counter()
    hair, face = predict_maps(net, data.photos, dev, p.batch_size)

    with atomic_dir(model_out.parent) as tmp:
        save_rcs(tmp / model_out.name, net, p)
    with atomic_dir(maps_out) as tmp:
        (tmp / "labels").mkdir()
        for i, id_ in enumerate(data.ids):
            save_png(tmp / f"{id_}_face.png", np.rint(face[i] * 255))
            save_png(tmp / f"{id_}_hair.png", np.rint(hair[i] * 255))
            save_png(tmp / "labels" / f"{id_}_face.png", np.rint(data.face_density[i] * 255))
            save_png(tmp / "labels" / f"{id_}_hair.png", np.rint(data.hair_density[i] * 255))

    metrics = region_ious(data, hair, face, p.threshold)
    metrics.update({
        "label_failures": data.failures,
        "epochs": p.epochs,
        "final_loss": round(losses[-1], 5) if losses else None,
        "n_train": int(sum(s == "train" for s in data.splits)),
        "n_maps": len(data.ids),
        "size": list(data.photos.shape[1:3]),
        "device": str(dev),
        "seed": seed,
        "params": asdict(p),
        "seconds_labels": round(t1 - t0, 2),
        "seconds_train": round(t2 - t1, 2),
        "seconds_per_epoch": round((t2 - t1) / max(p.epochs, 1), 3),
        "seconds": round(time.perf_counter() - t0, 2),
    })
    write_json(Path(metrics_out), metrics)
    return metrics
