"""Stage train@<row>-<seed>: one ablation row or baseline, one seed -> its folder under
paths.models, curves (paths.train_plots), metrics (paths.train_metrics). Runs under
torchrun too (one process per GPU)."""

import os

import typer

from fss.errors import one_line_errors
from fss.interrupted import clear_leftovers
from fss.params import read_params
from fss.runs import run_name
from fss.training.config import training_config
from fss.training.dataset import load_pairs
from fss.training.loop import train_row


@one_line_errors
def main(
    row: str = typer.Argument(..., help="Row name from params.yaml 'rows' (cut, fss, ...)."),
    seed: int = typer.Option(0, help="Training seed (one of train.seeds): weights, data "
                                     "order, flips and patch draws."),
    resume: bool = typer.Option(True, help="Continue from the run's latest.pt (in its folder "
                                           "under paths.models) when its settings match; "
                                           "--no-resume starts anew."),
    track: bool = typer.Option(True, help="Log the run to MLflow."),
) -> None:
    params = read_params()
    paths = params.paths
    cfg = training_config(params, row, seed)
    name = run_name(row, seed)
    out, metrics_json = paths.model_dir(name), paths.train_metrics_file(name)
    if os.environ.get("RANK", "0") == "0":
        clear_leftovers(f"train {name}", [out, paths.train_plots / row,
                                          paths.train_metrics / row],
                        (row, "train", seed) if track else None)
    maps = paths.rcs_maps if paths.rcs_maps.is_dir() else None
    data = load_pairs(paths.splits, "train", paths.masks, maps)
    from fss.tracking import git_commit

    # The model file carries these, so `fss sketch` needs nothing else.
    model_meta = {"align": params.align, "masks": params.masks,
                  "profile": params.meta.profile, "git_commit": git_commit()}
    tracker = None
    if track:
        from fss.tracking import Tracker

        tags = {"row": row, "seed": str(seed),
                "profile": params.meta.profile,
                "git_commit": model_meta["git_commit"],
                "dvc_exp": os.environ.get("DVC_EXP_NAME", ""),
                "image_size": str(data.size), "stage": "train"}

        from fss.tracking import finish_training_run

        # Ending FINISHED, the run logs the generator as its pyfunc model and the
        # training metrics record its id (the evaluate stage logs into it).
        finish = finish_training_run(out / "generator.pt", metrics_json)

        def tracker(run_id: str | None) -> Tracker:
            return Tracker(f"train-{row}-seed{seed}", params.raw, tags, run_id,
                           on_finish=finish)

    s = train_row(cfg, data, out, paths.train_plot(name), metrics_json,
                  resume=resume, tracker=tracker, model_meta=model_meta)
    if os.environ.get("RANK", "0") != "0":  # under torchrun: one summary line, rank 0's
        return
    print(f"train {name}: {s['epochs']} epochs, L1 {s['l1_first_epoch']} -> {s['l1_last_epoch']}, "
          f"{s['seconds_per_iter']} s/iter")


if __name__ == "__main__":
    typer.run(main)
