"""MLflow tracking: one run per trained (row, seed) holding everything about that
model: flattened params, per-epoch losses, final metrics, sample grids, the generator
as a pyfunc model (``fss.inference.mlflow_model``) and, written by the evaluate stage
into the same run, the test metrics per subset (``fid.cuhk``, ``ssim.ar``, ...). The
reference rows (grayscale photo, mean sketch, the real-sketch floor) are runs of their
own, tagged ``reference``. Local sqlite store by default (``sqlite:///mlflow.db`` in
the working directory); ``MLFLOW_TRACKING_URI`` wins.

Every run carries the ``pid`` and ``host`` of the process writing it, so a stage can
tell a run left RUNNING by a killed process (closed as KILLED) from one another
process is still writing (left alone)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
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


def _interrupted() -> bool:
    """Whether the exception now propagating (the caller is in a ``finally``) is an
    interruption: Ctrl-C, or SIGTERM once ``interrupt_on_sigterm`` is in place."""
    return isinstance(sys.exc_info()[1], KeyboardInterrupt)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def interrupt_on_sigterm() -> None:
    """Let SIGTERM (a CI timeout, ``kill``, torchrun stopping its workers) unwind the
    stack like Ctrl-C, so ``finally`` blocks run and the MLflow run ends KILLED instead
    of staying RUNNING. Only where SIGTERM still has its default action, in the main
    thread. (SIGKILL cannot be caught: the next stage closes such a run.)"""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_interrupt)


class Tracker:
    """A thin handle on one MLflow run; ``run_id`` continues an earlier run (resume).
    ``on_finish(tracker)`` runs when the run ends FINISHED, while it is still open (the
    training stage logs the model there); an interrupted run ends KILLED."""

    def __init__(self, run_name: str, params: dict[str, Any], tags: dict[str, str],
                 run_id: str | None = None,
                 on_finish: Callable[[Tracker], None] | None = None):
        import mlflow

        self._mlflow = mlflow
        self._on_finish = on_finish
        interrupt_on_sigterm()
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
        if status == "FINISHED" and self._on_finish is not None:
            try:
                self._on_finish(self)
            except BaseException:
                self._mlflow.end_run(status="KILLED" if _interrupted() else "FAILED")
                raise
        elif status != "FINISHED" and _interrupted():
            status = "KILLED"
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


def evaluation_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """An evaluation's numbers (``metrics/<row>/...json``) as MLflow metrics named
    ``<metric>.<subset>``: ``fid.cuhk``, ``ssim.ar``, ``lpips.all``, so the runs table
    sorts rows by one subset's FID. The intervals stay in the JSON (logged beside)."""
    out = {}
    groups = [*(metrics.get("subsets") or {}).items(), ("all", metrics.get("all") or {})]
    for subset, values in groups:
        for k, v in values.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[f"{k}.{subset}"] = float(v)
    return out


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri())


