"""Stage report: report.md and figures/ in paths.reports from every stage's metrics,
the paper's published values and the run's provenance."""

from pathlib import Path

from fss.errors import one_line_errors
from fss.params import read_params
from fss.report import write_report


@one_line_errors
def main() -> None:
    paths = read_params().paths  # the report reads params.yaml as it is: checked first
    print(f"report: {write_report(Path('.'), paths.reports, paths)}")


if __name__ == "__main__":
    main()
