"""Stage train@<row>: one ablation row or baseline -> models/<row>/, curves, metrics."""

import os
from pathlib import Path

import typer

from fss.config import load_params
from fss.errors import one_line_errors
from fss.training.config import training_config
from fss.training.dataset import load_pairs
from fss.training.loop import train_row

MAPS = Path("data/rcs_maps")


@one_line_errors
def main(
    row: str = typer.Argument(..., help="Row name from params.yaml 'rows' (cut, fss, ...)."),
    resume: bool = typer.Option(True, help="Continue from models/<row>/latest.pt when its "
                                           "settings match; --no-resume starts anew."),
    track: bool = typer.Option(True, help="Log the run to MLflow."),
) -> None:
    params = load_params()
    cfg = training_config(params, row)
    data = load_pairs(Path("data/splits.csv"), "train", Path("data/masks"),
                      MAPS if MAPS.is_dir() else None)
    tracker = None
    if track:
        from fss.tracking import Tracker, git_commit

        tags = {"row": row, "profile": str(params.get("meta", {}).get("profile", "")),
                "git_commit": git_commit(), "dvc_exp": os.environ.get("DVC_EXP_NAME", ""),
                "image_size": str(data.photos.shape[-1]), "stage": "train"}

        def tracker(run_id: str | None) -> Tracker:
            return Tracker(f"train-{row}", params, tags, run_id)

    s = train_row(cfg, data, Path("models") / row, Path("plots/train") / f"{row}.csv",
                  Path("metrics/train") / f"{row}.json", resume=resume, tracker=tracker)
    print(f"train {row}: {s['epochs']} epochs, L1 {s['l1_first_epoch']} -> {s['l1_last_epoch']}, "
          f"{s['seconds_per_iter']} s/iter")


if __name__ == "__main__":
    typer.run(main)