def run_exists(run_id: str) -> bool:
    try:
        _client().get_run(run_id)
    except _store_errors() as e:
        if getattr(e, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise TrackingError(f"MLflow store {tracking_uri()}: {_first_line(e)}") from None
    return True


def log_to_run(run_id: str, metrics: dict[str, float], files: list[tuple[Path, str]],
               steps: list[tuple[int, dict[str, float]]] = ()) -> None:
    """Add ``metrics`` (at step 0), ``steps`` ((step, metrics) each: a curve) and
    ``files`` (path, artifact folder) to a run that may have ended, without reopening
    it: its status stays what training left."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    try:
        client = _client()
        items = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        items += [Metric(k, float(v), now, int(step)) for step, ms in steps
                  for k, v in ms.items()]
        for i in range(0, len(items), 1000):  # the store's batch limit
            client.log_batch(run_id, metrics=items[i:i + 1000])
        for path, folder in files:
            client.log_artifact(run_id, str(path), folder)
    except (*_store_errors(), OSError) as e:
        raise TrackingError(f"MLflow store {tracking_uri()}: {_first_line(e)}") from None


def read_curves(curves_csv: Path) -> list[tuple[int, dict[str, float]]]:
    """(epoch, numbers) per row of a training curves CSV (``plots/train/...csv``)."""
    import csv

    out = []
    with open(curves_csv, newline="") as f:
        for row in csv.DictReader(f):
            values = {}
            for k, v in row.items():
                try:
                    values[k] = float(v)
                except (TypeError, ValueError):
                    continue
            epoch = int(values.pop("epoch"))
            values.pop("seconds", None)
            out.append((epoch, values))
    return out


RUN_ID_KEY = "mlflow_run_id"  # TrainingSummary.mlflow_run_id: the model's run


def recorded_run_id(metrics_json: Path) -> str | None:
    """The training run a training metrics file names, if any."""
    try:
        d = json.loads(metrics_json.read_text())
    except (OSError, ValueError):
        return None
    v = d.get(RUN_ID_KEY) if isinstance(d, dict) else None
    return v if isinstance(v, str) and v else None


def finish_training_run(generator: Path, metrics_json: Path | None
                        ) -> Callable[[Tracker], None]:
    """What a training run does as it ends FINISHED: log the generator as its pyfunc
    model and (``metrics_json``) record its id in the training metrics, where the
    evaluate stage finds the run to add the test metrics to."""
    def finish(t: Tracker) -> None:
        from dataclasses import replace

        from fss.evaluation.results import read_training, write_record
        from fss.inference.mlflow_model import log_sketch_model

        log_sketch_model(generator)
        if metrics_json is not None:
            write_record(metrics_json, replace(read_training(metrics_json),
                                                 mlflow_run_id=t.run_id))
    return finish


def training_run(run_name: str, params: dict[str, Any], tags: dict[str, str],
                 model_dir: Path, curves_csv: Path, metrics_json: Path) -> tuple[str, bool]:
    """(run id, made now) of the MLflow run of a trained model: the run its training
    metrics record, when this store has it. Otherwise (it was trained against another
    store, or DVC restored it from its cache) a run is made now from what training left,
    so the model still has one run: params, the per-epoch curves, the sample grids,
    the summary and the model; tagged ``adopted``."""
    run_id = recorded_run_id(metrics_json)
    if run_id is not None and run_exists(run_id):
        return run_id, False
    t = Tracker(run_name, params, {**tags, "adopted": "true"},
                on_finish=finish_training_run(model_dir / "generator.pt", None))
    try:
        if curves_csv.is_file():
            for epoch, values in read_curves(curves_csv):
                t.log_metrics(values, step=epoch)
        for grid in sorted((model_dir / "samples").glob("epoch_*.png")):
            t.log_artifact(grid, "samples")
        if metrics_json.is_file():
            from fss.evaluation.results import read_training

            summary = read_training(metrics_json).flat()
            t.log_metrics({k: v for k, v in summary.items()
                           if isinstance(v, int | float) and not isinstance(v, bool)})
    except BaseException:
        t.end("FAILED")
        raise
    t.end()
    return t.run_id, True


def model_run(row: str, seed: int, params: dict[str, Any], profile: str, paths: Any
              ) -> tuple[str, bool]:
    """(run id, made now) of the training run of ``row`` / ``seed``, for the stages that
    log into a trained model's run after training (evaluate, curve): found through the
    id its training metrics record, or adopted from its files (``training_run``) under
    ``paths`` (``fss.paths.PathsParams``), with the same tags either way."""
    from fss.runs import run_name

    name = run_name(row, seed)
    tags = {"row": row, "seed": str(seed), "profile": profile, "git_commit": git_commit(),
            "dvc_exp": os.environ.get("DVC_EXP_NAME", ""), "stage": "train"}
    return training_run(f"train-{row}-seed{seed}", params, tags, paths.model_dir(name),
                        paths.train_plot(name), paths.train_metrics_file(name))


def reference_run(row: str, params: dict[str, Any], tags: dict[str, str],
                  metrics: dict[str, Any], metrics_file: Path) -> str:
    """A reference row (grayscale photo, mean sketch, real-sketch floor) as a run of its
    own, tagged ``reference``, with the same metric names as the trained rows'."""
    t = Tracker(f"reference-{row}", params, {**tags, "row": row, "reference": "true"})
    try:
        t.log_metrics(evaluation_metrics(metrics))
        t.log_artifact(metrics_file, "evaluation")
    except BaseException:
        t.end("FAILED")
        raise
    t.end()
    return t.run_id
