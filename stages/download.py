"""Stage download: CUFS from FSS_CUFS / data.source -> verified copy in paths.raw."""

from fss.data.download import run_download
from fss.errors import one_line_errors
from fss.params import read_params


@one_line_errors
def main() -> None:
    params = read_params()
    out = params.paths.raw
    r = run_download(params.data, out)
    print(f"download: {r.pairs} {r.kind} pairs from {r.source} "
          f"({r.verified_line()}) -> {out}/")


if __name__ == "__main__":
    main()
