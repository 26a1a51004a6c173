"""Stage align: eye alignment of every pair (paths.raw) -> paths.aligned."""

from fss.data.align import align_dataset
from fss.errors import one_line_errors
from fss.params import read_params


@one_line_errors
def main() -> None:
    params = read_params()
    out = params.paths.aligned
    m = align_dataset(params.paths.raw, out, params.align)
    print(f"align: {m['pairs']} pairs, {m['fallbacks']} fallbacks, "
          f"{m['within_tolerance']}/{m['pairs']} eyes within {m['tolerance_px']} px "
          f"on re-detection -> {out}/")


if __name__ == "__main__":
    main()
