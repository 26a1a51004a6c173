"""Stage align: eye alignment of every pair -> data/aligned/."""

from pathlib import Path

from fss.config import load_params, section
from fss.data.align import AlignParams, align_dataset
from fss.errors import one_line_errors


@one_line_errors
def main() -> None:
    p = section(load_params(), "align", AlignParams)
    m = align_dataset(Path("data/raw"), Path("data/aligned"), p)
    print(f"align: {m['pairs']} pairs, {m['fallbacks']} fallbacks, "
          f"{m['within_tolerance']}/{m['pairs']} eyes within {m['tolerance_px']} px "
          f"on re-detection -> data/aligned/")


if __name__ == "__main__":
    main()
