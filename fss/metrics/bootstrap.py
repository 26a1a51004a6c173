"""Bootstrap confidence intervals over test images (percentile method): the spread a
metric's mean would show on another draw of test faces of the same size. Pure numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BootstrapParams:
    resamples: int = 1000
    level: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.resamples < 1:
            raise ValueError(f"bootstrap resamples must be >= 1, got {self.resamples}")
        if not 0 < self.level < 1:
            raise ValueError(f"bootstrap level must be in (0, 1), got {self.level}")


@dataclass(frozen=True)
class Interval:
    mean: float
    lo: float
    hi: float

    @property
    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0

    def as_list(self, decimals: int = 4) -> list[float]:
        return [round(self.lo, decimals), round(self.hi, decimals)]


def _finite(values: np.ndarray | list[float]) -> np.ndarray:
    v = np.asarray(values, np.float64)
    if v.ndim != 1:
        raise ValueError(f"bootstrap needs a 1-d sample, got shape {v.shape}")
    return v


def _interval(v: np.ndarray, p: BootstrapParams) -> Interval:
    if len(v) == 0:
        raise ValueError("bootstrap of an empty sample")
    rng = np.random.default_rng(p.seed)
    idx = rng.integers(0, len(v), size=(p.resamples, len(v)))
    means = v[idx].mean(axis=1)
    tail = 100 * (1 - p.level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return Interval(float(v.mean()), float(lo), float(hi))


def bootstrap_ci(values: np.ndarray | list[float], p: BootstrapParams = BootstrapParams()
                 ) -> Interval:
    """The mean of ``values`` and its ``p.level`` interval; non-finite values (PSNR of
    an identical image is +inf) are left out, as they are from the mean itself."""
    v = _finite(values)
    return _interval(v[np.isfinite(v)], p)


def two_level_bootstrap(a: np.ndarray, b: np.ndarray, p: BootstrapParams = BootstrapParams()
                        ) -> Interval:
    """Interval of b's mean minus a's over the same test images, when each row was
    trained several times: ``a`` and ``b`` are seeds x images (each row may have its
    own number of seeds). Each resample draws each row's seeds with replacement (the
    training randomness), then the test images (the same for both rows, so the images'
    difficulty cancels), and takes the difference of the means. With one seed per row
    it is the paired bootstrap over test images. Images with a non-finite value in any
    run are left out."""
    a, b = np.atleast_2d(np.asarray(a, np.float64)), np.atleast_2d(np.asarray(b, np.float64))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"two-level bootstrap needs seeds x images arrays over the same "
                         f"images, got shapes {a.shape} and {b.shape}")
    keep = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    a, b = a[:, keep], b[:, keep]
    n = a.shape[1]
    if n == 0 or len(a) == 0 or len(b) == 0:
        raise ValueError("two-level bootstrap of an empty sample")
    rng = np.random.default_rng(p.seed)
    means = np.empty(p.resamples)
    for r in range(p.resamples):
        ra = a[rng.integers(0, len(a), len(a))].mean(axis=0)
        rb = b[rng.integers(0, len(b), len(b))].mean(axis=0)
        idx = rng.integers(0, n, n)
        means[r] = (rb[idx] - ra[idx]).mean()
    tail = 100 * (1 - p.level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return Interval(float((b.mean(axis=0) - a.mean(axis=0)).mean()), float(lo), float(hi))
