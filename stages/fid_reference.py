"""Stage fid_reference: Inception features of the real test and training sketches per
subset, computed once for every row's FID/KID -> paths.fid_features; the real-sketch
floor (training vs test sketches) -> paths.fid_floor, and an MLflow reference run."""

import os

import typer

from fss.device import resolve_device
from fss.errors import one_line_errors
from fss.evaluation.evaluate import (
    read_test_pairs,
    real_sketch_features,
    real_sketch_floor,
    save_features,
)
from fss.evaluation.results import EvaluationRecord, write_record
from fss.metrics.fid import load_inception
from fss.params import read_params


@one_line_errors
def main(track: bool = typer.Option(True, help="Log the floor to MLflow as a reference "
                                               "run.")) -> None:
    params = read_params()
    paths = params.paths
    pairs = {split: read_test_pairs(paths.splits, split) for split in ("test", "train")}
    device = resolve_device(params.base.device)
    model = load_inception(device)
    feats = {split: real_sketch_features(p, model, device) for split, p in pairs.items()}
    save_features(feats, paths.fid_features)
    floor = real_sketch_floor(feats["train"], feats["test"], params.evaluate)
    out = paths.fid_floor
    record = EvaluationRecord.from_scores("floor", "reference", floor,
                                          profile=params.meta.profile,
                                          image_size=params.align.size)
    write_record(out, record)
    metrics = record.flat()
    if track:
        from fss.tracking import git_commit, reference_run

        reference_run("floor", params.raw,
                      {"profile": params.meta.profile, "git_commit": git_commit(),
                       "stage": "fid_reference",
                       "dvc_exp": os.environ.get("DVC_EXP_NAME", "")}, metrics, out)
    print("fid_reference: " + ", ".join(
        f"{s} FID floor {v['fid']} KID x1000 {v['kid']}" for s, v in floor["subsets"].items()))


if __name__ == "__main__":
    typer.run(main)
