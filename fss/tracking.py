"""MLflow tracking: one run per training row with flattened params, per-epoch
losses, final metrics, sample grids and tags. Local sqlite store by default
(``sqlite:///mlflow.db`` in the working directory); ``MLFLOW_TRACKING_URI`` wins."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

EXPERIMENT = "fss"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('mlflow.db').resolve()}"


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"loss": {"alpha": 100}}`` -> ``{"loss.alpha": "100"}``; lists as text."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = str(v)
    return out


def git_commit(root: str | Path = ".", mark_dirty: bool = False) -> str:
    """HEAD of the repository at ``root`` ('unknown' outside git); with ``mark_dirty``,
    marked when tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = mark_dirty and git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


class Tracker:
    """A thin handle on one MLflow run; ``run_id`` continues an earlier run (resume)."""

    def __init__(self, run_name: str, params: dict[str, Any], tags: dict[str, str],
                 run_id: str | None = None):
        import mlflow

        self._mlflow = mlflow
        mlflow.set_tracking_uri(tracking_uri())
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            uri = tracking_uri()
            # Artifacts beside a local sqlite store, not in whatever the cwd happens to be.
            location = (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri() \
                if uri.startswith("sqlite:///") else None
            mlflow.create_experiment(EXPERIMENT, artifact_location=location)
        mlflow.set_experiment(EXPERIMENT)
        if run_id is not None:
            try:
                self.run = mlflow.start_run(run_id=run_id)
            except Exception:  # the store was reset: start a new run instead
                run_id = None
        if run_id is None:
            self.run = mlflow.start_run(run_name=run_name, tags=tags)
            mlflow.log_params(flatten(params))
        self.run_id = self.run.info.run_id

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self._mlflow.log_artifact(str(path), artifact_path=folder)

    def end(self, status: str = "FINISHED") -> None:
        self._mlflow.end_run(status=status)


def find_run(row: str, stage: str = "train", seed: int | None = None) -> str | None:
    """The newest MLflow run of ``row``'s ``stage`` in the store, so evaluation lands
    its metrics beside that row's training curves."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    exp = mlflow.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return None
    where = f"tags.row = '{row}' and tags.stage = '{stage}'"
    if seed is not None:
        where += f" and tags.seed = '{seed}'"
    runs = mlflow.search_runs([exp.experiment_id], output_format="list", max_results=1,
                              filter_string=where,
                              order_by=["attributes.start_time DESC"])
    return runs[0].info.run_id if runs else None
