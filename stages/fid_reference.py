"""Stage fid_reference: Inception features of the real test sketches per subset,
computed once for every row's FID -> data/fid_features/."""

from pathlib import Path

from fss.config import load_params
from fss.device import device_from_params
from fss.errors import one_line_errors
from fss.evaluation import read_test_pairs, real_sketch_features, save_features
from fss.metrics.fid import load_inception


@one_line_errors
def main() -> None:
    device = device_from_params(load_params())
    feats = real_sketch_features(read_test_pairs(Path("data/splits.csv")), load_inception(device),
                                 device)
    save_features(feats, Path("data/fid_features"))
    print("fid_reference: " + ", ".join(f"{s} {len(f)}" for s, f in feats.items())
          + " real test sketches -> data/fid_features/")


if __name__ == "__main__":
    main()
