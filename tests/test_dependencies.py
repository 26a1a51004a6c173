"""Each stage depends on exactly the params it reads: on a tiny DVC repo with this
project's dvc.yaml and params.yaml (every dependency and output a placeholder file,
recorded by `dvc commit` as if the stages had run), changing one key of conf and
composing params.yaml again (as `dvc exp run -S key=value` does) leaves stale exactly
the stages that read that key; `dvc status` says which."""

import os
import shutil
from pathlib import Path

import pytest

from fss.params_compose import compose_params

pytest.importorskip("dvc")
from dvc.repo import Repo  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ABLATION = ["cut", "rcs", "dss", "mask", "fss"]
BASELINES = ["pix2pix", "cyclegan"]


def train(*rows: str) -> set[str]:
    return {f"train@{r}-0" if r in ABLATION else f"train_baseline@{r}-0" for r in rows}


def evaluate(*rows: str) -> set[str]:
    return {f"evaluate@{r}-0" if r in ABLATION else f"evaluate_baseline@{r}-0" for r in rows}


REFERENCES = {"evaluate_reference@photo", "evaluate_reference@mean_sketch"}
CURVES = {f"curve@{r}-0" for r in ("cut", "mask", "fss")}   # conf's curves.rows

# override -> the stages it makes stale (besides `download`, always re-verified). The
# report reads every setting it compares with the paper's.
TABLE = {
    "loss.alpha=50": train("fss") | {"report"},
    "loss.gamma=2": train("fss") | {"report"},
    "loss.beta=2": train(*ABLATION) | {"report"},
    "loss.cycle=5": train("cyclegan") | {"report"},
    "loss.identity=0.2": train("cyclegan") | {"report"},
    "loss.pix2pix_l1=50": train("pix2pix") | {"report"},
    "sampling.num_patches=64": train(*ABLATION) | {"report"},
    "sampling.dss_threshold=0.7": train("dss", "mask", "fss") | {"report"},
    "sampling.n_face=64": train("rcs", "dss", "mask", "fss") | {"report"},
    "model.nce_t=0.1": train(*ABLATION) | {"report"},
    "model.ngf=32": train(*ABLATION, *BASELINES) | {"report"},
    "masks.threshold=0.4": {"masks"} | train(*ABLATION, *BASELINES),
    "train.lr=0.001": train(*ABLATION, *BASELINES) | {"report"},
    "evaluate.perceptual=[fsim]": (evaluate(*ABLATION, *BASELINES) | REFERENCES | CURVES
                                   | {"report"}),
    "evaluate.kid_subsets=10": (evaluate(*ABLATION, *BASELINES) | REFERENCES | CURVES
                                | {"fid_reference", "report"}),
    "evaluate.bootstrap_resamples=10": (evaluate(*ABLATION, *BASELINES) | REFERENCES | CURVES
                                        | {"recognize", "ablation_tests", "report"}),
    # snapshots are training outputs, and the curve stage scores them
    "train.snapshot_every=603": train(*ABLATION, *BASELINES) | CURVES | {"report"},
    # official CUT's unpaired target: a row feature, so only that row retrains
    "row@rows.cut=[cut,unpaired]": train("cut"),
    # a second seed: only its runs (and what reads every run) are new; seed 0 stays cached
    "train.seeds=[0,1]": ({f"{stage}@{r}-1" for r in ABLATION for stage in ("train", "evaluate")}
                          | {c.replace("-0", "-1") for c in CURVES}
                          | {"recognize", "ablation_tests", "report"}),
    "recognize.margin=16": {"recognize"},
    "rcs.epochs=3": {"pretrain_rcs"},
    "align.size=128": ({"align", "pretrain_rcs", "fid_reference", "recognize", "report"}
                       | train(*ABLATION, *BASELINES) | evaluate(*ABLATION, *BASELINES)
                       | REFERENCES | CURVES),
}


def _placeholder(path: Path) -> None:
    if path.exists():
        return
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(path.name)
    else:
        path.mkdir(parents=True)
        (path / "x").write_text(path.name)


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """A DVC repo whose dvc.lock records every stage as run with the default params."""
    root = tmp_path_factory.mktemp("deps")
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    compose_params(root / "params.yaml", [], conf_dir=REPO / "conf")
    cwd = os.getcwd()
    os.chdir(root)  # DVC resolves the stages' paths against the working directory
    try:
        repo = Repo.init(str(root), no_scm=True)
        stages = list(repo.index.stages)
        for st in stages:  # outputs first: some dependencies lie inside them
            for o in st.outs:
                _placeholder(root / str(o.def_path))
        for st in stages:
            for d in st.deps:
                if type(d).__name__ != "ParamsDependency":
                    _placeholder(root / str(d.def_path))
        repo.commit(force=True)
        repo.close()
        yield root
    finally:
        os.chdir(cwd)


def stale(root: Path, overrides: list[str]) -> set[str]:
    compose_params(root / "params.yaml", overrides, conf_dir=REPO / "conf")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with Repo(str(root)) as repo:
            return set(repo.status()) - {"download"}
    finally:
        os.chdir(cwd)


def test_unchanged_params_leave_every_stage_cached(committed):
    assert stale(committed, []) == set()


@pytest.mark.parametrize("override", list(TABLE))
def test_a_key_makes_stale_exactly_the_stages_that_read_it(committed, override):
    got = stale(committed, [override])
    assert got == TABLE[override], (f"{override}: stale but not expected "
                                    f"{sorted(got - TABLE[override])}, expected but cached "
                                    f"{sorted(TABLE[override] - got)}")


def test_one_row_override_retrains_that_row_only(committed):
    """`-S rows.<row>.uses...` is one row's own knob: the other rows stay cached."""
    assert stale(committed, ["rows.cut.uses.loss.beta=2"]) == train("cut")


def test_each_row_trains_from_its_own_entry(tmp_path):
    """The other direction: a row's `uses` holds every key its training reads. Each row
    trains from params where every model / sampling / loss key it does not read is None
    (training_config), so a key it read but lacked would fail here."""
    from fss.params import read_params
    from fss.training.config import training_config
    from fss.training.loop import train_row
    from tests.conftest import tiny_pairs

    out = tmp_path / "params.yaml"
    # tiny nets; gamma 0 so that no VGG weights are needed (the perceptual section is
    # checked below instead)
    compose_params(out, ["profile=smoke", "model.ngf=4", "model.ndf=4", "model.mlp_dim=16",
                         "sampling.num_patches=16", "sampling.n_face=16", "sampling.n_hair=8",
                         "loss.gamma=0", "train.epochs=1", "train.epochs_decay=0",
                         "train.iters_per_epoch=1", "train.sample_ids=1", "train.threads=1"],
                   conf_dir=REPO / "conf")
    p = read_params(out)
    for row in [*p.ablation, *p.baselines]:
        cfg = training_config(p, row, 0)
        s = train_row(cfg, tiny_pairs(), tmp_path / row, tmp_path / f"{row}.csv",
                      tmp_path / f"{row}.json", progress=False)
        assert s["epochs"] == 1, row
    fss = training_config(p, "fss", 0)
    assert fss.loss.perceptual_params().backbone == p.loss.perceptual_params().backbone
