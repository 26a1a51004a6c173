import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fss.data.align import AlignParams
from fss.rcs.net import RCSNet, RCSParams, save_rcs
from fss.rcs.pretrain import bce_dice_loss, pretrain_rcs
from fss.rcs.weak_labels import FACE_OVAL, face_label, hair_label

SMALL = RCSParams(channels=8, reduction=2, epochs=2, batch_size=2)


def circle_landmarks(cx: float, cy: float, r: float) -> np.ndarray:
    """468 mesh points with the face oval on a circle (index 10 at the top) and the
    rest at the centre."""
    lm = np.tile([cx, cy], (468, 1)).astype(float)
    a = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    lm[FACE_OVAL] = np.stack([cx + r * np.sin(a), cy - r * np.cos(a)], axis=1)
    return lm


@pytest.mark.parametrize("hw", [(32, 32), (48, 40), (30, 34)])
def test_rcsnet_shapes_and_range(hw):
    torch.manual_seed(0)
    net = RCSNet(SMALL).eval()
    with torch.no_grad():
        hair, face = net(torch.rand(2, 3, *hw) * 2 - 1)
    for m in (hair, face):
        assert m.shape == (2, 1, *hw)
        assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0


def test_bce_dice_loss_perfect_vs_inverted():
    t = torch.zeros(2, 1, 8, 8)
    t[:, :, 2:6, 2:6] = 1
    assert float(bce_dice_loss(t.clone(), t, 1.0)) < 1e-4
    assert float(bce_dice_loss(1 - t, t, 1.0)) > 10
    logits = (t * 2 - 1) * 30
    assert float(bce_dice_loss(logits, t, 1.0, from_logits=True)) < 1e-4
    assert float(bce_dice_loss(-logits, t, 1.0, from_logits=True)) > 10


def test_face_label_fills_circle_and_grows_up():
    lm = circle_landmarks(32, 36, 12)
    flat = face_label(lm, (64, 64), forehead=0.0)
    yy, xx = np.mgrid[:64, :64]
    inside = (yy - 36) ** 2 + (xx - 32) ** 2 <= 10**2
    assert flat[inside].all()
    assert not flat[(yy - 36) ** 2 + (xx - 32) ** 2 >= 14**2].any()
    grown = face_label(lm, (64, 64), forehead=0.25)  # 0.25 x 24 px = 6 px higher
    top = lambda m: int(np.argmax(m.any(axis=1)))  # noqa: E731
    assert top(flat) - top(grown) in (5, 6, 7)
    assert (grown | flat).sum() == grown.sum()  # only grows
    assert np.array_equal(grown[36:], flat[36:])  # jaw and chin untouched


def test_hair_label_excludes_face_and_below_jaw():
    lm = circle_landmarks(32, 30, 10)  # chin at row 40
    face = face_label(lm, (64, 64), forehead=0.0)
    person = np.zeros((64, 64), bool)
    person[10:, 12:52] = True  # head, neck and shoulders down to the bottom
    hair = hair_label(person, face, lm, margin=0.1)
    assert not (hair & face).any()
    assert not hair[39:].any()  # nothing at or below the chin (less the margin)
    assert hair[12, 32] and hair[30, 14]  # above the head, beside the face
    assert not hair[38, 32]  # under the jaw, in the face's columns


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(1)
    net = RCSNet(SMALL).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    path = tmp_path / "rcs" / "rcs.pt"
    save_rcs(path, net, SMALL)
    # the file holds what rebuilds the net (params) and its weights, loadable safely
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    back = RCSNet(RCSParams(**ckpt["params"])).eval()
    back.load_state_dict(ckpt["state_dict"])
    for a, b in zip(net(x), back(x), strict=True):
        assert torch.equal(a, b)
    assert [p.name for p in path.parent.iterdir()] == ["rcs.pt"]


def test_save_that_fails_midway_leaves_no_file_and_names_the_checkpoint(tmp_path,
                                                                         monkeypatch):
    from fss.errors import UserError

    def full_disk(obj, f, *a, **k):
        Path(f).write_bytes(b"half a checkpoint")
        # how torch's C++ writer reports ENOSPC
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    path = tmp_path / "rcs" / "rcs.pt"
    with pytest.raises(UserError, match=r"rcs.pt: could not be written \(\d+ MiB free"):
        save_rcs(path, RCSNet(SMALL), SMALL)
    assert list(path.parent.iterdir()) == []


