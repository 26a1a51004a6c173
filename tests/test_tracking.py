from test_training import _cfg, _data

from fss.tracking import Tracker, flatten, tracking_uri
from fss.training.config import RowParams


def test_flatten_nested_params():
    assert flatten({"loss": {"alpha": 100, "perceptual": {"weights": [1, 2]}}, "x": 1}) == {
        "loss.alpha": "100", "loss.perceptual.weights": "[1, 2]", "x": "1"}


def test_default_store_is_local_sqlite(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_training_run_lands_in_mlflow(monkeypatch, tmp_path):
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    params = {"loss": {"alpha": 100.0}, "meta": {"profile": "test"}}

    def tracker(run_id):
        return Tracker("train-r", params, {"row": "r", "profile": "test"}, run_id)

    cfg = _cfg(RowParams(model="pix2pix"))
    train_row_args = (cfg, _data(), tmp_path / "m", tmp_path / "c.csv", tmp_path / "s.json")
    from fss.training.loop import train_row

    train_row(*train_row_args, progress=False, tracker=tracker)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("fss")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["loss.alpha"] == "100.0" and run.data.tags["row"] == "r"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "L1")][:2] == [1, 2]
    assert "l1_last_epoch" in run.data.metrics
    arts = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
    assert arts == ["samples/epoch_0001.png", "samples/epoch_0002.png"]
    mlflow.set_tracking_uri(None)


def _store(monkeypatch, tmp_path, name="store.db"):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / name}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return MlflowClient(tracking_uri=uri)


def _runs(client):
    exp = client.get_experiment_by_name("fss")
    return client.search_runs([exp.experiment_id]) if exp else []


EVALUATION = {"row": "r", "subsets": {"cuhk": {"n": 3, "fid": 150.5, "ssim": 0.6,
                                               "ssim_ci": [0.5, 0.7]},
                                      "ar": {"n": 2, "fid": 140.0, "ssim": 0.65}},
              "all": {"n": 5, "fid": 120.0, "ssim": 0.62}}


def test_evaluation_metrics_are_named_metric_dot_subset():
    from fss.tracking import evaluation_metrics

    assert evaluation_metrics(EVALUATION) == {
        "n.cuhk": 3.0, "fid.cuhk": 150.5, "ssim.cuhk": 0.6, "n.ar": 2.0, "fid.ar": 140.0,
        "ssim.ar": 0.65, "n.all": 5.0, "fid.all": 120.0, "ssim.all": 0.62}


def test_one_run_per_model_with_its_model_and_test_metrics(monkeypatch, tmp_path):
    """Training logs the pyfunc model and records the run id; evaluation's metrics land
    in that same run, which stays FINISHED; no second run appears."""
    import json

    import mlflow

    from fss.tracking import (
        evaluation_metrics,
        finish_training_run,
        log_to_run,
        recorded_run_id,
        training_run,
    )
    from fss.training.loop import train_row

    client = _store(monkeypatch, tmp_path)
    out, metrics_json, curves = tmp_path / "m", tmp_path / "s.json", tmp_path / "c.csv"

    def tracker(run_id):
        return Tracker("train-r-seed3", {"a": 1}, {"row": "r", "seed": "3", "stage": "train"},
                       run_id, on_finish=finish_training_run(out / "generator.pt", metrics_json))

    train_row(_cfg(RowParams(model="pix2pix")), _data(), out, curves, metrics_json,
              progress=False, tracker=tracker)
    (run,) = _runs(client)
    rid = run.info.run_id
    assert recorded_run_id(metrics_json) == rid
    assert json.loads(metrics_json.read_text())["l1_last_epoch"] > 0   # summary kept
    from fss.evaluation.results import read_training

    assert read_training(metrics_json).mlflow_run_id == rid           # a record still
    models = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id],
                                         output_format="list")
    assert [m.source_run_id for m in models] == [rid] and models[0].name == "model"
    local = mlflow.artifacts.download_artifacts(f"runs:/{rid}/model")
    assert (tmp_path / local / "artifacts" / "generator.pt").is_file()

    evaluated = tmp_path / "eval.json"
    evaluated.write_text(json.dumps(EVALUATION))
    assert training_run("train-r-seed3", {}, {}, out, curves, metrics_json) == (rid, False)
    log_to_run(rid, evaluation_metrics(EVALUATION), [(evaluated, "evaluation")])
    (run,) = _runs(client)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["fid.cuhk"] == 150.5 and run.data.metrics["ssim.ar"] == 0.65
    assert "L1" in run.data.metrics and len(client.get_metric_history(rid, "L1")) == 2
    assert [a.path for a in client.list_artifacts(rid, "evaluation")] == ["evaluation/eval.json"]
    mlflow.set_tracking_uri(None)


