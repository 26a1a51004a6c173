"""Stage recognize (paper Table 7): FaceNet rank-1 of each row's synthesized sketches
and of the test photos against the real test sketches -> metrics/recognition.json."""

from pathlib import Path

from fss.config import load_params, section
from fss.device import device_from_params
from fss.errors import one_line_errors
from fss.evaluation import read_test_pairs
from fss.io import write_json
from fss.metrics.recognition import RecognitionParams
from fss.recognition_eval import recognition_table


@one_line_errors
def main() -> None:
    params = load_params()
    rows = list(params.get("rows") or {})
    device = device_from_params(params)
    p = section(params, "recognize", RecognitionParams)
    table = recognition_table(read_test_pairs(Path("data/splits.csv")), Path("results"), rows, p,
                              device)
    write_json(Path("metrics/recognition.json"), table)
    print("recognize rank-1: " + ", ".join(f"{k} {v['all']:.3f}"
                                          for k, v in table["probes"].items()))


if __name__ == "__main__":
    main()
