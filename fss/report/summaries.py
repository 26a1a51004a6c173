"""The results as the report reads them, typed: each trained row's evaluations
summarised over its seeds (``RowResults``), its training summaries likewise
(``TrainingRuns``), the recognition rates per row (``RecognitionResults``), and the other
files the report shows (the RCS IoUs, official CUT's scores, the budget curves, the
sweeps), so that a table asks for one metric's value, seed std or interval and never digs
in a dict. With one run: its values and bootstrap intervals; with several: the mean and
sample std over the seeds of every number all of them have (an interval describes one
run and is left out). A file that does not hold what its reader needs is one line naming
it (``ResultsError``). Pure; no module of the report below this one."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fss.evaluation.results import (
    PROBE_SETS,
    Crop,
    EvaluationRecord,
    RecognitionRecord,
    ResultsError,
    Scores,
    TrainingSummary,
)
from fss.runs import SEED_DIR


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _mean_std(vals: Sequence[float]) -> tuple[float, float]:
    # rounded as the metrics files are: the report prints at most 4 decimals
    mean = sum(vals) / len(vals)
    var = sum((x - mean) ** 2 for x in vals) / (len(vals) - 1)
    return round(mean, 6), round(math.sqrt(var), 6)


@dataclass(frozen=True)
class Numbers:
    """Named numbers of a row over its seeds: each one's value (the mean over seeds when
    several), its sample std over seeds (several) and its bootstrap interval over test
    images (one run). Only finite values are held: a missing one reads as None."""

    values: Mapping[str, float] = field(default_factory=dict)
    stds: Mapping[str, float] = field(default_factory=dict)
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def value(self, key: str) -> float | None:
        return self.values[key] if key in self.values else None

    def std(self, key: str) -> float | None:
        return self.stds[key] if key in self.stds else None

    def ci(self, key: str) -> tuple[float, float] | None:
        return self.intervals[key] if key in self.intervals else None

    def __contains__(self, key: object) -> bool:
        return key in self.values

    @classmethod
    def over(cls, runs: Sequence[tuple[Mapping[str, Any], Mapping[str, tuple[float, float]]]]
             ) -> Numbers:
        """From each run's (values, intervals): one run as it is, several summarised."""
        if not runs:
            raise ValueError("no runs to summarise")
        if len(runs) == 1:
            values, intervals = runs[0]
            return cls({k: float(v) for k, v in values.items() if _finite(v)}, {},
                       {k: ci for k, ci in intervals.items() if all(map(_finite, ci))})
        means, stds = {}, {}
        for k in runs[0][0]:
            vals = [r[0][k] if k in r[0] else None for r in runs]
            if all(_finite(v) for v in vals):
                means[k], stds[k] = _mean_std([float(v) for v in vals])
        return cls(means, stds, {})


@dataclass(frozen=True)
class Group(Numbers):
    """One group of a row's test images (a subset, or all of them): how many (``n``; the
    floor's real training sketches: ``n_train``) and each metric."""

    n: float | None = None
    n_train: float | None = None

    @classmethod
    def of(cls, scores: Sequence[Scores]) -> Group:
        nums = Numbers.over([(s.values, s.intervals) for s in scores])
        return cls(nums.values, nums.stds, nums.intervals, _shared_number(s.n for s in scores),
                   _shared_number(s.n_train for s in scores))


def _shared_number(vals: Iterable[Any]) -> float | None:
    """One number for several runs: their mean (a count every run shares prints whole)."""
    vs = list(vals)
    if not vs or not all(_finite(v) for v in vs):
        return None
    return vs[0] if len(vs) == 1 else round(sum(vs) / len(vs), 6)


def _shared_text(vals: Iterable[Any]) -> str | None:
    vs = set(vals)
    if len(vs) != 1:
        return None
    v = next(iter(vs))
    return v if isinstance(v, str) else None


