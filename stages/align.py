"""Stage align: eye alignment of every pair -> data/aligned/."""

from pathlib import Path

from fss.data.align import align_dataset
from fss.errors import one_line_errors
from fss.params import read_params


@one_line_errors
def main() -> None:
    p = read_params().align
    m = align_dataset(Path("data/raw"), Path("data/aligned"), p)
    print(f"align: {m['pairs']} pairs, {m['fallbacks']} fallbacks, "
          f"{m['within_tolerance']}/{m['pairs']} eyes within {m['tolerance_px']} px "
          f"on re-detection -> data/aligned/")


if __name__ == "__main__":
    main()
