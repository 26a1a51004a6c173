"""Stage evaluate@<row>-<seed>: synthesize the test photos with one trained run (or make
a trivial reference), then FID / KID and the per-image metrics of fss.metrics.table
(SSIM, PSNR, FSIM, LPIPS, DISTS, ...) per subset with bootstrap intervals
-> results/<row>/seed<k>/ (references: results/<row>/), metrics/<same>.json, MLflow."""

import os
from pathlib import Path

import typer

from fss.device import resolve_device
from fss.errors import one_line_errors
from fss.evaluation.evaluate import (
    REFERENCES,
    evaluate_results,
    load_features,
    make_reference,
    read_test_pairs,
    synthesize,
)
from fss.interrupted import clear_leftovers
from fss.io import write_json
from fss.metrics.fid import load_inception
from fss.metrics.perceptual import PerceptualMetrics
from fss.metrics.table import METRICS
from fss.params import read_params
from fss.runs import run_name

SPLITS, MASKS, MAPS = Path("data/splits.csv"), Path("data/masks"), Path("data/rcs_maps")


@one_line_errors
def main(row: str = typer.Argument(..., help="A trained row (cut, ..., cyclegan) or a "
                                            "reference: photo, mean_sketch."),
         seed: int = typer.Option(0, help="Which training run of the row (train.seeds)."),
         track: bool = typer.Option(True, help="Log the metrics to MLflow.")) -> None:
    params = read_params()
    device = resolve_device(params.base.device)
    # It logs into the training run of the row and seed (a reference: its own run).
    trained = row not in REFERENCES
    clear_leftovers(f"evaluate {row}", [Path("metrics") / row],
                    (row, "train" if trained else "evaluate", seed if trained else None)
                    if track else None)
    pairs = read_test_pairs(SPLITS)
    if row in REFERENCES:
        name = row
        results = Path("results") / name
        make_reference(row, pairs, SPLITS, results)
        kind = "reference"
    else:
        name = run_name(row, seed)
        results = Path("results") / name
        synthesize(Path("models") / name / "generator.pt", pairs, MASKS, results, device)
        kind = "trained"
    p = params.evaluate
    perceptual = (PerceptualMetrics(p.perceptual, device, p.batch_size) if p.perceptual
                  else None)
    m = evaluate_results(results, pairs, load_features(Path("data/fid_features")),
                         load_inception(device), MAPS if MAPS.is_dir() else None, device, p,
                         scores_csv=results / "scores.csv", perceptual=perceptual)
    profile = params.meta.profile
    metrics = {"row": row, "seed": seed if kind == "trained" else None, "kind": kind,
               "profile": profile, "image_size": params.align.size,
               "epochs": params.train.epochs if kind == "trained" else None, **m}
    out = Path("metrics") / f"{name}.json"
    write_json(out, metrics)
    if track:
        log_to_mlflow(row, seed, kind, profile, params.raw, metrics, out)
    print(f"evaluate {row}: " + "; ".join(
        f"{s} " + ", ".join(f"{METRICS[k].short} {v[k]}" for k in METRICS if k in v)
        for s, v in m["subsets"].items()))


def log_to_mlflow(row: str, seed: int, kind: str, profile: str, params: dict, metrics: dict,
                  metrics_file: Path) -> None:
    from fss.tracking import Tracker, find_run, git_commit

    flat = {f"test_{s}_{k}": v for s, d in metrics["subsets"].items() for k, v in d.items()
            if isinstance(v, int | float)}
    flat |= {f"test_all_{k}": v for k, v in metrics["all"].items() if isinstance(v, int | float)}
    run_id = find_run(row, seed=seed) if kind == "trained" else None
    tags = {"row": row, "profile": profile, "git_commit": git_commit(), "stage": "evaluate",
            "dvc_exp": os.environ.get("DVC_EXP_NAME", "")}
    if kind == "trained":
        tags["seed"] = str(seed)
    t = Tracker(f"evaluate-{row}" + (f"-seed{seed}" if kind == "trained" else ""), params,
                tags, run_id)
    t.log_metrics(flat)
    t.log_artifact(metrics_file, "evaluation")
    t.end()


if __name__ == "__main__":
    typer.run(main)
