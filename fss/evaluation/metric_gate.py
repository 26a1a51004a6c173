"""CI's metric gate (``fss gate check``): two checks on a finished pipeline, both
meant to give the same verdict on any machine of the same kind.

- **Baseline**: the numbers that come from no trained network (the trivial
  references' metrics, the real-sketch FID floor, rank-1 of the test photos, mask IoU)
  reproduce across thread counts (bit for bit from 2 threads to 1), so they are compared with a
  committed baseline under the metric table's tolerances (``fss.metrics.table``, sized
  from the measured spread). A change there is a change of data, alignment or a
  metric's code, never of training.
- **Quality**: trained generators do not reproduce across machines (GAN training
  amplifies rounding: the same code moves the smoke FID by tens), so instead of a
  baseline each trained run the params name (every row and seed) is held against the
  trivial references of the same pipeline: over all test images, every metric of the
  params' ``gate.quality`` must come within its margin of the better reference. The
  margins are sized so that a working method clears them on every seed and thread count
  tried and a method with a broken loss does not (README, "CI metric gate")."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from fss.errors import UserError
from fss.evaluation.results import EvaluationRecord, is_evaluation, read_recognition
from fss.io import read_json
from fss.metrics.table import METRICS, Metric, gated, of_kind
from fss.paths import PathsParams

# Recognition numbers: (key in recognition.json, the metric they measure).
RECOGNITION_PROBES = (("probes", "rank1"), ("probes_mtcnn", "rank1_mtcnn"))
# The trivial references a trained run is held against (evaluate_reference@...).
REFERENCES = ("photo", "mean_sketch")
# The aggregate over every test image in an evaluation's metrics file.
ALL = "all"

Margin = Annotated[float, Field(allow_inf_nan=False)]


@dataclass(frozen=True)
class GateParams:
    """params ``gate``: per metric, how far a trained run may stay behind the better
    trivial reference over all test images (negative: it must beat it by that much).
    Lower-is-better metrics pass at ``value <= reference + margin``, the others at
    ``value >= reference - margin``."""

    quality: dict[str, Margin] = field(default_factory=lambda: {"lpips": 0.0})

    def __post_init__(self) -> None:
        allowed = [m.key for m in of_kind("image", "set")]
        for k in self.quality:
            if k not in allowed:
                raise ValueError(f"quality.{k}: not a per-image or set metric of "
                                 f"fss/metrics/table.py ({', '.join(allowed)})")


def tolerances() -> dict[str, float]:
    """The gated metrics' tolerances, as the baseline file records them."""
    return {k: float(m.tolerance) for k, m in gated().items() if m.tolerance is not None}


# The photo masks' mean IoU with the masks stage's reference, as the gate names it.
MASK_IOU = "masks.all.iou"


def gate_kind(name: str) -> Metric:
    """The metric a gate entry measures: every name ends in the metric table's key
    (``photo.cuhk.ssim``, ``recognition.test_photos.all.rank1``, ``masks.all.iou``)."""
    key = name.rsplit(".", 1)[-1]
    table = gated()
    if key not in table:
        raise UserError(f"{name}: does not end in a gated metric of fss/metrics/table.py "
                        f"({', '.join(sorted(table))})")
    return table[key]


@dataclass(frozen=True)
class Change:
    name: str
    baseline: float
    current: float | None
    tolerance: float
    worse: bool

    def line(self) -> str:
        if self.current is None:
            return f"  {self.name}: missing now (baseline {self.baseline:g})"
        d = self.current - self.baseline
        return (f"  {self.name}: {self.baseline:g} -> {self.current:g} ({d:+.4g}; "
                f"tolerance {self.tolerance:g}, {'worse' if self.worse else 'better'})")


@dataclass(frozen=True)
class Quality:
    """One trained run on one metric against the better reference; ``value`` None: the
    run has no evaluation of this profile (missing, a failure)."""

    run: str
    metric: str
    value: float | None
    reference: str
    reference_value: float
    margin: float

    @property
    def bound(self) -> float:
        lower = METRICS[self.metric].lower_is_better
        return self.reference_value + self.margin if lower else self.reference_value - self.margin

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        if METRICS[self.metric].lower_is_better:
            return self.value <= self.bound + 1e-12
        return self.value >= self.bound - 1e-12

    def line(self) -> str:
        if self.value is None:
            return f"  {self.run}: no evaluation of this profile"
        op = "<=" if METRICS[self.metric].lower_is_better else ">="
        return (f"  {self.run}.{self.metric} = {self.value:g}: should be {op} {self.bound:g} "
                f"({self.reference} {self.reference_value:g}, margin {self.margin:g})")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


