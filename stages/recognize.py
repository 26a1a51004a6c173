"""Stage recognize (paper Table 7): FaceNet rank-1 of every run's synthesized sketches
(each row x seed) and of the test photos against the real test sketches, on one fixed
crop from the alignment geometry (and on each image's MTCNN box, with the share MTCNN
detects), with bootstrap intervals -> paths.recognition; per-image hits ->
paths.recognition_hits."""

from fss.device import resolve_device
from fss.errors import one_line_errors
from fss.evaluation.evaluate import read_test_pairs
from fss.evaluation.recognition import recognition_table
from fss.evaluation.results import write_record
from fss.io import write_text
from fss.metrics.recognition import fixed_box
from fss.params import read_params, row_seeds
from fss.runs import run_name


@one_line_errors
def main() -> None:
    params = read_params()
    paths = params.paths
    pairs = read_test_pairs(paths.splits)  # checked before any work
    runs = [run_name(r, s) for r, seeds in row_seeds(params).items() for s in seeds]
    device = resolve_device(params.base.device)
    a, p = params.align, params.recognize
    box = fixed_box(a, p.crop_box)
    table, hits = recognition_table(pairs, paths.results, runs, p, device,
                                    params.evaluate.bootstrap(), box, a.size)
    write_record(paths.recognition, table)
    write_text(paths.recognition_hits, hits.to_csv(index=False))
    print("recognize rank-1 (fixed crop): " + ", ".join(
        f"{k} {v.values['all']:.3f}" for k, v in table.probes.items()))


if __name__ == "__main__":
    main()
