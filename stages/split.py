"""Stage split: the Wang et al. split of the aligned pairs -> paths.splits."""

from fss.data.splits import build_splits, check_paper_counts, split_counts
from fss.errors import one_line_errors
from fss.io import write_text
from fss.params import read_params


@one_line_errors
def main() -> None:
    paths = read_params().paths  # a bad value in any section stops every stage
    raw, out = paths.raw, paths.splits
    df = build_splits(raw, paths.aligned)
    check_paper_counts(df, raw)
    write_text(out, df.to_csv(index=False))  # temp file then rename, removed on failure
    print(f"split: {split_counts(df)} -> {out}")


if __name__ == "__main__":
    main()
