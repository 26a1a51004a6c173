"""The MLflow model-from-code entry point: what ``mlflow.pyfunc.load_model`` runs to
get the sketch model (see ``fss.inference.mlflow_model``)."""

from mlflow.models import set_model

from fss.inference.mlflow_model import SketchModel

set_model(SketchModel())