def test_face_mesh_output(weights_dir):
    from fss.rcs.weak_labels import FaceMesh

    mesh = FaceMesh()
    crop = np.full((192, 192, 3), 128, np.uint8)
    lm = mesh(crop)
    assert lm.shape == (468, 2) and np.isfinite(lm).all()
    _, presence = mesh.detect(crop)
    assert 0.0 <= presence <= 1.0
    with pytest.raises(ValueError, match="192x192"):
        mesh(np.zeros((64, 64, 3), np.uint8))


def _tiny_set(root, n=6, size=32):
    """Photos of a skin disc on a dark head blob; mask = the blob."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "photos").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[:size, :size]
    rows = []
    for i in range(n):
        img = np.full((size, size, 3), 230, np.uint8)
        head = (yy - 16) ** 2 + (xx - 16) ** 2 <= 12**2
        img[head] = (40, 30, 20)
        img[(yy - 18) ** 2 + (xx - 16) ** 2 <= 8**2] = (220, 170, 140)
        img = np.clip(img + rng.integers(-5, 6, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / "photos" / f"p{i}.png")
        Image.fromarray(head.astype(np.uint8) * 255).save(root / "masks" / f"p{i}.png")
        split = "train" if i < n - 2 else "test"
        rows.append({"id": f"p{i}", "subset": "ar" if i % 2 else "cuhk", "split": split,
                     "photo": str(root / "photos" / f"p{i}.png"), "sketch": ""})
    pd.DataFrame(rows).to_csv(root / "splits.csv", index=False)
    return root


def _landmarker(rgb):
    # The last photo "fails" (low presence), to exercise the fall-back.
    fail = int(rgb[0, 0, 0]) == 0
    return circle_landmarks(16, 18, 8), 0.1 if fail else 0.99


def test_pretrain_rcs_writes_everything(tmp_path):
    root = _tiny_set(tmp_path / "set")
    from PIL import Image

    img = np.asarray(Image.open(root / "photos" / "p5.png")).copy()
    img[0, 0] = 0  # marks p5 for the failing landmarker
    Image.fromarray(img).save(root / "photos" / "p5.png")
    out = tmp_path / "out"
    kw = dict(align=AlignParams(size=32), p=SMALL, seed=3, device="cpu",
              model_out=out / "models" / "rcs" / "rcs.pt", maps_out=out / "maps",
              metrics_out=out / "metrics" / "rcs.json", landmarker=_landmarker)
    m = pretrain_rcs(root / "splits.csv", root / "masks", **kw)
    assert (out / "models" / "rcs" / "rcs.pt").is_file()
    for i in range(6):
        for kind in ("face", "hair"):
            a = np.asarray(Image.open(out / "maps" / f"p{i}_{kind}.png"))
            assert a.shape == (32, 32) and a.dtype == np.uint8
            assert (out / "maps" / "labels" / f"p{i}_{kind}.png").is_file()
    saved = json.loads((out / "metrics" / "rcs.json").read_text())
    for key in ("test_face_iou", "test_hair_iou", "train_face_iou", "train_hair_iou",
                "by_subset", "label_failures", "epochs", "seconds"):
        assert key in saved
    assert [f["id"] for f in m["label_failures"]] == ["p5"]
    assert set(saved["by_subset"]["test"]) == {"cuhk", "ar"}
    # Same seed on the CPU: the same maps, byte for byte.
    first = (out / "maps" / "p4_face.png").read_bytes()
    pretrain_rcs(root / "splits.csv", root / "masks", **kw)
    assert (out / "maps" / "p4_face.png").read_bytes() == first


def test_pretrain_rcs_refuses_shared_model_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="holds keep.txt"):
        pretrain_rcs(tmp_path / "none.csv", tmp_path, AlignParams(), SMALL, 0, "cpu",
                     tmp_path / "rcs.pt", tmp_path / "maps", tmp_path / "m.json")


def test_dss_doubles_a_minority_on_real_cufs(weights_dir, tmp_path):
    """On real CUFS photos (aligned, masked and labelled by the pipeline's own
    functions), an RCS net pre-trained on the graded labels gives maps on which DSS, at
    the paper's threshold 0.8, doubles between 10 % and 50 % of the sampled locations
    at every NCE layer (binary labels gave ~90 %)."""
    from fss.data.align import EyeDetector, align_pair
    from fss.data.masks import MaskParams, SelfieSegmenter, selfie_mask
    from fss.io import read_gray, read_rgb, save_png
    from fss.models.generator import GeneratorParams, ResnetGenerator
    from fss.training.sampling import SamplingParams, doubled_share, dynamic_indices, resize_map
    from tests.conftest import shared_cufs

    cufs = shared_cufs()
    if cufs is None:
        pytest.skip("real CUFS not found (set FSS_CUFS or put ../shared beside)")
    pairs = pd.read_csv(cufs.parent / "cufs-pairs.csv")
    pairs = pd.concat([g.head(6) for _, g in pairs.groupby(["subset", "split"])])
    ap = AlignParams(size=128)
    det, seg = EyeDetector("cpu", min_face_px=ap.min_face_px), SelfieSegmenter()
    for d in ("photos", "sketches", "masks"):
        (tmp_path / d).mkdir()
    rows = []
    for r in pairs.itertuples():
        photo = read_rgb(cufs / r.photo)
        eyes, _ = det(photo)
        a = align_pair(photo, read_gray(cufs / r.sketch), eyes, ap)
        save_png(tmp_path / "photos" / f"{r.id}.png", a.photo)
        save_png(tmp_path / "sketches" / f"{r.id}.png", a.sketch)
        save_png(tmp_path / "masks" / f"{r.id}.png",
                 selfie_mask(a.photo, seg, MaskParams()).astype(np.uint8) * 255)
        rows.append({"id": r.id, "subset": r.subset, "split": r.split,
                     "photo": tmp_path / "photos" / f"{r.id}.png",
                     "sketch": tmp_path / "sketches" / f"{r.id}.png"})
    pd.DataFrame(rows).to_csv(tmp_path / "splits.csv", index=False)
    p = RCSParams(epochs=40, batch_size=4)
    pretrain_rcs(tmp_path / "splits.csv", tmp_path / "masks", ap, p, 0, "cpu",
                 tmp_path / "rcs" / "rcs.pt", tmp_path / "maps", tmp_path / "m.json")
    layers = (0, 4, 8, 12, 16)
    feats = ResnetGenerator(3, 1, GeneratorParams(ngf=4, n_blocks=5)).encode(
        torch.zeros(1, 3, 128, 128), layers)
    sp = SamplingParams()
    for layer, f in zip(layers, feats, strict=True):
        shares = []
        for k, r in enumerate(rows):
            face, hair = (torch.tensor(read_gray(tmp_path / "maps" / f"{r['id']}_{part}.png"),
                                       dtype=torch.float32) / 255 for part in ("face", "hair"))
            h, w = f.shape[-2:]
            idx = dynamic_indices(resize_map(face, h, w), resize_map(hair, h, w),
                                  sp, torch.Generator().manual_seed(k))
            shares.append(doubled_share(idx))
        assert 0.10 <= float(np.mean(shares)) <= 0.50, (layer, np.mean(shares))


def test_pretrain_rcs_stops_on_a_nan_loss_and_writes_nothing(tmp_path, monkeypatch):
    from fss.errors import DivergenceError
    from fss.rcs import pretrain

    root = _tiny_set(tmp_path / "set")
    calls = []

    def nan_later(*a, **k):
        calls.append(1)
        loss = bce_dice_loss(*a, **k)
        return loss * float("nan") if len(calls) > 3 else loss

    monkeypatch.setattr(pretrain, "bce_dice_loss", nan_later)
    out = tmp_path / "out"
    with pytest.raises(DivergenceError, match=r"pretrain_rcs: diverged at epoch 1, iteration 2: "
                                              r"loss = nan \(lower rcs.lr\?\)"):
        pretrain_rcs(root / "splits.csv", root / "masks", AlignParams(size=32), SMALL, 3, "cpu",
                     out / "models" / "rcs" / "rcs.pt", out / "maps", out / "m.json",
                     landmarker=_landmarker)
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
