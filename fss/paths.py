"""Where the pipeline's files live: params' ``paths`` section, declared once in
``conf/config.yaml``. dvc.yaml's deps and outs read it (``${paths.splits}``), every
stage and every ``fss`` command that finds pipeline files reads it from params.yaml,
and library functions take the paths they are given, so moving a file is one line of
conf. What a stage's folder holds inside (``<row>/seed<k>``, ``photos/<id>.png``) is
the layout of the module that writes it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from fss.config import load_params, section


def _inside_repo(p: Path) -> Path:
    # DVC tracks outputs inside the repository only, and the stages run at its root.
    if p.is_absolute() or ".." in p.parts or p == Path():
        raise ValueError("should be a path relative to the repository root, inside it")
    return p


RepoPath = Annotated[Path, AfterValidator(_inside_repo)]


@dataclass(frozen=True)
class PathsParams:
    """No defaults: conf is the one place the locations are spelled."""

    raw: RepoPath                   # download: the verified copy
    aligned: RepoPath               # align: photos/, sketches/, eyes.csv, metrics.json
    splits: RepoPath                # split: id, subset, split, photo, sketch
    masks: RepoPath                 # masks: <id>.png, metrics.json
    rcs_maps: RepoPath              # pretrain_rcs: <id>_{face,hair}.png
    rcs_model: RepoPath             # pretrain_rcs: a folder of its own (rcs.pt)
    rcs_metrics: RepoPath
    fid_features: RepoPath          # fid_reference
    fid_floor: RepoPath
    models: RepoPath                # train: <row>/seed<k>/
    train_metrics: RepoPath         # train: <row>/seed<k>.json
    train_plots: RepoPath           # train: <row>/seed<k>.csv
    results: RepoPath               # evaluate: <row>/seed<k>/, <reference>/
    metrics: RepoPath               # evaluate: <row>/seed<k>.json, <reference>.json
    curves: RepoPath                # curve: <profile>/<row>/seed<k>.json
    curve_plots: RepoPath           # curve: <profile>/<row>/seed<k>.csv
    sweeps: RepoPath                # `fss sweep-export`: <key>.json, committed
    recognition: RepoPath
    recognition_hits: RepoPath
    ablation_tests: RepoPath
    official_cut: RepoPath          # benchmarks/official_cut.py
    official_cut_reference: RepoPath
    reports: RepoPath               # report: report.md, figures/
    gate_baseline: RepoPath         # `fss gate`: the committed smoke baseline

    def under(self, root: Path) -> PathsParams:
        """Every path below ``root`` (a tree other than the working directory)."""
        return dataclasses.replace(self, **{f.name: Path(root) / getattr(self, f.name)
                                            for f in dataclasses.fields(self)})

    # A run is ``fss.runs.run_name`` (``fss/seed0``) or a reference's name (``photo``).
    def model_dir(self, run: str) -> Path:
        return self.models / run

    def results_dir(self, run: str) -> Path:
        return self.results / run

    def metrics_file(self, run: str) -> Path:
        return self.metrics / f"{run}.json"

    def train_metrics_file(self, run: str) -> Path:
        return self.train_metrics / f"{run}.json"

    def train_plot(self, run: str) -> Path:
        return self.train_plots / f"{run}.csv"

    # A curve lives under its profile: a profile without snapshots writes an empty curve,
    # which must not replace a longer profile's committed one.
    def curve_file(self, profile: str, run: str) -> Path:
        return self.curves / profile / f"{run}.json"

    def curve_plot(self, profile: str, run: str) -> Path:
        return self.curve_plots / profile / f"{run}.csv"


def read_paths(params_file: str | Path = "params.yaml") -> PathsParams:
    """Only the ``paths`` section of ``params_file``, checked: for the commands a user
    runs outside DVC (a params file cut down to that section is enough). A problem is
    one ParamsError line naming the file."""
    from fss.config import ParamsError

    raw = load_params(params_file)
    if "paths" not in raw:
        raise ParamsError(f"{params_file}: params section 'paths' missing (compose the file "
                          "from conf/ with `fss params`)")
    try:
        return section(raw, "paths", PathsParams)
    except ParamsError as e:
        text = str(e)
        raise ParamsError(text if text.startswith(str(params_file))
                          else f"{params_file}: {text}") from None
