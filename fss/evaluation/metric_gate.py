"""CI's metric-regression gate: the pipeline's metrics flattened to named numbers,
compared with a committed baseline under per-metric tolerances, in the direction
that counts as worse. Which metrics are gated, their tolerances and directions: the
metric table (``fss.metrics.table``; a metric with a tolerance is gated)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fss.metrics.table import gate_kind, gated, of_kind

# Recognition numbers: (key in recognition.json, the metric they measure).
RECOGNITION_PROBES = (("probes", "rank1"), ("probes_mtcnn", "rank1_mtcnn"))


def tolerances() -> dict[str, float]:
    """The gated metrics' tolerances, as the baseline file records them."""
    return {k: float(m.tolerance) for k, m in gated().items() if m.tolerance is not None}


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


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def collect(root: Path) -> dict[str, float]:
    """The gated numbers of a finished pipeline under ``root``: per evaluated row and
    subset every gated image / set metric of the table, rank-1 per probe set (fixed
    and MTCNN crop), RCS map IoU, photo-mask IoU."""
    out: dict[str, float] = {}
    metrics = root / "metrics"
    per_subset = [m.key for m in of_kind("set", "image") if m.tolerance is not None]
    for f in sorted(metrics.rglob("*.json")):
        d = read_json(f)
        name = f.relative_to(metrics).with_suffix("").as_posix()  # fss/seed0, photo, ...
        if not isinstance(d, dict) or name.startswith("train/"):
            continue
        for subset, m in (d.get("subsets") or {}).items():
            for k in per_subset:
                if isinstance(m, dict) and _num(m.get(k)) is not None:
                    out[f"{name}.{subset}.{k}"] = round(float(m[k]), 4)
    rec = metrics / "recognition.json"
    if rec.is_file():
        d = read_json(rec)
        for field, key in RECOGNITION_PROBES:
            for probe, accs in (d.get(field) or {}).items():
                for subset, v in accs.items():
                    if _num(v) is not None:  # not the *_ci intervals
                        out[f"recognition.{probe}.{subset}.{key}"] = float(v)
    rcs = metrics / "pretrain_rcs.json"
    if rcs.is_file():
        d = read_json(rcs)
        for k in ("test_face_iou", "test_hair_iou"):
            if _num(d.get(k)) is not None:
                out[f"pretrain_rcs.{k}"] = round(float(d[k]), 4)
    masks = root / "data" / "masks" / "metrics.json"
    mask_iou = _num(read_json(masks).get("mean_iou")) if masks.is_file() else None
    if mask_iou is not None:
        out["masks.mean_iou"] = mask_iou
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


def report(worse: list[Change], better: list[Change], baseline_path: Path) -> str:
    lines = []
    if worse:
        lines.append(f"metric regression against {baseline_path} ({len(worse)}):")
        lines += [c.line() for c in worse]
    if better:
        lines.append(f"better than {baseline_path} beyond tolerance ({len(better)}); "
                     "update the baseline if intended (fss gate update):")
        lines += [c.line() for c in better]
    if not lines:
        lines.append(f"metrics within tolerance of {baseline_path}")
    return "\n".join(lines)


def write_baseline(current: dict[str, float], path: Path, profile: str) -> None:
    from fss.errors import UserError
    from fss.io import write_json

    if not current:
        raise UserError("no metrics found under metrics/ (run the pipeline first)")
    write_json(path, {"profile": profile, "tolerances": tolerances(), "metrics": current})


def read_json(path: Path) -> Any:
    """A metrics or baseline file; unreadable or not JSON is one line naming it."""
    from fss.errors import UserError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None


def read_baseline(path: Path) -> dict[str, float]:
    from fss.errors import UserError

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no baseline (create it with: fss gate update)")
    d = read_json(path)
    metrics = d.get("metrics") if isinstance(d, dict) else None
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: malformed baseline: expected {{\"metrics\": {{name: number}}}}"
                        " (rewrite it with: fss gate update)")
    bad = [k for k, v in metrics.items() if _num(v) is None or not math.isfinite(v)]
    if bad:
        raise UserError(f"{path}: malformed baseline: metrics.{bad[0]} = {metrics[bad[0]]!r} "
                        "is not a finite number")
    return {k: float(v) for k, v in metrics.items()}
