"""Stage masks: a person mask per photo of paths.splits -> paths.masks, IoU vs sketch
silhouettes."""

from fss.data.masks import mask_dataset
from fss.errors import one_line_errors
from fss.params import read_params


@one_line_errors
def main() -> None:
    params = read_params()
    out = params.paths.masks
    m = mask_dataset(params.paths.splits, out, params.masks)
    print(f"masks: method {m['method']}, mean IoU vs train sketch silhouettes "
          f"{m['mean_iou']} -> {out}/")


if __name__ == "__main__":
    main()
