"""Everything the report reads from disk, gathered into one ``Inputs`` (a missing file
is None or empty, never an error), so that the rendering modules stay pure: params, each
row's evaluations and training files with their seeds summarised, recognition, the FID
floor, the ablation tests, RCS, alignment, the data source and the test ids. Where each
file lies is params' ``paths`` (``fss.paths``), never spelled here."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fss import published as pub
from fss.data.splits import ordered_subsets
from fss.evaluation.results import (
    AblationTestsRecord,
    EvaluationRecord,
    is_evaluation,
    read_ablation_tests,
    read_recognition,
    read_training,
)
from fss.io import read_json
from fss.paths import PathsParams, read_paths
from fss.report.cells import REFERENCES, _get
from fss.report.summaries import (
    Curve,
    FidelityScores,
    RcsResults,
    RecognitionResults,
    RowResults,
    Sweep,
    TrainingRuns,
)
from fss.runs import SEED_DIR, seed_paths


@dataclass
class Inputs:
    """Everything the report reads; a file that was not there is None (or empty)."""

    params: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, RowResults | None] = field(default_factory=dict)
    train: dict[str, TrainingRuns | None] = field(default_factory=dict)
    recognition: RecognitionResults | None = None  # probes per row + test_photos
    floor: RowResults | None = None  # the fid_reference stage's real-sketch floor
    ablation: AblationTestsRecord | None = None
    rcs: RcsResults | None = None
    alignment: dict | None = None
    source: dict[str, str] = field(default_factory=dict)
    manifest: tuple[int, int] | None = None  # (entries, files)
    test_ids: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # metrics files read, for provenance
    # benchmarks/official_cut.py: official CUT's committed numbers and ours scored alike
    official_cut_reference: FidelityScores | None = None
    official_cut: FidelityScores | None = None
    # the curve stage's files: profile -> row -> seed -> curve (fss.report.budget)
    curves: dict[str, dict[str, dict[int, Curve]]] = field(default_factory=dict)
    # `fss sweep-export`'s files: params key -> export (fss.report.sweep)
    sweeps: dict[str, Sweep] = field(default_factory=dict)

    trained: list[str] = field(default_factory=list)  # trained_rows
    # the data the rows were scored on: cufs (the paper's tables beside ours) or a
    # user's paired folder (ours only), and its subsets in the split file's order
    dataset: str = "cufs"
    subsets: list[str] = field(default_factory=lambda: list(pub.SUBSETS))
    # where the files were read from, relative to the tree (None: built by hand)
    paths: PathsParams | None = None

    def row(self, name: str) -> RowResults | None:
        """A row's (or reference's) results; None when it has no evaluation."""
        return self.rows[name] if name in self.rows else None


def trained_rows(params: Mapping[str, Any], metrics: Path | None = None) -> list[str]:
    """params' trained rows: the ablation chain, then the trained baselines. Params that
    list none (a hand-made tree): the rows with a run's metrics under ``metrics``, the
    paper's ablation rows and compared methods in its order first."""
    listed = [str(r) for k in ("ablation", "baselines") for r in (params.get(k) or [])]
    if listed or metrics is None or not metrics.is_dir():
        return listed
    found = sorted(d.name for d in metrics.iterdir() if d.is_dir() and seed_paths(metrics, d.name))
    paper = [*pub.TABLE3, *pub.COMPARISON_METHODS]
    return [r for r in paper if r in found] + [r for r in found if r not in paper]


# ---------------------------------------------------------------- reading the inputs

OURS = "ours"   # our scores' key in the official-CUT benchmark's file (paths.official_cut)

def _json(path: Path) -> dict | None:
    """A JSON object of the tree, or None: no file, or not an object (a damaged file
    is ``read_json``'s one line)."""
    if not path.is_file():
        return None
    data = read_json(path)
    return data if isinstance(data, dict) else None


