import numpy as np
import pytest

from fss.data.align import (
    AlignParams,
    align_pair,
    alignment_matrix,
    apply_points,
    eye_targets,
    paper_colour,
    similarity_from_eyes,
)


def _dots(h, w, pts, r=2):
    img = np.full((h, w, 3), 220, np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for x, y in pts:
        img[(xx - x) ** 2 + (yy - y) ** 2 <= r * r] = 0
    return img


def _centroids(gray, n_expected):
    from scipy import ndimage

    lab, n = ndimage.label(gray < 110)
    assert n == n_expected
    c = ndimage.center_of_mass(np.ones_like(gray), lab, range(1, n + 1))
    return np.array(sorted((x, y) for y, x in c))


def test_similarity_maps_both_points_exactly():
    src = np.array([[30.0, 40.0], [70.0, 52.0]])
    dst = np.array([[25.6, 32.0], [38.4, 32.0]])
    m = similarity_from_eyes(src, dst)
    assert np.allclose(apply_points(m, src), dst)
    # a similarity: equal scale on both axes, no shear
    a = m[:2, :2]
    assert np.allclose(a @ a.T, np.eye(2) * np.linalg.det(a))


def test_similarity_rejects_coincident_eyes():
    with pytest.raises(ValueError, match="coincide"):
        similarity_from_eyes(np.array([[5.0, 5.0], [5.0, 5.0]]), np.eye(2))


def test_alignment_puts_known_eyes_on_target():
    eyes = np.array([[21.0, 33.0], [43.0, 29.0]])  # tilted, off-centre
    photo = _dots(60, 50, eyes)
    p = AlignParams(size=64)
    out = align_pair(photo, photo[..., 0].copy(), eyes, p)
    got = _centroids(out.photo[..., 0], 2)
    assert np.abs(got - eye_targets(p)).max() < 0.5
    # the sketch gets the very same transform
    got_s = _centroids(out.sketch, 2)
    assert np.abs(got_s - got).max() < 1e-6
    assert out.photo.shape == (64, 64, 3) and out.sketch.shape == (64, 64)
    assert not out.fallback


def test_fallback_uses_native_positions():
    p = AlignParams(size=32)
    m = alignment_matrix(200, 250, None, p)
    native = np.array([p.native_eye_left, p.native_eye_right]) * [200, 250]
    assert np.allclose(apply_points(m, native), eye_targets(p))
    out = align_pair(np.zeros((250, 200, 3), np.uint8), None, None, p)
    assert out.fallback and out.sketch is None


def test_paper_colour_ignores_black_wedge():
    sk = np.full((40, 40), 240, np.uint8)
    sk[:10, :10] = 0  # rotation wedge in one corner
    assert paper_colour(sk) == 240


def test_resize_pair_squeezes_without_alignment():
    from fss.data.align import resize_pair

    photo = np.zeros((250, 200, 3), np.uint8)
    photo[:, 100:] = 255                       # right half white
    sketch = np.full((250, 200), 200, np.uint8)
    p, s = resize_pair(photo, sketch, 64)
    assert p.shape == (64, 64, 3) and s.shape == (64, 64)
    assert p[:, :30].max() < 10 and p[:, 34:].min() > 245   # the edge stays mid-frame
    assert np.all(s == 200)
