"""After a pipeline run (CI: `bash scripts/run.sh smoke`, then this file from .ci/run):
the MLflow store holds one run per trained (row, seed) with its training curves, its
model (which predicts) and its test metrics per subset, and a run per reference row.
Skips without a pipeline run's store; FSS_REQUIRE_SMOKE=1 (CI) makes that a failure."""

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from fss.runs import seed_paths
from fss.tracking import EXPERIMENT, RUN_ID_KEY, evaluation_metrics

REPO = Path(__file__).resolve().parents[1]
REFERENCES = ("photo", "mean_sketch", "floor")


def _trained(root: Path) -> dict[tuple[str, int], dict]:
    """The training metrics of the runs params.yaml asks for (a file of another seed
    list, e.g. a committed run's, is not this pipeline run's)."""
    from fss.params import read_params, row_seeds

    out = {}
    train = root / "metrics" / "train"
    for row, seeds in row_seeds(read_params(root / "params.yaml")).items():
        for seed, f in seed_paths(train, row).items():
            if seed in seeds:
                out[(row, seed)] = json.loads(f.read_text())
    return out


@pytest.fixture(scope="module")
def store():
    """(client, trained runs by (row, seed)) of the repository's pipeline run."""
    from mlflow.tracking import MlflowClient

    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{REPO / 'mlflow.db'}"
    trained = _trained(REPO)
    why = None
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        why = f"no MLflow store at {uri}"
    elif not trained:
        why = "no metrics/train/: the pipeline has not run here"
    elif any(RUN_ID_KEY not in d for d in trained.values()):
        why = "metrics/train/ does not record MLflow runs (not trained with tracking here)"
    if why:
        if os.environ.get("FSS_REQUIRE_SMOKE") == "1":
            pytest.fail(f"FSS_REQUIRE_SMOKE=1 but {why}")
        pytest.skip(f"{why} (run: bash scripts/run.sh smoke)")
    return MlflowClient(tracking_uri=uri), trained


def test_one_run_per_trained_model_with_curves_model_and_test_metrics(store):
    import mlflow

    client, trained = store
    exp = client.get_experiment_by_name(EXPERIMENT)
    models = {m.source_run_id: m for m in mlflow.search_logged_models(
        experiment_ids=[exp.experiment_id], output_format="list")}
    for (row, seed), summary in trained.items():
        run = client.get_run(summary[RUN_ID_KEY])
        where = f"{row}/seed{seed} (run {run.info.run_id})"
        assert run.info.status == "FINISHED", where
        assert run.info.run_name == f"train-{row}-seed{seed}", where
        assert (run.data.tags["row"], run.data.tags["seed"]) == (row, str(seed)), where
        curve = client.get_metric_history(run.info.run_id, "L1")
        assert [m.step for m in curve] == list(range(1, summary["epochs"] + 1)), where
        assert run.info.run_id in models, f"{where}: no logged model"
        assert client.list_artifacts(run.info.run_id, "samples"), f"{where}: no sample grids"
        evaluated = json.loads((REPO / "metrics" / row / f"seed{seed}.json").read_text())
        expected = evaluation_metrics(evaluated)
        assert {"fid.cuhk", "ssim.ar", "fid.xm2vts"} <= set(expected)
        got = {k: run.data.metrics.get(k) for k in expected}
        assert got == pytest.approx(expected), where


def test_budget_curves_are_step_metrics_of_the_runs(store):
    """Each curve row's run holds its curve as budget.<metric>.<subset> at step =
    iterations (MLflow's chart view draws FID against iterations), equal to the curve
    stage's file; the smoke profile snapshots, so the curves have points."""
    from fss.evaluation.curves import MLFLOW_PREFIX
    from fss.params import read_params

    client, trained = store
    params = read_params(REPO / "params.yaml")
    assert params.train.snapshot_every > 0, "the smoke profile should take snapshots"
    for row in params.curves.rows:
        for seed in params.train.seeds:
            curve = json.loads(params.paths.curve_file(params.meta.profile, f"{row}/seed{seed}")
                               .read_text())
            assert curve["points"], f"{row}/seed{seed}: an empty curve"
            run_id = trained[(row, seed)][RUN_ID_KEY]
            history = client.get_metric_history(run_id, MLFLOW_PREFIX + "fid.all")
            assert sorted(m.step for m in history) == [p["iteration"] for p in curve["points"]]
            got = {m.step: m.value for m in history}
            want = {p["iteration"]: evaluation_metrics(p)["fid.all"] for p in curve["points"]}
            assert got == pytest.approx(want), f"{row}/seed{seed}"


def test_dvc_plots_draw_the_budget_curves(store, tmp_path):
    """`dvc plots show` renders each curve file with FID against iterations."""
    import subprocess
    import sys

    from fss.params import read_params

    params = read_params(REPO / "params.yaml")
    dvc = Path(sys.executable).with_name("dvc")
    out = subprocess.run([str(dvc), "plots", "show", "--json", "-o", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    shown = json.loads(out.stdout)["data"]
    for row in params.curves.rows:
        name = str(params.paths.curve_plot(params.meta.profile, f"{row}/seed0"))
        assert name in shown, f"{name} not among {sorted(shown)[:8]}"
        spec = shown[name][0]["content"]
        assert spec["encoding"]["x"]["field"] == "iteration", name
        # the y field as Vega-Lite reads it (DVC escapes the dot of fid.all)
        assert '"field": "fid\\\\.all"' in json.dumps(spec["layer"]), name
        values = spec["data"]["values"]
        curve = json.loads(params.paths.curve_file(params.meta.profile, f"{row}/seed0")
                           .read_text())
        assert [int(v["iteration"]) for v in values] == [p["iteration"]
                                                        for p in curve["points"]], name


def test_reference_rows_are_runs_of_their_own(store):
    client, _ = store
    exp = client.get_experiment_by_name(EXPERIMENT)
    for row in REFERENCES:
        runs = client.search_runs([exp.experiment_id],
                                  f"tags.reference = 'true' and tags.row = '{row}'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
        assert runs, f"no reference run for {row}"
        name = "fid_floor" if row == "floor" else row
        expected = evaluation_metrics(json.loads((REPO / "metrics" / f"{name}.json").read_text()))
        assert runs[0].data.metrics["fid.cuhk"] == pytest.approx(expected["fid.cuhk"])


def test_the_logged_fss_model_predicts(store):
    import mlflow
    import pandas as pd
    from PIL import Image

    from fss.data.synthetic import draw_photo, random_face
    from fss.inference.mlflow_model import encode_image

    client, trained = store
    seed = min(s for r, s in trained if r == "fss")
    model = mlflow.pyfunc.load_model(f"runs:/{trained[('fss', seed)][RUN_ID_KEY]}/model")
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    draw_photo(random_face(rng), rng).save(buf, format="PNG")
    out = model.predict(pd.DataFrame({"image": [encode_image(buf.getvalue())]}))
    assert out["status"][0] == "ok", out["reason"][0]
    import base64

    sketch = np.asarray(Image.open(io.BytesIO(base64.b64decode(out["sketch"][0]))))
    size = json.loads((REPO / "metrics" / "fss" / f"seed{seed}.json").read_text())["image_size"]
    assert sketch.shape == (size, size) and sketch.std() > 0
