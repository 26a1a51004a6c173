"""Stage download: CUFS from FSS_CUFS / data.source -> verified copy in data/raw/."""

from pathlib import Path

from fss.config import load_params, section
from fss.data.download import DataParams, run_download
from fss.errors import one_line_errors


@one_line_errors
def main() -> None:
    p = section(load_params(), "data", DataParams)
    r = run_download(p, Path("data/raw"))
    print(f"download: {r.pairs} {r.kind} pairs from {r.source} "
          f"({r.sha256_checked} files checked against sha256) -> data/raw/")


if __name__ == "__main__":
    main()
