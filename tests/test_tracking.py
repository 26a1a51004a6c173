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