Evaluations = dict[str, EvaluationRecord]


def evaluations(metrics: Path, profile: str | None = None) -> Evaluations:
    """Every evaluation's metrics file in the ``metrics`` folder (``paths.metrics``) by
    its run name (``fss/seed0``, ``photo``, ``fid_floor``), of ``profile`` when given:
    the committed files of another profile (e.g. the cpu run's extra seeds) are not
    this run's."""
    out = {}
    for f in sorted(metrics.rglob("*.json")) if metrics.is_dir() else []:
        name = f.relative_to(metrics).with_suffix("").as_posix()
        d = read_json(f)
        if name.startswith("train/") or not is_evaluation(d):
            continue
        out[name] = EvaluationRecord.from_json(d, str(f))
    return of_profile(out, profile)


def of_profile(evals: Evaluations, profile: str | None) -> Evaluations:
    """Those of ``evals`` of ``profile`` (all when None; a file naming none counts as
    every profile's)."""
    return {n: r for n, r in evals.items()
            if profile is None or r.profile is None or r.profile == profile}


def _all_value(rec: EvaluationRecord | None, metric: str) -> float | None:
    """A metric over all test images of an evaluation (None: none, or no value)."""
    if rec is None or rec.all is None or metric not in rec.all.values:
        return None
    return _num(rec.all.values[metric])


def collect(at: PathsParams, profile: str | None = None,
            every: Evaluations | None = None) -> dict[str, float]:
    """The baseline's numbers of a finished pipeline whose files ``at`` names: those that come
    from no trained generator. Per reference evaluation (photo, mean_sketch, the FID
    floor) and subset every gated image / set metric of the table; rank-1 of every probe
    set that is no trained run (the test photos); photo-mask IoU. ``every``: the
    ``evaluations`` of ``at.metrics`` (all profiles) when already read."""
    out: dict[str, float] = {}
    per_subset = [m.key for m in of_kind("set", "image") if m.tolerance is not None]
    # of any profile: a trained run's probe is no reference
    every = evaluations(at.metrics) if every is None else every
    trained = {n for n, r in every.items() if r.kind == "trained"}
    for name, r in of_profile(every, profile).items():
        if name in trained:
            continue
        for subset, scores in r.subsets.items():
            for k in per_subset:
                v = _num(scores.values[k]) if k in scores.values else None
                if v is not None:
                    out[f"{name}.{subset}.{k}"] = round(v, 4)
    rec = at.recognition
    if rec.is_file():
        r = read_recognition(rec)
        for field_, key in RECOGNITION_PROBES:
            for probe, rates in getattr(r, field_).items():
                if probe in trained:
                    continue
                for subset, v in rates.values.items():
                    out[f"recognition.{probe}.{subset}.{key}"] = v
    # Not RCS map IoU: the RCS net is trained too (its test hair IoU moved by 0.012 from
    # 2 threads to 1, past IoU's tolerance), and the rows that use its maps are checked.
    masks = at.masks / "metrics.json"  # (the masks stage's summary, beside the masks)
    summary = read_json(masks) if masks.is_file() else None
    if isinstance(summary, dict) and "mean_iou" in summary:
        if (mask_iou := _num(summary["mean_iou"])) is not None:
            out[MASK_IOU] = mask_iou
    return out


def compare(current: dict[str, float], baseline: dict[str, float]
            ) -> tuple[list[Change], list[Change]]:
    """(regressions, improvements) beyond tolerance; a metric missing now regresses."""
    worse, better = [], []
    for name, base in sorted(baseline.items()):
        metric = gate_kind(name)
        tol = float(metric.tolerance or 0.0)
        cur = current.get(name)
        if cur is None:
            worse.append(Change(name, base, None, tol, True))
            continue
        d = cur - base
        if metric.lower_is_better:
            d = -d
        if d < -tol - 1e-12:
            worse.append(Change(name, base, cur, tol, True))
        elif d > tol + 1e-12:
            better.append(Change(name, base, cur, tol, False))
    return worse, better


