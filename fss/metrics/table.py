"""The one table of metrics: what each number is called, which way is better, how it
is printed, how much the CI gate lets it move, whether it gets a bootstrap interval and
whether the paper reports it. The evaluation, the report's tables, the ablation tests
and the gate all read this table, so a new metric is one entry here plus its function.
Pure data, no torch (the report imports it)."""

from __future__ import annotations

from dataclasses import dataclass

# Where a metric's numbers come from:
#   image: one value per test image (the evaluate stage's scores.csv), averaged per subset;
#   set: one value per set of images (FID / KID from Inception features);
#   recognition: one hit per test image (the recognize stage's recognition_hits.csv);
#   pipeline: a data-stage number the gate watches (mask / RCS IoU).
KINDS = ("image", "set", "recognition", "pipeline")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str               # the report's column title, with its arrow
    lower_is_better: bool
    decimals: int
    tolerance: float | None  # the CI gate's allowed worsening; None = not gated
    interval: bool           # a bootstrap interval over test images (and the ablation test)
    published: bool          # the paper reports it (paper / Δ columns)
    kind: str = "image"
    tables: bool = True      # a column of Tables 3-6 and of the all-images table
    regions: bool = False    # also inside the RCS face / hair regions (<key>_face, _hair)
    scale: float = 1.0       # shown x scale (100: a rate stored as a fraction, shown in %)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric '{self.key}': kind '{self.kind}' is not one of "
                             f"{', '.join(KINDS)}")

    @property
    def short(self) -> str:
        """The label without its arrow: 'SSIM'."""
        return self.label.rstrip(" ↑↓")


def _table(*metrics: Metric) -> dict[str, Metric]:
    return {m.key: m for m in metrics}


METRICS: dict[str, Metric] = _table(
    Metric("fid", "FID ↓", True, 2, 2.0, False, True, kind="set"),
    Metric("kid", "KID×1000 ↓", True, 2, None, False, False, kind="set"),
    # The paper's SSIM (Wang et al. 2004, as MATLAB's ssim): 11x11 Gaussian window,
    # sigma 1.5, population covariance; fss.metrics.similarity.ssim.
    Metric("ssim", "SSIM ↑", False, 4, 0.01, True, True, regions=True),
    Metric("psnr", "PSNR ↑", False, 2, 0.2, True, True, regions=True),
    # scikit-image's default (7x7 uniform window, sample covariance): the SSIM this
    # project reported before; kept for continuity, not comparable with the paper.
    Metric("ssim_skimage", "SSIM (skimage 7×7) ↑", False, 4, 0.01, True, False,
           tables=False),
    Metric("fsim", "FSIM ↑", False, 4, 0.01, True, False),
    Metric("lpips", "LPIPS ↓", True, 4, 0.01, True, False),
    Metric("dists", "DISTS ↓", True, 4, 0.01, True, False),
    # Table 7: FaceNet rank-1 on one fixed crop from the alignment geometry ...
    Metric("rank1", "rank-1 % ↑", False, 2, 0.0, True, True, kind="recognition",
           tables=False, scale=100.0),
    # ... and on each image's own MTCNN box (the route before the fixed crop).
    Metric("rank1_mtcnn", "rank-1 % (MTCNN crop) ↑", False, 2, 0.0, True, False,
           kind="recognition", tables=False, scale=100.0),
    Metric("iou", "IoU ↑", False, 4, 0.01, False, False, kind="pipeline", tables=False),
)


def of_kind(*kinds: str, table: dict[str, Metric] | None = None) -> list[Metric]:
    return [m for m in (METRICS if table is None else table).values() if m.kind in kinds]


def interval_keys() -> tuple[str, ...]:
    """Metrics that get a bootstrap interval over test images (and an ablation test)."""
    return tuple(m.key for m in METRICS.values() if m.interval)


def table_columns(paper_order: tuple[str, ...]) -> tuple[str, ...]:
    """A comparison table's columns: the paper's own, in its order, then every other
    tabled metric of the table (KID after FID, as the paper has no KID)."""
    extra = [m.key for m in of_kind("set", "image") if m.tables and m.key not in paper_order]
    cols = list(paper_order)
    if "kid" in extra and "fid" in cols:
        cols.insert(cols.index("fid") + 1, "kid")
        extra.remove("kid")
    return (*cols, *extra)


def gated() -> dict[str, Metric]:
    return {k: m for k, m in METRICS.items() if m.tolerance is not None}


def ablation_keys() -> tuple[str, ...]:
    """The metrics an ablation step is tested on: every per-image metric and rank-1 that
    has an interval (FID has no per-image value to resample)."""
    return tuple(m.key for m in of_kind("image", "recognition") if m.interval)
