"""Stage download: CUFS from FSS_CUFS / data.source -> verified copy in data/raw/."""

from pathlib import Path

from fss.data.download import run_download
from fss.errors import one_line_errors
from fss.params import read_params


@one_line_errors
def main() -> None:
    p = read_params().data
    r = run_download(p, Path("data/raw"))
    print(f"download: {r.pairs} {r.kind} pairs from {r.source} "
          f"({r.verified_line()}) -> data/raw/")


if __name__ == "__main__":
    main()
