"""Stage pretrain_rcs: weak face/hair labels, RCS network -> models/rcs_net/, per-photo
face and hair maps -> data/rcs_maps/, IoUs -> metrics/pretrain_rcs.json."""

from pathlib import Path
from typing import Any

from fss.config import ParamsError, load_params, section
from fss.data.align import AlignParams
from fss.errors import one_line_errors
from fss.rcs.net import RCSParams
from fss.rcs.pretrain import pretrain_rcs


def run(params: dict[str, Any]) -> dict:
    base = params.get("base") or {}
    missing = [k for k in ("seed", "device") if k not in base]
    if missing:
        raise ParamsError(f"params section 'base': missing {', '.join(missing)}")
    return pretrain_rcs(
        Path("data/splits.csv"), Path("data/masks"),
        section(params, "align", AlignParams), section(params, "rcs", RCSParams),
        seed=int(base["seed"]), device=str(base["device"]),
        model_out=Path("models/rcs_net/rcs.pt"), maps_out=Path("data/rcs_maps"),
        metrics_out=Path("metrics/pretrain_rcs.json"),
    )


@one_line_errors
def main() -> None:
    m = run(load_params())
    print(f"pretrain_rcs: {m['epochs']} epochs on {m['n_train']} train photos "
          f"({m['device']}, {m['seconds']} s), test IoU face {m.get('test_face_iou')} "
          f"hair {m.get('test_hair_iou')}, {len(m['label_failures'])} label failures "
          f"-> models/rcs_net/, data/rcs_maps/")


if __name__ == "__main__":
    main()
