"""MLflow tracking: one run per training row with flattened params, per-epoch
losses, final metrics, sample grids and tags. Local sqlite store by default
(``sqlite:///mlflow.db`` in the working directory); ``MLFLOW_TRACKING_URI`` wins.

Every run carries the ``pid`` and ``host`` of the process writing it, so a stage can
tell a run left RUNNING by a killed process (closed as KILLED) from one another
process is still writing (left alone)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from fss.io import pid_alive

EXPERIMENT = "fss"


class TrackingError(RuntimeError):
    """The MLflow store cannot be used; the message says which store and why."""


def _store_errors() -> tuple[type[BaseException], ...]:
    """What a damaged or unreachable store raises: MLflow's own errors, and the
    database's (a truncated sqlite file fails in SQLAlchemy while the store is opened,
    before MLflow wraps anything)."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return (MlflowException, SQLAlchemyError)


def owner_tags() -> dict[str, str]:
    """Who writes a run now: this process on this host."""
    return {"pid": str(os.getpid()), "host": socket.gethostname()}


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
        uri = tracking_uri()
        try:
            mlflow.set_tracking_uri(uri)
            if mlflow.get_experiment_by_name(EXPERIMENT) is None:
                # Artifacts beside a local sqlite store, not in whatever the cwd is.
                location = (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri() \
                    if uri.startswith("sqlite:///") else None
                mlflow.create_experiment(EXPERIMENT, artifact_location=location)
            mlflow.set_experiment(EXPERIMENT)
            if run_id is not None and not self._resume(run_id):
                run_id = None
            if run_id is None:
                self.run = mlflow.start_run(run_name=run_name, tags={**tags, **owner_tags()})
                mlflow.log_params(flatten(params))
        except _store_errors() as e:
            raise TrackingError(f"MLflow store {uri}: {_first_line(e)}") from None
        self.run_id = self.run.info.run_id

    def _resume(self, run_id: str) -> bool:
        """Continue ``run_id``, now owned by this process; False (said on stderr) when
        the store no longer has it (reset or deleted): the caller starts a new run."""
        from mlflow.exceptions import MlflowException

        try:
            self.run = self._mlflow.start_run(run_id=run_id)
        except MlflowException as e:
            if e.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            print(f"warning: MLflow run {run_id} (from the checkpoint) is not in the store "
                  f"{tracking_uri()}: {_first_line(e)}; starting a new run", file=sys.stderr)
            return False
        self._mlflow.set_tags(owner_tags())
        return True

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        try:
            self._mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)
        except _store_errors() as e:
            raise TrackingError(f"MLflow store {tracking_uri()}: {_first_line(e)}") from None

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        try:
            self._mlflow.log_artifact(str(path), artifact_path=folder)
        except (*_store_errors(), OSError) as e:
            raise TrackingError(f"MLflow store {tracking_uri()}: {_first_line(e)}") from None

    def end(self, status: str = "FINISHED") -> None:
        self._mlflow.end_run(status=status)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else e.__class__.__name__


def close_stale_runs(row: str, stage: str, seed: int | None = None) -> list[str]:
    """Close as KILLED the runs of ``row``'s ``stage`` (and ``seed``) left RUNNING by a
    process of this host that is no longer alive (a killed stage never ends its run).
    A run whose process still lives, or that another host writes, is left alone.
    Returns one line per run closed, for the stage to print."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri()
    host = socket.gethostname()
    where = (f"tags.row = '{row}' and tags.stage = '{stage}' "
             "and attributes.status = 'RUNNING'")
    if seed is not None:
        where += f" and tags.seed = '{seed}'"
    closed = []
    try:
        client = MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name(EXPERIMENT)
        if exp is None:
            return []
        for run in client.search_runs([exp.experiment_id], filter_string=where):
            pid, run_host = run.data.tags.get("pid", ""), run.data.tags.get("host")
            if run_host != host or not pid.isdigit() or pid_alive(int(pid)):
                continue
            client.set_terminated(run.info.run_id, status="KILLED")
            closed.append(f"MLflow run {run.info.run_id} was left RUNNING by process {pid} "
                          f"on {host}, which is gone: closed as KILLED")
    except _store_errors() as e:
        raise TrackingError(f"MLflow store {uri}: {_first_line(e)}") from None
    return closed


def find_run(row: str, stage: str = "train", seed: int | None = None) -> str | None:
    """The newest MLflow run of ``row``'s ``stage`` in the store, so evaluation lands
    its metrics beside that row's training curves."""
    import mlflow

    uri = tracking_uri()
    where = f"tags.row = '{row}' and tags.stage = '{stage}'"
    if seed is not None:
        where += f" and tags.seed = '{seed}'"
    try:
        mlflow.set_tracking_uri(uri)
        exp = mlflow.get_experiment_by_name(EXPERIMENT)
        if exp is None:
            return None
        runs = mlflow.search_runs([exp.experiment_id], output_format="list", max_results=1,
                                  filter_string=where,
                                  order_by=["attributes.start_time DESC"])
    except _store_errors() as e:
        raise TrackingError(f"MLflow store {uri}: {_first_line(e)}") from None
    return runs[0].info.run_id if runs else None
