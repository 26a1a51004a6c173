"""Stage curve@<row>-<seed>: score every generator snapshot of one trained run (its
model folder's snapshots/, train.snapshot_every) on the test set with the evaluation as
it is -> paths.curves/<profile>/<row>/seed<k>.json, paths.curve_plots/<same>.csv (DVC
plots) and MLflow step metrics (budget.<metric>.<subset>) in the run's training run. A
run without snapshots gets an empty curve."""

import typer

from fss.device import resolve_device
from fss.errors import one_line_errors
from fss.evaluation.curves import curve_table, mlflow_steps, score_snapshots, snapshot_scorer
from fss.evaluation.evaluate import Evaluation
from fss.interrupted import clear_leftovers
from fss.io import write_csv_rows, write_json
from fss.params import read_params
from fss.runs import run_name
from fss.training.loop import snapshot_iterations


@one_line_errors
def main(row: str = typer.Argument(..., help="An ablation row of curves.rows (cut, mask, "
                                            "fss, ...)."),
         seed: int = typer.Option(0, help="Which training run of the row (train.seeds)."),
         track: bool = typer.Option(True, help="Log the curve to the run's MLflow run.")
         ) -> None:
    params = read_params()
    paths, profile = params.paths, params.meta.profile
    name = run_name(row, seed)
    out_json, out_csv = paths.curve_file(profile, name), paths.curve_plot(profile, name)
    clear_leftovers(f"curve {name}", [out_json.parent, out_csv.parent])
    snapshots = snapshot_iterations(paths.model_dir(name))
    points = []
    if snapshots:
        evaluation = Evaluation.load(paths, params.evaluate, resolve_device(params.base.device))
        score = snapshot_scorer(evaluation, paths.masks)
        points = score_snapshots(snapshots, score,
                                 lambda line: print(f"curve {name}: {line}", flush=True))
    curve = {"row": row, "seed": seed, "profile": profile, "image_size": params.align.size,
             "snapshot_every": params.train.snapshot_every, "points": points}
    write_json(out_json, curve)
    write_csv_rows(out_csv, curve_table(points), first="iteration")
    if track and points:
        log_curve(row, seed, profile, params.raw, points, out_json, paths)
    print(f"curve {name}: {len(points)} snapshot(s)" + (
        "; FID (all) " + ", ".join(f"{q['iteration']}: {q['all'].get('fid')}" for q in points)
        if points else f" (train.snapshot_every = {params.train.snapshot_every})"))


def log_curve(row, seed, profile, raw_params, points, curve_file, paths) -> None:
    """The curve as step metrics of the row's training run (found, or adopted from the
    files, as the evaluate stage does)."""
    from fss.tracking import log_to_run, model_run

    run_id, _ = model_run(row, seed, raw_params, profile, paths)
    log_to_run(run_id, {}, [(curve_file, "curve")], steps=mlflow_steps(points))


if __name__ == "__main__":
    typer.run(main)
