import numpy as np
import pytest

from fss.data.masks import (
    MaskParams,
    background_mask,
    fill_from_bottom,
    iou,
    sketch_silhouette,
    span_fill,
)


def test_iou_known_values():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True  # 8 px
    b[1:3] = True  # 8 px, 4 shared
    assert iou(a, b) == pytest.approx(4 / 12)
    assert iou(a, a) == 1.0
    assert iou(a, ~a) == 0.0
    assert iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0


def test_iou_shape_mismatch():
    with pytest.raises(ValueError, match="shapes differ"):
        iou(np.zeros((2, 2)), np.zeros((3, 3)))


def test_fill_from_bottom_closes_shoulders():
    m = np.zeros((10, 10), bool)
    m[4:, 2] = m[4:, 7] = True  # two vertical strokes running off the bottom
    m[4, 2:8] = True
    filled = fill_from_bottom(m)
    assert filled[5:, 3:7].all() and not filled[:4].any()


def test_span_fill_open_outline():
    m = np.zeros((8, 8), bool)
    m[2, 2:6] = True  # top of a head
    m[3:6, 1] = m[3:6, 6] = True  # sides open at the bottom: no closed contour
    f = span_fill(m)
    assert f[3:6, 1:7].all()
    assert not f[:2].any() and not f[:, 0].any() and not f[:, 7].any()


def _drawn_head(h=64, w=48):
    """A pencil-like outline of a head and shoulders on paper, plus its true area."""
    yy, xx = np.mgrid[:h, :w]
    head = ((xx - w / 2) / 12) ** 2 + ((yy - 24) / 15) ** 2 <= 1
    body = (yy >= 36) & (np.abs(xx - w / 2) <= 18)  # neck/shoulders join the head
    truth = head | body
    from scipy import ndimage

    outline = truth & ~ndimage.binary_erosion(truth, iterations=2)
    sketch = np.where(outline, 90, 245).astype(np.uint8)
    return sketch, truth


def test_sketch_silhouette_recovers_drawn_person():
    sketch, truth = _drawn_head()
    sil = sketch_silhouette(sketch, MaskParams(sketch_close_radius=2))
    assert iou(sil, truth) > 0.85


def test_sketch_silhouette_ignores_border_wedge():
    sketch, truth = _drawn_head()
    corner = np.add.outer(np.arange(12), np.arange(12)) < 12  # black triangle
    sketch[:12, :12][corner] = 0
    sil = sketch_silhouette(sketch, MaskParams(sketch_close_radius=2))
    assert not sil[:4, :4].any()
    assert iou(sil, truth) > 0.85


def test_background_mask_on_plain_backdrop():
    _, truth = _drawn_head()
    rgb = np.where(truth[..., None], [120, 80, 60], [235, 235, 240]).astype(np.uint8)
    assert iou(background_mask(rgb, MaskParams()), truth) > 0.95


def test_selfie_mask_on_real_photo(weights_dir):
    from fss.data.masks import SelfieSegmenter, selfie_mask
    from tests.conftest import shared_cufs

    cufs = shared_cufs()
    if cufs is None:
        pytest.skip("real CUFS not found (FSS_CUFS)")
    from fss.io import read_gray, read_rgb

    photo = read_rgb(cufs / "AR" / "Training Photos" / "3.jpg")
    sketch = read_gray(cufs / "AR" / "Training Sketches" / "3.jpg")
    m = selfie_mask(photo, SelfieSegmenter(), MaskParams())
    assert m.shape == photo.shape[:2]
    assert iou(m, sketch_silhouette(sketch, MaskParams())) > 0.8
