"""Stage masks: a person mask per photo -> data/masks/, IoU vs sketch silhouettes."""

from pathlib import Path

from fss.data.masks import mask_dataset
from fss.errors import one_line_errors
from fss.params import read_params


@one_line_errors
def main() -> None:
    p = read_params().masks
    m = mask_dataset(Path("data/splits.csv"), Path("data/masks"), p)
    print(f"masks: method {m['method']}, mean IoU vs train sketch silhouettes "
          f"{m['mean_iou']} -> data/masks/")


if __name__ == "__main__":
    main()
