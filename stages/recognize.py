"""Stage recognize (paper Table 7): FaceNet rank-1 of every run's synthesized sketches
(each row x seed) and of the test photos against the real test sketches, with bootstrap
intervals -> metrics/recognition.json; per-image hits -> metrics/recognition_hits.csv."""

from pathlib import Path

from fss.device import resolve_device
from fss.errors import one_line_errors
from fss.evaluation import read_test_pairs
from fss.io import write_json, write_text
from fss.params import read_params
from fss.recognition_eval import recognition_table
from fss.runs import run_name

HITS = Path("metrics/recognition_hits.csv")


@one_line_errors
def main() -> None:
    params = read_params()
    runs = [run_name(r, s) for r in params.rows for s in params.train.seeds]
    device = resolve_device(params.base.device)
    table, hits = recognition_table(read_test_pairs(Path("data/splits.csv")), Path("results"),
                                    runs, params.recognize, device, params.evaluate.bootstrap())
    write_json(Path("metrics/recognition.json"), table)
    write_text(HITS, hits.to_csv(index=False))
    print("recognize rank-1: " + ", ".join(f"{k} {v['all']:.3f}"
                                          for k, v in table["probes"].items()))


if __name__ == "__main__":
    main()
