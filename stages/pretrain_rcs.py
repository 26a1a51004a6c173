"""Stage pretrain_rcs: weak face/hair labels, RCS network -> models/rcs_net/, per-photo
face and hair maps -> data/rcs_maps/, IoUs -> metrics/pretrain_rcs.json."""

from pathlib import Path

from fss.errors import one_line_errors
from fss.params import Params, read_params
from fss.rcs.pretrain import pretrain_rcs


def run(params: Params) -> dict:
    return pretrain_rcs(
        Path("data/splits.csv"), Path("data/masks"), params.align, params.rcs,
        seed=params.base.seed, device=params.base.device,
        model_out=Path("models/rcs_net/rcs.pt"), maps_out=Path("data/rcs_maps"),
        metrics_out=Path("metrics/pretrain_rcs.json"),
    )


@one_line_errors
def main() -> None:
    m = run(read_params())
    print(f"pretrain_rcs: {m['epochs']} epochs on {m['n_train']} train photos "
          f"({m['device']}, {m['seconds']} s), test IoU face {m.get('test_face_iou')} "
          f"hair {m.get('test_hair_iou')}, {len(m['label_failures'])} label failures "
          f"-> models/rcs_net/, data/rcs_maps/")


if __name__ == "__main__":
    main()
