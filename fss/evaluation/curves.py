"""Budget curves: every generator snapshot of a run (``train.snapshot_every``) scored on
the test set with the evaluation as it is (``evaluate_results``), so a reader sees FID,
SSIM, LPIPS, DISTS... against training iterations. The tables keep reporting the final
model (the evaluate stage); no snapshot is ever chosen by a test metric.

A curve is ``{"row", "seed", "profile", "image_size", "points": [point, ...]}`` with a
point per snapshot, ``{"iteration": n, "subsets": {subset: {metric: mean}}, "all":
{...}}``: the evaluation's means only (its intervals describe one image set, and a
curve's points are compared along the curve, not with each other's spread)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from fss.published import SUBSETS
from fss.tracking import evaluation_metrics

if TYPE_CHECKING:
    from fss.evaluation.evaluate import Evaluation


@dataclass(frozen=True)
class CurveParams:
    # ablation rows whose every snapshot is scored (per train.seeds)
    rows: Annotated[tuple[str, ...], Field(min_length=1)] = ("cut", "mask", "fss")

# The MLflow key of a curve point: ``budget.fid.cuhk`` at step = iterations, beside the
# final model's ``fid.cuhk`` (a point is named as an evaluation is:
# fss.tracking.evaluation_metrics).
MLFLOW_PREFIX = "budget."


def _means(values: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "n"}


def curve_point(iteration: int, evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """One point of a curve from one evaluation (``evaluate_results``' dict)."""
    return {"iteration": int(iteration),
            "subsets": {s: _means(v) for s, v in (evaluation.get("subsets") or {}).items()},
            "all": _means(evaluation.get("all") or {})}


def score_snapshots(snapshots: Mapping[int, Path], score: Callable[[Path], Mapping[str, Any]],
                    progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """A point per snapshot, in iteration order; ``score(model file)`` is one evaluation."""
    points = []
    for i, (n, path) in enumerate(sorted(snapshots.items())):
        if progress is not None:
            progress(f"snapshot {i + 1}/{len(snapshots)}: {n} iterations")
        points.append(curve_point(n, score(path)))
    return points


def curve_table(points: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The curve as CSV rows for DVC plots: ``iteration`` then ``<metric>.<subset>``
    columns in a fixed order (subsets as the paper orders them, then all)."""
    order = {s: i for i, s in enumerate([*SUBSETS, "all"])}
    rows = []
    for p in points:
        flat = evaluation_metrics(p)
        cols = sorted(flat, key=lambda k: (k.split(".", 1)[0],
                                           order.get(k.split(".", 1)[1], len(order))))
        rows.append({"iteration": p["iteration"], **{k: flat[k] for k in cols}})
    return rows


def mlflow_steps(points: list[Mapping[str, Any]]) -> list[tuple[int, dict[str, float]]]:
    """(step, metrics) per point for MLflow: ``budget.<metric>.<subset>`` at step =
    iterations, so the run's chart view draws each against training iterations."""
    return [(int(p["iteration"]),
             {MLFLOW_PREFIX + k: v for k, v in evaluation_metrics(p).items()})
            for p in points]


def snapshot_scorer(evaluation: Evaluation, masks_dir: Path) -> Callable[[Path], dict[str, Any]]:
    """``score(model file)``: synthesize the test photos into a temporary folder, then
    the evaluation as the evaluate stage runs it (the same models, loaded once)."""
    from fss.evaluation.evaluate import synthesize

    def score(model: Path) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="fss-curve-") as tmp:
            out = Path(tmp) / "sketches"  # atomic_dir makes it beside its temp twin
            synthesize(model, evaluation.pairs, masks_dir, out, evaluation.device)
            return evaluation.score(out)

    return score