def _evaluation(path: Path) -> EvaluationRecord | None:
    """A row's evaluation (``fss.evaluation.results``; one of an older schema is one line
    naming it), or None: no file, or a file of another kind (pretrain_rcs's IoUs beside
    the rows' files)."""
    d = _json(path)
    return EvaluationRecord.from_json(d, str(path)) if is_evaluation(d) else None


def _reference(path: Path) -> RowResults | None:
    """A reference's one evaluation (no seeds), or None."""
    rec = _evaluation(path)
    return None if rec is None else RowResults.of([rec])


def metrics_files(m: Path, seeds: Mapping[str, list[int]] | None = None) -> list[str]:
    """Every metrics file present under the metrics folder ``m``, relative to it (for the
    provenance table), less the seed files of a row that ``seeds`` does not declare (not
    read)."""
    if not m.is_dir():
        return []

    def read(rel: Path) -> bool:
        row_dir = rel.parent.name
        seed = SEED_DIR.match(rel.stem)
        return not (seeds is not None and seed and row_dir in seeds
                    and int(seed.group(1)) not in seeds[row_dir])

    return sorted(str(rel) for p in m.rglob("*.json") if read(rel := p.relative_to(m)))


def _manifest_counts(path: Path) -> tuple[int, int] | None:
    """(entries, files): a real-data entry is a pair with one sha256 per file."""
    if not path.is_file():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    files = sum(max(1, sum(1 for k, v in r.items() if k and k.endswith("sha256") and v))
                for r in rows)
    return len(rows), files


