"""Stage evaluate@<row>-<seed>: synthesize the test photos with one trained run (or make
a trivial reference), then FID / KID and the per-image metrics of fss.metrics.table
(SSIM, PSNR, FSIM, LPIPS, DISTS, ...) per subset with bootstrap intervals
-> paths.results/<row>/seed<k>/ (references: <row>/), paths.metrics/<same>.json, MLflow."""

import os
from pathlib import Path

import typer

from fss.device import resolve_device
from fss.errors import one_line_errors
from fss.evaluation.evaluate import (
    REFERENCES,
    Evaluation,
    make_reference,
    read_test_pairs,
    synthesize,
)
from fss.evaluation.results import EvaluationRecord, write_record
from fss.interrupted import clear_leftovers
from fss.metrics.table import METRICS
from fss.params import read_params
from fss.paths import PathsParams
from fss.runs import run_name


@one_line_errors
def main(row: str = typer.Argument(..., help="A trained row (cut, ..., cyclegan) or a "
                                            "reference: photo, mean_sketch."),
         seed: int = typer.Option(0, help="Which training run of the row (train.seeds)."),
         track: bool = typer.Option(True, help="Log the metrics to MLflow.")) -> None:
    params = read_params()
    paths = params.paths
    device = resolve_device(params.base.device)
    # It logs into the training run of the row and seed (a reference: its own run).
    trained = row not in REFERENCES
    clear_leftovers(f"evaluate {row}", [paths.metrics / row],
                    (row, "train" if trained else "evaluate", seed if trained else None)
                    if track else None)
    pairs = read_test_pairs(paths.splits)
    name = run_name(row, seed) if trained else row
    results = paths.results_dir(name)
    if trained:
        synthesize(paths.model_dir(name) / "generator.pt", pairs, paths.masks, results,
                   device)
        kind = "trained"
    else:
        make_reference(row, pairs, paths.splits, results)
        kind = "reference"
    # the scoring models after synthesis: a missing generator fails before any is loaded
    evaluation = Evaluation.load(paths, params.evaluate, device, pairs)
    m = evaluation.score(results, scores_csv=results / "scores.csv")
    profile = params.meta.profile
    record = EvaluationRecord.from_scores(
        row, kind, m, seed=seed if trained else None, profile=profile,
        image_size=params.align.size, epochs=params.train.epochs if trained else None)
    out = paths.metrics_file(name)
    write_record(out, record)
    if track:
        log_to_mlflow(row, seed, kind, profile, params.raw, record.flat(), out, paths)
    print(f"evaluate {row}: " + "; ".join(
        f"{s} " + ", ".join(f"{METRICS[k].short} {v[k]}" for k in METRICS if k in v)
        for s, v in m["subsets"].items()))


def log_to_mlflow(row: str, seed: int, kind: str, profile: str, params: dict, metrics: dict,
                  metrics_file: Path, paths: PathsParams) -> None:
    """A trained row's test metrics into its training run (found through the run id
    the training metrics record); a reference row as a run of its own."""
    from fss.tracking import evaluation_metrics, git_commit, log_to_run, model_run, reference_run

    if kind != "trained":
        tags = {"row": row, "profile": profile, "git_commit": git_commit(),
                "dvc_exp": os.environ.get("DVC_EXP_NAME", ""), "stage": "evaluate"}
        reference_run(row, params, tags, metrics, metrics_file)
        return
    run_id, made = model_run(row, seed, params, profile, paths)
    if made:
        print(f"evaluate {row}: no MLflow run of this model in the store (trained "
              f"elsewhere or restored by DVC): made run {run_id} from its files")
    log_to_run(run_id, evaluation_metrics(metrics), [(metrics_file, "evaluation")])


if __name__ == "__main__":
    typer.run(main)
