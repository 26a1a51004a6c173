"""CI's metric-regression gate: the pipeline's metrics flattened to named numbers,
compared with a committed baseline under per-metric tolerances, in the direction
that counts as worse (FID up, SSIM/PSNR/accuracy/IoU down)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Tolerances for a deterministic CPU run: small, but above the float noise that
# another thread count or BLAS build can leave in a GAN after a few iterations.
TOLERANCES = {"fid": 2.0, "ssim": 0.01, "psnr": 0.2, "rank1": 0.0, "iou": 0.01}
LOWER_IS_BETTER = ("fid",)


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


def kind_of(name: str) -> str:
    last = name.rsplit(".", 1)[-1]
    for k in TOLERANCES:
        if last.startswith(k) or last.endswith(k):
            return k
    raise KeyError(name)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def collect(root: Path) -> dict[str, float]:
    """The gated numbers of a finished pipeline under ``root``: per evaluated row and
    subset FID/SSIM/PSNR, rank-1 per probe set, RCS map IoU, photo-mask IoU."""
    out: dict[str, float] = {}
    metrics = root / "metrics"
    for f in sorted(metrics.rglob("*.json")):
        d = json.loads(f.read_text())
        name = f.relative_to(metrics).with_suffix("").as_posix()  # fss/seed0, photo, ...
        if not isinstance(d, dict) or name.startswith("train/"):
            continue
        for subset, m in (d.get("subsets") or {}).items():
            for k in ("fid", "ssim", "psnr"):
                if isinstance(m, dict) and _num(m.get(k)) is not None:
                    out[f"{name}.{subset}.{k}"] = round(float(m[k]), 4)
    rec = metrics / "recognition.json"
    if rec.is_file():
        for probe, accs in json.loads(rec.read_text()).get("probes", {}).items():
            for subset, v in accs.items():
                if _num(v) is not None:  # not the *_ci intervals
                    out[f"recognition.{probe}.{subset}.rank1"] = float(v)
    rcs = metrics / "pretrain_rcs.json"
    if rcs.is_file():
        d = json.loads(rcs.read_text())
        for k in ("test_face_iou", "test_hair_iou"):
            if _num(d.get(k)) is not None:
                out[f"pretrain_rcs.{k}"] = round(float(d[k]), 4)
    masks = root / "data" / "masks" / "metrics.json"
    mask_iou = _num(json.loads(masks.read_text()).get("mean_iou")) if masks.is_file() else None
    if mask_iou is not None:
        out["masks.mean_iou"] = mask_iou
    return out


def compare(current: dict[str, float], baseline: dict[str, float]
            ) -> tuple[list[Change], list[Change]]:
    """(regressions, improvements) beyond tolerance; a metric missing now regresses."""
    worse, better = [], []
    for name, base in sorted(baseline.items()):
        kind = kind_of(name)
        tol = TOLERANCES[kind]
        cur = current.get(name)
        if cur is None:
            worse.append(Change(name, base, None, tol, True))
            continue
        d = cur - base
        if kind in LOWER_IS_BETTER:
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
    from fss.io import write_json

    if not current:
        raise ValueError("no metrics found under metrics/ (run the pipeline first)")
    write_json(path, {"profile": profile, "tolerances": TOLERANCES, "metrics": current})


def read_baseline(path: Path) -> dict[str, float]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no baseline (create it with: fss gate update)")
    return {k: float(v) for k, v in json.loads(path.read_text())["metrics"].items()}