@dataclass(frozen=True)
class RowResults:
    """A row's evaluations over its seeds (a reference's one evaluation: no seeds)."""

    row: str
    seeds: tuple[int, ...]
    subsets: Mapping[str, Group]
    all: Group | None = None
    profiles: tuple[str, ...] = ()      # every profile and size its runs name, so that
    image_sizes: tuple[int, ...] = ()   # the report can warn of a mix
    epochs: float | None = None         # the mean over its runs

    @property
    def profile(self) -> str | None:
        """The profile of every run; None when they name none, or several."""
        return self.profiles[0] if len(self.profiles) == 1 else None

    @property
    def image_size(self) -> int | None:
        return self.image_sizes[0] if len(self.image_sizes) == 1 else None

    def group(self, subset: str) -> Group | None:
        """``all`` or one subset's group; None when the file has no numbers for it."""
        if subset == "all":
            return self.all
        return self.subsets[subset] if subset in self.subsets else None

    @classmethod
    def of(cls, records: Sequence[EvaluationRecord], seeds: Sequence[int] = ()) -> RowResults:
        """From a row's evaluations (``seeds``: theirs, in the same order); a subset
        only some runs have is left out (its mean would be over fewer seeds)."""
        if not records:
            raise ValueError("no evaluations to summarise")
        subsets = {s: Group.of([r.subsets[s] for r in records]) for s in records[0].subsets
                   if all(s in r.subsets for r in records)}
        alls = [r.all for r in records]
        return cls(records[0].row, tuple(seeds), subsets,
                   Group.of(alls) if all(a is not None for a in alls) else None,  # type: ignore[arg-type]
                   tuple(sorted({r.profile for r in records if r.profile is not None})),
                   tuple(sorted({r.image_size for r in records if r.image_size is not None})),
                   _shared_number(r.epochs for r in records))


def group_of(rows: Mapping[str, RowResults | None], row: str, subset: str) -> Group | None:
    """One row's group of test images; None when the row or the group has no numbers."""
    r = rows[row] if row in rows else None
    return None if r is None else r.group(subset)


# ---------------------------------------------------------------- training

# The training summary's numbers the report shows or summarises (the rest is text).
TRAINING_NUMBERS = ("epochs", "iters_per_epoch", "steps_per_epoch", "world_size",
                    "l1_first_epoch", "l1_last_epoch", "l1_ratio", "seconds_per_iter",
                    "seconds_this_run")
TRAINING_TEXT = ("device", "precision")


@dataclass(frozen=True)
class TrainingRuns:
    """A row's training summaries over its seeds: their numbers (``TRAINING_NUMBERS``),
    the text every run shares (device, precision) and the last epoch's losses."""

    row: str
    seeds: tuple[int, ...]
    numbers: Numbers
    text: Mapping[str, str]
    final: Numbers

    def shown(self, key: str) -> str | float | None:
        """A text field, or a number's value (the mean over seeds)."""
        return self.text[key] if key in self.text else self.numbers.value(key)

    @classmethod
    def of(cls, runs: Sequence[TrainingSummary], seeds: Sequence[int] = ()) -> TrainingRuns:
        if not runs:
            raise ValueError("no training summaries to summarise")
        numbers = Numbers.over([({k: getattr(t, k) for k in TRAINING_NUMBERS}, {})
                                for t in runs])
        text = {k: v for k in TRAINING_TEXT
                if (v := _shared_text(getattr(t, k) for t in runs)) is not None}
        return cls(runs[0].row, tuple(seeds), numbers, text,
                   Numbers.over([(t.final, {}) for t in runs]))


# ---------------------------------------------------------------- recognition

@dataclass(frozen=True)
class RecognitionResults:
    """recognition.json with each probe section's runs (``fss/seed0``, ...) summarised
    per row over its seeds like the evaluations; a probe that is no run (the test
    photos) as it is. ``seeds``: each row's runs found."""

    gallery: str
    n_gallery: int
    crop: Crop
    crop_fallbacks: Mapping[str, int]
    probes: Mapping[str, Numbers]
    probes_mtcnn: Mapping[str, Numbers]
    detectable: Mapping[str, Numbers]
    seeds: Mapping[str, tuple[int, ...]]

    @classmethod
    def of(cls, rec: RecognitionRecord) -> RecognitionResults:
        sections, seeds = {}, {}
        for k in PROBE_SETS:
            by_row: dict[str, dict[int, Any]] = {}
            out: dict[str, Numbers | None] = {}
            for name, rates in getattr(rec, k).items():
                row, _, tail = name.partition("/")
                m = SEED_DIR.match(tail)
                if m:
                    out.setdefault(row, None)   # the file's order
                    by_row.setdefault(row, {})[int(m.group(1))] = rates
                else:
                    out[name] = Numbers.over([(rates.values, rates.intervals)])
            for row, runs in by_row.items():
                order = sorted(runs)
                out[row] = Numbers.over([(runs[s].values, runs[s].intervals) for s in order])
                if k == "probes":
                    seeds[row] = tuple(order)
            sections[k] = {n: v for n, v in out.items() if v is not None}
        return cls(rec.gallery, rec.n_gallery, rec.crop, dict(rec.crop_fallbacks),
                   sections["probes"], sections["probes_mtcnn"], sections["detectable"], seeds)


