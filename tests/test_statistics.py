"""KID and bootstrap intervals: pure functions on synthetic numbers."""

import numpy as np
import pytest

from fss.metrics.bootstrap import (
    BootstrapParams,
    bootstrap_ci,
    two_level_bootstrap,
)
from fss.metrics.kid import kernel_inception_distance, mmd2_unbiased


def _feats(n: int, d: int = 64, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, size=(n, d))


def test_kid_of_a_set_against_itself_is_about_zero_and_grows_with_a_shift():
    # Non-negative, Inception-like features. Against itself the unbiased estimator
    # is not exactly 0 (the cross term meets each point's own kernel value), but
    # small next to a real difference and shrinking like 1/n.
    rng = np.random.default_rng(0)
    a = np.abs(rng.normal(0, 1, (400, 256)))
    itself = kernel_inception_distance(a, a, subsets=3).mean
    half = kernel_inception_distance(a[:200], a[:200], subsets=3).mean
    shifted = [kernel_inception_distance(a, a + s, subsets=3).mean for s in (0.1, 0.2, 0.3)]
    assert abs(itself) < 0.05 * shifted[-1]
    assert abs(itself) < 0.6 * abs(half)
    assert shifted[0] < shifted[1] < shifted[2]


def test_kid_near_zero_for_two_draws_of_one_distribution_and_grows_with_shift():
    a, b = _feats(100, seed=1), _feats(100, seed=2)
    same = kernel_inception_distance(a, b, subsets=30).mean
    small = kernel_inception_distance(a, _feats(100, shift=0.3, seed=2), subsets=30).mean
    large = kernel_inception_distance(a, _feats(100, shift=1.0, seed=2), subsets=30).mean
    assert abs(same) < 0.05 < small < large


def test_kid_equals_clean_fid_when_the_subsets_are_the_whole_sets():
    from cleanfid.fid import kernel_distance

    a, b = _feats(30, seed=3), _feats(30, shift=0.2, seed=4)
    ours = kernel_inception_distance(a, b, subsets=3)
    assert ours.mean == pytest.approx(kernel_distance(a, b, num_subsets=3), rel=1e-9)
    assert ours.std == pytest.approx(0.0, abs=1e-12)  # every subset is the whole set


def test_kid_is_reproducible_with_the_seed_and_checks_its_input():
    a, b = _feats(50, seed=5), _feats(60, seed=6)
    assert kernel_inception_distance(a, b, seed=7) == kernel_inception_distance(a, b, seed=7)
    assert kernel_inception_distance(a, b, subset_size=10, seed=1).mean != \
        kernel_inception_distance(a, b, subset_size=10, seed=2).mean
    with pytest.raises(ValueError, match="subset size"):
        kernel_inception_distance(a, b, subset_size=51)
    with pytest.raises(ValueError, match="N x d"):
        kernel_inception_distance(a, b[:, :10])


def test_mmd2_unbiased_is_symmetric():
    a, b = _feats(20, seed=8), _feats(20, shift=0.5, seed=9)
    assert mmd2_unbiased(a, b) == pytest.approx(mmd2_unbiased(b, a))


def test_bootstrap_interval_contains_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = bootstrap_ci(rng.normal(0.6, 0.1, 30))
    large = bootstrap_ci(rng.normal(0.6, 0.1, 3000))
    for iv in (small, large):
        assert iv.lo < iv.mean < iv.hi
    assert (large.hi - large.lo) < 0.3 * (small.hi - small.lo)


def test_bootstrap_is_reproducible_with_the_seed():
    v = np.random.default_rng(1).normal(size=50)
    assert bootstrap_ci(v, BootstrapParams(seed=3)) == bootstrap_ci(v, BootstrapParams(seed=3))
    assert bootstrap_ci(v, BootstrapParams(seed=3)) != bootstrap_ci(v, BootstrapParams(seed=4))


def test_bootstrap_leaves_out_infinite_values_and_rejects_bad_input():
    iv = bootstrap_ci([1.0, 2.0, 3.0, float("inf")])
    assert iv.mean == pytest.approx(2.0) and np.isfinite(iv.hi)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="resamples"):
        BootstrapParams(resamples=0)


def test_one_seed_bootstrap_flags_a_constant_offset_not_an_identical_pair():
    a = np.random.default_rng(2).normal(0.6, 0.1, 100)[None]
    same = two_level_bootstrap(a, a.copy())
    assert same.mean == 0 and not same.excludes_zero
    shifted = two_level_bootstrap(a, a + 0.01)
    assert shifted.excludes_zero and shifted.mean == pytest.approx(0.01)
    # A real offset that is small next to the per-image noise of unpaired samples is
    # still found, because the pairing cancels the images' own difficulty.
    noisy = two_level_bootstrap(a, a + 0.01 + np.random.default_rng(3).normal(0, 0.001, 100))
    assert noisy.excludes_zero
    with pytest.raises(ValueError, match="same images"):
        two_level_bootstrap(a, a[:, :10])


def test_two_level_bootstrap_with_one_seed_is_the_paired_bootstrap_interval_width():
    rng = np.random.default_rng(0)
    a = rng.normal(0.6, 0.1, 50)
    b = a + 0.01 + rng.normal(0, 0.01, 50)
    one = two_level_bootstrap(a[None], b[None])
    paired = bootstrap_ci(b - a)  # the images' differences resampled together
    assert one.mean == pytest.approx(paired.mean)
    assert one.hi - one.lo == pytest.approx(paired.hi - paired.lo, rel=0.2)
    assert one.excludes_zero


def test_two_level_bootstrap_widens_with_seed_spread_and_skips_non_finite():
    rng = np.random.default_rng(1)
    img = rng.normal(0.6, 0.1, 40)
    a = np.stack([img, img, img])
    tight = two_level_bootstrap(a, a + np.array([[0.02], [0.021], [0.019]]))
    loose = two_level_bootstrap(a, a + np.array([[0.08], [-0.04], [0.04]]))
    assert tight.excludes_zero and not loose.excludes_zero
    assert loose.hi - loose.lo > 5 * (tight.hi - tight.lo)
    b = a + 0.02
    b[1, 3] = np.inf                      # PSNR of an identical image
    assert np.isfinite(two_level_bootstrap(a, b).mean)
    with pytest.raises(ValueError, match="same images"):
        two_level_bootstrap(a, a[:, :10])