def quality(evals: Evaluations, runs: list[str], gate: GateParams) -> list[Quality]:
    """Every run of ``runs`` (``fss/seed0``, ...) on every metric of ``gate.quality``
    against the better of the references, over all test images."""
    out = []
    for metric, margin in gate.quality.items():
        lower = METRICS[metric].lower_is_better
        refs = {}
        for r in REFERENCES:
            v = _all_value(evals[r] if r in evals else None, metric)
            if v is None:
                raise UserError(f"reference '{r}': no {ALL}.{metric} of this profile (the "
                                "quality check holds trained runs against it; run the "
                                "pipeline first)")
            refs[r] = v
        ref = (min if lower else max)(refs, key=refs.__getitem__)
        for run in runs:
            v = _all_value(evals[run] if run in evals else None, metric)
            out.append(Quality(run, metric, v, ref, refs[ref], float(margin)))
    return out


def report(worse: list[Change], better: list[Change], baseline_path: Path,
           checks: list[Quality] | None = None) -> str:
    lines = []
    if worse:
        lines.append(f"metric regression against {baseline_path} ({len(worse)}):")
        lines += [c.line() for c in worse]
    if better:
        lines.append(f"better than {baseline_path} beyond tolerance ({len(better)}); "
                     "update the baseline if intended (fss gate update):")
        lines += [c.line() for c in better]
    if not worse and not better:
        lines.append(f"metrics within tolerance of {baseline_path}")
    if checks:
        failed = [q for q in checks if not q.passed]
        runs = len({q.run for q in checks})
        if failed:
            lines.append(f"quality: {len(failed)} of {len(checks)} checks failed (a trained "
                         "run not within params gate.quality of the better reference):")
            lines += [q.line() for q in failed]
        else:
            margins = {q.metric: q.margin for q in checks}
            lines.append(f"quality: all {runs} trained runs within params gate.quality of "
                         "the better reference (" + ", ".join(
                             f"{m} margin {v:g}" for m, v in margins.items()) + ")")
    return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    current: dict[str, float]
    baseline: dict[str, float]
    worse: list[Change]
    better: list[Change]
    checks: list[Quality]

    @property
    def failed(self) -> bool:
        return bool(self.worse) or any(not q.passed for q in self.checks)


def check(root: Path, baseline_path: Path, params_path: Path | None = None) -> Verdict:
    """Both checks on the pipeline under ``root`` (its params: ``root/params.yaml``,
    as the run composed it)."""
    from fss.params import read_params, row_seeds
    from fss.paths import read_paths
    from fss.runs import run_name

    base, base_profile = _baseline_file(baseline_path)
    params_file = params_path or root / "params.yaml"
    at = read_paths(params_file).under(root)
    every = evaluations(at.metrics)
    collect(at, every=every)  # every metrics file read (a damaged one is named) before params
    params = read_params(params_file)
    profile = params.meta.profile
    if base_profile is not None and base_profile != profile:
        raise UserError(f"{baseline_path}: a baseline of profile '{base_profile}', but "
                        f"{params_file} is profile '{profile}'")
    current = collect(at, profile, every)
    worse, better = compare(current, base)
    runs = [run_name(r, s) for r, seeds in row_seeds(params).items() for s in seeds]
    checks = quality(of_profile(every, profile), runs, params.gate)
    return Verdict(current, base, worse, better, checks)


def write_baseline(current: dict[str, float], path: Path, profile: str) -> None:
    from fss.io import write_json

    if not current:
        raise UserError("no reproducible metrics found (run the pipeline first)")
    write_json(path, {"profile": profile, "tolerances": tolerances(), "metrics": current})


REWRITE = "rewrite it with: fss gate update"


def _baseline_file(path: Path) -> tuple[dict[str, float], str | None]:
    """The baseline's metrics and the profile it names; one line naming the file
    when it is no baseline: not JSON, no metrics mapping, a value that is no finite
    number, a name that does not end in a gated metric."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no baseline (create it with: fss gate update)")
    d = read_json(path, REWRITE)
    metrics = d["metrics"] if isinstance(d, dict) and "metrics" in d else None
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: malformed baseline: expected {{\"metrics\": {{name: number}}}}"
                        f" ({REWRITE})")
    bad = [k for k, v in metrics.items() if _num(v) is None or not math.isfinite(v)]
    if bad:
        raise UserError(f"{path}: malformed baseline: metrics.{bad[0]} = {metrics[bad[0]]!r} "
                        "is not a finite number")
    for k in metrics:
        try:
            gate_kind(k)
        except UserError as e:
            raise UserError(f"{path}: metrics.{e} ({REWRITE})") from None
    profile = d["profile"] if "profile" in d else None
    return {k: float(v) for k, v in metrics.items()}, profile


def read_baseline(path: Path) -> dict[str, float]:
    return _baseline_file(path)[0]
