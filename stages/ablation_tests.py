"""Stage ablation_tests: between adjacent rows of params' ablation chain (cut -> rcs -> ...),
a two-level bootstrap (training seeds, then test images) of every per-image metric and
rank-1 (paths.results, paths.recognition_hits) -> paths.ablation_tests."""

from fss.errors import one_line_errors
from fss.evaluation.ablation_tests import ablation_tests
from fss.evaluation.results import AblationTestsRecord, write_record
from fss.params import read_params, row_seeds


@one_line_errors
def main() -> None:
    params = read_params()
    paths = params.paths
    out = ablation_tests(paths.results, paths.recognition_hits, list(params.ablation),
                         row_seeds(params), params.evaluate.bootstrap())
    write_record(paths.ablation_tests,
                         AblationTestsRecord.from_flat(out, str(paths.ablation_tests)))
    for p in out["pairs"]:
        a = p["subsets"]["all"]
        print(f"{p['from']} -> {p['to']}: " + ", ".join(
            f"{k} {a[k]['diff']:+.4f} {a[k]['ci']}{' *' if a[k]['significant'] else ''}"
            for k in ("ssim", "psnr", "rank1") if k in a))


if __name__ == "__main__":
    main()