def test_a_model_trained_without_this_store_gets_one_run_from_its_files(monkeypatch, tmp_path):
    """DVC restored the model from its cache, or it was trained against another store:
    evaluation makes the model's run from the files training left."""
    import mlflow

    from fss.tracking import training_run
    from fss.training.loop import train_row

    out, metrics_json, curves = tmp_path / "m", tmp_path / "s.json", tmp_path / "c.csv"
    train_row(_cfg(RowParams(model="pix2pix")), _data(), out, curves, metrics_json,
              progress=False)
    client = _store(monkeypatch, tmp_path)
    rid, made = training_run("train-r-seed3", {"a": 1}, {"row": "r", "stage": "train"}, out,
                             curves, metrics_json)
    assert made
    (run,) = _runs(client)
    assert run.info.run_id == rid and run.info.status == "FINISHED"
    assert run.data.tags["adopted"] == "true" and run.data.tags["row"] == "r"
    assert [m.step for m in client.get_metric_history(rid, "L1")] == [1, 2]
    assert "l1_last_epoch" in run.data.metrics and run.data.params["a"] == "1"
    assert [a.path for a in client.list_artifacts(rid, "samples")] == [
        "samples/epoch_0001.png", "samples/epoch_0002.png"]
    (model,) = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id],
                                           output_format="list")
    assert model.source_run_id == rid
    mlflow.set_tracking_uri(None)


def test_reference_rows_are_runs_of_their_own(monkeypatch, tmp_path):
    import json

    import mlflow

    from fss.tracking import reference_run

    client = _store(monkeypatch, tmp_path)
    f = tmp_path / "photo.json"
    f.write_text(json.dumps(EVALUATION))
    rid = reference_run("photo", {"a": 1}, {"stage": "evaluate"}, EVALUATION, f)
    (run,) = _runs(client)
    assert run.info.run_id == rid and run.info.run_name == "reference-photo"
    assert run.data.tags["reference"] == "true" and run.data.tags["row"] == "photo"
    assert run.data.metrics["fid.cuhk"] == 150.5 and run.info.status == "FINISHED"
    mlflow.set_tracking_uri(None)


def test_an_interrupted_run_ends_killed_not_running(monkeypatch, tmp_path):
    """Ctrl-C, and SIGTERM (CI timeouts, kill) in a stage process, end the run KILLED."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import mlflow
    import pytest

    client = _store(monkeypatch, tmp_path)
    t = Tracker("train-r", {}, {"row": "r"})
    with pytest.raises(KeyboardInterrupt):
        try:
            raise KeyboardInterrupt
        finally:
            t.end("FAILED")   # what train_row's finally says; the interruption decides
    assert client.get_run(t.run_id).info.status == "KILLED"
    t = Tracker("train-r", {}, {"row": "r"})
    with pytest.raises(ValueError):
        try:
            raise ValueError("a real failure")
        finally:
            t.end("FAILED")
    assert client.get_run(t.run_id).info.status == "FAILED"

    code = ("import os, signal\nfrom fss.tracking import Tracker\n"
            "t = Tracker('train-r', {}, {'row': 'sigterm'})\n"
            "try:\n    os.kill(os.getpid(), signal.SIGTERM)\n    import time; time.sleep(30)\n"
            "finally:\n    t.end('FAILED')\n")
    repo = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(repo)}, cwd=tmp_path)
    assert r.returncode != 0 and "KeyboardInterrupt" in r.stderr, r.stderr
    (run,) = [x for x in _runs(client) if x.data.tags.get("row") == "sigterm"]
    assert run.info.status == "KILLED"
    mlflow.set_tracking_uri(None)