# ---------------------------------------------------------------- the other files

def _mapping(d: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise ResultsError(f"{where}: not {what} (a JSON object)")
    return d


def _numbers(d: Any, where: str, keys: Sequence[str] | None = None) -> dict[str, float]:
    """The finite numbers of a flat mapping (of ``keys`` when given); one line naming
    the place when it is no mapping."""
    m = _mapping(d, where, "a mapping of numbers")
    return {str(k): float(v) for k, v in m.items()
            if _finite(v) and (keys is None or k in keys)}


@dataclass(frozen=True)
class RcsResults:
    """The pretrain_rcs stage's IoUs of the RCS maps with the weak labels: overall per
    split (``test`` / ``train``: face and hair) and per test subset (n, face, hair)."""

    ious: Mapping[str, Numbers]              # split -> face_iou, hair_iou
    test_subsets: Mapping[str, Numbers]      # subset -> n, face_iou, hair_iou
    epochs: float | None
    size: tuple[int, ...] | None

    @classmethod
    def from_json(cls, d: Any, where: str) -> RcsResults | None:
        """The IoUs; None for a file of another kind (no test face IoU)."""
        d = _mapping(d, where, "the RCS metrics")
        if "test_face_iou" not in d:
            return None
        ious = {}
        for split in ("test", "train"):
            vals = {k: d[f"{split}_{k}"] for k in ("face_iou", "hair_iou")
                    if f"{split}_{k}" in d and _finite(d[f"{split}_{k}"])}
            if vals:
                ious[split] = Numbers(vals)
        by = d["by_subset"] if "by_subset" in d else {}
        test = _mapping(by, f"{where}: by_subset", "IoUs per split")
        test = test["test"] if "test" in test else {}
        subsets = {str(s): Numbers(_numbers(v, f"{where}: by_subset.test.{s}"))
                   for s, v in _mapping(test, f"{where}: by_subset.test",
                                        "IoUs per subset").items()}
        size = d["size"] if "size" in d else None
        if isinstance(size, int) and not isinstance(size, bool):
            size = [size]
        ok = isinstance(size, list) and all(isinstance(x, int) for x in size)
        return cls(ious, subsets, float(d["epochs"]) if "epochs" in d and _finite(d["epochs"])
                   else None, tuple(size) if ok else None)


# official CUT's scores (benchmarks/official_cut_reference.json) and ours alike
FIDELITY_METRICS = ("fid", "ssim_skimage", "psnr")


@dataclass(frozen=True)
class FidelityScores:
    """Scores per subset of one CUT run at official CUT's configuration
    (``benchmarks/official_cut.py``), and what it was run and scored with."""

    subsets: Mapping[str, Numbers]
    config: str | None = None
    scoring: str | None = None

    @classmethod
    def from_json(cls, d: Any, where: str) -> FidelityScores:
        d = _mapping(d, where, "CUT fidelity scores")
        subsets = _mapping(d["subsets"] if "subsets" in d else None, f"{where}: subsets",
                           "scores per subset")
        return cls({str(s): Numbers(_numbers(v, f"{where}: subsets.{s}", FIDELITY_METRICS))
                    for s, v in subsets.items()},
                   _text(_opt(d, "config")), _text(_opt(d, "scoring")))


@dataclass(frozen=True)
class CurvePoint:
    """One generator snapshot's means per group (``all`` and each subset)."""

    iteration: int
    groups: Mapping[str, Mapping[str, float]]

    def value(self, group: str, metric: str) -> float | None:
        g = self.groups[group] if group in self.groups else {}
        return g[metric] if metric in g else None


def _groups(d: Mapping[str, Any], where: str) -> dict[str, dict[str, float]]:
    """``{"subsets": {s: {...}}, "all": {...}}`` -> ``{s: {...}, ..., "all": {...}}``."""
    subsets = _mapping(d["subsets"] if "subsets" in d else {}, f"{where}: subsets",
                       "metrics per subset")
    out = {str(s): _numbers(v, f"{where}: {s}") for s, v in subsets.items()}
    if "all" in d and d["all"] is not None:
        out["all"] = _numbers(d["all"], f"{where}: all")
    return out


def _points(d: Mapping[str, Any], where: str, plural: str, one: str
            ) -> list[Mapping[str, Any]]:
    """A file's ``points``: a list of mappings, or one line naming the place."""
    pts = d["points"] if "points" in d else None
    if not isinstance(pts, list):
        raise ResultsError(f"{where}: points is not a list of {plural}")
    return [_mapping(p, f"{where}: points[{i}]", one) for i, p in enumerate(pts)]


@dataclass(frozen=True)
class Curve:
    """The curve stage's file of one run: a point per snapshot, in iteration order."""

    points: tuple[CurvePoint, ...]
    image_size: int | None = None

    @classmethod
    def from_json(cls, d: Any, where: str) -> Curve:
        d = _mapping(d, where, "a budget curve")
        points = []
        for i, p in enumerate(_points(d, where, "snapshots", "a snapshot's scores")):
            it = p["iteration"] if "iteration" in p else None
            if not isinstance(it, int) or isinstance(it, bool):
                raise ResultsError(f"{where}: points[{i}].iteration is not a count ({it!r})")
            points.append(CurvePoint(it, _groups(p, f"{where}: points[{i}]")))
        size = d["image_size"] if "image_size" in d else None
        return cls(tuple(sorted(points, key=lambda q: q.iteration)),
                   size if isinstance(size, int) and not isinstance(size, bool) else None)


@dataclass(frozen=True)
class SweepPoint:
    """One value of the swept knob: the experiment that ran it and the row's means per
    group for each of its seeds."""

    value: Any
    exp: str
    rev: str
    commit: str | None
    profile: str | None
    seeds: Mapping[int, Mapping[str, Mapping[str, float]]]   # seed -> group -> metric

    def values(self, group: str, metric: str) -> list[float] | None:
        """Each seed's value, or None unless every seed has one."""
        vals = [g[group][metric] for g in self.seeds.values()
                if group in g and metric in g[group]]
        return vals if vals and len(vals) == len(self.seeds) else None


@dataclass(frozen=True)
class Sweep:
    """``fss sweep-export``'s file: one knob's values, each an experiment."""

    key: str
    row: str
    profile: str | None
    command: str
    exported: str | None
    points: tuple[SweepPoint, ...]

    @classmethod
    def from_json(cls, d: Any, where: str) -> Sweep:
        d = _mapping(d, where, "a sweep export")
        points = []
        for i, p in enumerate(_points(d, where, "experiments", "an experiment")):
            at = f"{where}: points[{i}]"
            if "value" not in p or not isinstance(_opt(p, "seeds"), Mapping):
                raise ResultsError(f"{at}: not a point (value, seeds)")
            seeds = {}
            for s, run in p["seeds"].items():
                try:
                    seed = int(s)
                except ValueError:
                    raise ResultsError(f"{at}: seed {s!r} is not a number") from None
                seeds[seed] = _groups(_mapping(run, f"{at}.seeds.{s}", "a run's metrics"),
                                      f"{at}.seeds.{s}")
            points.append(SweepPoint(p["value"], str(_opt(p, "exp", "")),
                                     str(_opt(p, "rev", "")), _text(_opt(p, "commit")),
                                     _text(_opt(p, "profile")), dict(sorted(seeds.items()))))
        return cls(str(_opt(d, "key", "")), str(_opt(d, "row", "fss")),
                   _text(_opt(d, "profile")), str(_opt(d, "command", "")),
                   _text(_opt(d, "exported")), tuple(points))


def _opt(d: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """An optional field of a file (``default`` when absent)."""
    return d[key] if key in d else default


def _text(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)