def _key_values(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {r["key"]: r["value"] for r in csv.DictReader(f) if "key" in r and "value" in r}


def _test_ids(path: Path) -> dict[str, list[str]]:
    """Each subset's test ids in the file's order; none when the file is missing (a
    damaged one is read_splits's one-line error)."""
    from fss.data.splits import read_splits

    out: dict[str, list[str]] = {}
    if path.is_file():
        df = read_splits(path)
        for r in df[df["split"] == "test"].itertuples():
            out.setdefault(r.subset, []).append(r.id)
    return out


def declared_seeds(params: Mapping[str, Any]) -> dict[str, list[int]] | None:
    """Each row's seeds as params declare them (``fss.params.row_seeds``), or None when
    params are not a complete, valid set (then every seed present is read)."""
    from fss.params import check_params, row_seeds

    try:
        return row_seeds(check_params(dict(params)))
    except (ValueError, TypeError):  # ParamsError is a ValueError
        return None


def seed_runs(folder: Path, row: str, read: Callable[[Path], Any | None],
              seeds: list[int] | None = None) -> dict[int, Any]:
    """``folder/<row>/seed<k>.json`` read, by seed, over ``seeds`` (None: every seed
    present). A file of a seed that params do not declare is left out: it is another
    run's (e.g. the committed three-seed run's seed 2 after a one-seed run), and averaging
    it in would mix two runs."""
    return {s: d for s, p in seed_paths(folder, row).items()
            if (seeds is None or s in seeds) and (d := read(p)) is not None}


def row_results(folder: Path, row: str, seeds: list[int] | None = None) -> RowResults | None:
    """A trained row's evaluations summarised over its seeds; None when it has none."""
    runs = seed_runs(folder, row, _evaluation, seeds)
    return RowResults.of(list(runs.values()), list(runs)) if runs else None


def training_runs(folder: Path, row: str, seeds: list[int] | None = None
                  ) -> TrainingRuns | None:
    """A trained row's training summaries over its seeds; None when it has none."""
    runs = seed_runs(folder, row, read_training, seeds)
    return TrainingRuns.of(list(runs.values()), list(runs)) if runs else None


def _recognition(path: Path) -> RecognitionResults | None:
    """recognition.json (``fss.evaluation.results``; one of an older schema is one line
    naming it) with each probe section's runs summarised per row, or None."""
    return RecognitionResults.of(read_recognition(path)) if path.is_file() else None


def _fidelity(path: Path, key: str | None = None) -> FidelityScores | None:
    """Official CUT's scores (the committed reference), or ours scored alike (``key``
    ``ours`` of the benchmark's file); None when the file, the key or its scores per
    subset are missing (the table then says 'not run')."""
    d = _json(path)
    if d is not None and key is not None:
        d = d[key] if isinstance(d[key] if key in d else None, dict) else None
    if d is None or "subsets" not in d:
        return None
    return FidelityScores.from_json(d, f"{path}" + (f": {key}" if key else ""))


def _has_points(d: dict | None) -> bool:
    return d is not None and isinstance(d["points"] if "points" in d else None, list)


def load_curves(folder: Path) -> dict[str, dict[str, dict[int, Curve]]]:
    """``folder/<profile>/<row>/seed<k>.json``, every profile present (the budget curves
    are made on their own profile, e.g. cpu_long, and read by any report); a JSON file
    there with no ``points`` list is no curve and is left out."""
    out: dict[str, dict[str, dict[int, Curve]]] = {}
    if not folder.is_dir():
        return out
    for prof in sorted(p for p in folder.iterdir() if p.is_dir()):
        rows = {row.name: runs for row in sorted(r for r in prof.iterdir() if r.is_dir())
                if (runs := {s: Curve.from_json(d, str(f))
                             for s, f in seed_paths(prof, row.name).items()
                             if _has_points(d := _json(f))})}
        if rows:
            out[prof.name] = rows
    return out


def load_inputs(root: Path, paths: PathsParams | None = None) -> Inputs:
    """Everything under ``root`` the report reads: ``root/params.yaml`` and the files
    ``paths`` (relative to ``root``; default: that params file's ``paths``) name. A
    hand-made tree without a complete params file passes ``paths``."""
    root = Path(root)
    params_path = root / "params.yaml"
    from fss.config import load_params

    # (load_params: one line naming the file for YAML that does not parse, a duplicate
    # key, or a file that is not a mapping)
    params = load_params(params_path) if params_path.is_file() else {}
    if paths is None:
        paths = read_paths(params_path)
    at = paths.under(root)
    m = at.metrics
    trained = trained_rows(params, m)
    seeds = declared_seeds(params)
    ablation = read_ablation_tests(at.ablation_tests) if at.ablation_tests.is_file() else None
    rcs = _json(at.rcs_metrics)

    def of(r: str) -> list[int] | None:
        return None if seeds is None else seeds.get(r)

    source = _key_values(at.raw / "source.csv")
    test_ids = _test_ids(at.splits)
    return Inputs(
        dataset=str(source.get("dataset") or _get(params, "data.dataset") or "cufs"),
        subsets=ordered_subsets(test_ids) if test_ids else list(pub.SUBSETS),
        params=params,
        trained=trained,
        rows={**{r: row_results(m, r, of(r)) for r in trained},
              **{r: _reference(at.metrics_file(r)) for r in REFERENCES}},
        train={r: training_runs(at.train_metrics, r, of(r)) for r in trained},
        recognition=_recognition(at.recognition),
        floor=_reference(at.fid_floor),
        ablation=ablation,
        rcs=None if rcs is None else RcsResults.from_json(rcs, str(at.rcs_metrics)),
        # the files the download and align stages write inside their folders
        alignment=_json(at.aligned / "metrics.json"),
        source=source,
        manifest=_manifest_counts(at.raw / "manifest.csv"),
        test_ids=test_ids,
        files=metrics_files(m, seeds),
        official_cut_reference=_fidelity(at.official_cut_reference),
        official_cut=_fidelity(at.official_cut, OURS),
        curves=load_curves(at.curves),
        # (a JSON file there with no points list is no export and is left out)
        sweeps={f.stem: Sweep.from_json(d, str(f)) for f in sorted(at.sweeps.glob("*.json"))
                if _has_points(d := _json(f))} if at.sweeps.is_dir() else {},
        paths=paths,
    )
