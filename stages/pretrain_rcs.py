"""Stage pretrain_rcs: weak face/hair labels, RCS network -> paths.rcs_model, per-photo
face and hair maps -> paths.rcs_maps, IoUs -> paths.rcs_metrics."""

from fss.errors import one_line_errors
from fss.params import Params, read_params
from fss.rcs.pretrain import pretrain_rcs


def run(params: Params) -> dict:
    p = params.paths
    return pretrain_rcs(
        p.splits, p.masks, params.align, params.rcs,
        seed=params.base.seed, device=params.base.device,
        model_out=p.rcs_model / "rcs.pt", maps_out=p.rcs_maps, metrics_out=p.rcs_metrics,
    )


@one_line_errors
def main() -> None:
    params = read_params()
    m = run(params)
    print(f"pretrain_rcs: {m['epochs']} epochs on {m['n_train']} train photos "
          f"({m['device']}, {m['seconds']} s), test IoU face {m.get('test_face_iou')} "
          f"hair {m.get('test_hair_iou')}, {len(m['label_failures'])} label failures "
          f"-> {params.paths.rcs_model}/, {params.paths.rcs_maps}/")


if __name__ == "__main__":
    main()
