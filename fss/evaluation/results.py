"""The results records the stages exchange, each versioned, written and read here
only. The evaluation: what the evaluate stage writes per run (``paths.metrics``
``/<row>/seed<k>.json``, a reference's ``<row>.json``) and the fid_reference stage
writes as the real-sketch floor; its metric keys are the metric table's
(``fss.metrics.table``). The recognition: the recognize stage's rank-1 rates per probe
set (Table 7). The ablation tests: the ablation_tests stage's bootstrap of each step of
the ablation chain. The training summary: what a train stage writes beside its model
(``paths.train_metrics/<row>/seed<k>.json``). A file that names an unknown key, or a
file of an older schema, is refused with one line naming it (``dvc repro`` regenerates
it). Pure, no torch (the report and the gate import it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fss.errors import UserError
from fss.metrics.table import METRICS, interval_keys, of_kind

# 2: the version field, and KID's spread over KID subsets named "kid_spread" (the
# unversioned files of before called it "kid_std", the name a spread over seeds has).
EVALUATION_SCHEMA = "fss.evaluation/2"
KINDS = ("trained", "reference")  # (the floor is a reference)
KID_SPREAD = "kid_spread"


def value_keys() -> frozenset[str]:
    """The numbers a group of test images may carry: every set and per-image metric of
    the table, its face / hair versions where the table says so, and KID's spread."""
    keys = {m.key for m in of_kind("set", "image")}
    keys |= {f"{m.key}_{r}" for m in METRICS.values() if m.regions for r in ("face", "hair")}
    return frozenset(keys | {KID_SPREAD})


class ResultsError(UserError):
    """A results file that is not of this code's schema (older, damaged, hand-edited)."""


@dataclass(frozen=True)
class Scores:
    """One group of test images (a subset, or all of them): how many, each metric's
    value (None: no finite value, e.g. a region no image has) and the bootstrap
    interval of those that get one; ``n_train``: the floor's real training sketches."""
    n: int
    values: Mapping[str, float | None] = field(default_factory=dict)
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    n_train: int | None = None

    @classmethod
    def from_flat(cls, d: Mapping[str, Any], where: str) -> Scores:
        """From the evaluation's flat dict (``{"n", "fid", ..., "ssim_ci": [lo, hi]}``)."""
        if not isinstance(d, Mapping):
            raise ResultsError(f"{where}: not a mapping of metrics")
        known, with_ci = value_keys(), set(interval_keys())
        values: dict[str, float | None] = {}
        intervals: dict[str, tuple[float, float]] = {}
        for k, v in d.items():
            if k in ("n", "n_train"):
                continue
            if k.endswith("_ci") and k[:-3] in with_ci:
                intervals[k[:-3]] = _interval(v, f"{where}: {k}")
            elif k in known:
                if v is not None and not _number(v):
                    raise ResultsError(f"{where}: {k} is not a number ({v!r})")
                values[k] = None if v is None else float(v)
            else:
                raise ResultsError(f"{where}: unknown metric {k!r} (not in fss.metrics.table)")
        return cls(_count(d.get("n"), f"{where}: n"), values, intervals,
                   None if d.get("n_train") is None else _count(d["n_train"], f"{where}: n_train"))

    def flat(self) -> dict[str, Any]:
        """The flat dict the file holds."""
        out: dict[str, Any] = {"n": self.n, **self.values}
        out |= {f"{k}_ci": [lo, hi] for k, (lo, hi) in self.intervals.items()}
        if self.n_train is not None:
            out["n_train"] = self.n_train
        return out


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation: a trained run of a row (``seed``), or a reference (a trivial
    one, or the real-sketch floor), scored per subset and over all test images."""
    row: str
    kind: str
    subsets: Mapping[str, Scores]
    all: Scores | None = None
    seed: int | None = None
    profile: str | None = None
    image_size: int | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"evaluation kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if (self.seed is None) == (self.kind == "trained"):
            raise ValueError("a trained run's evaluation has a seed, a reference's none")

    @classmethod
    def from_scores(cls, row: str, kind: str, scores: Mapping[str, Any],
                    where: str | None = None, **meta: Any) -> EvaluationRecord:
        """From what ``evaluate_results`` (or ``real_sketch_floor``) returns; ``where``
        names it in errors (default: the row)."""
        where = where or f"evaluation of {row}"
        subsets = scores.get("subsets")
        if not isinstance(subsets, Mapping):
            raise ResultsError(f"{where}: no subsets")
        return cls(row, kind, {str(s): Scores.from_flat(m, f"{where}: {s}")
                               for s, m in subsets.items()},
                   Scores.from_flat(scores["all"], f"{where}: all")
                   if scores.get("all") is not None else None, **meta)

    def to_json(self) -> dict[str, Any]:
        return {"schema": EVALUATION_SCHEMA, **self.flat()}

    def flat(self) -> dict[str, Any]:
        """The record as one dict (the file's content without its schema; MLflow logs
        it): ``{"row", "kind", ..., "subsets": {s: {...}}, "all": {...}}``."""
        out: dict[str, Any] = {"row": self.row, "kind": self.kind, "seed": self.seed,
                               "profile": self.profile, "image_size": self.image_size,
                               "epochs": self.epochs,
                               "subsets": {s: m.flat() for s, m in self.subsets.items()}}
        if self.all is not None:
            out["all"] = self.all.flat()
        return out

    @classmethod
    def from_json(cls, d: Any, where: str) -> EvaluationRecord:
        if not isinstance(d, Mapping):
            raise ResultsError(f"{where}: not an evaluation (a JSON object)")
        _check_schema(d, EVALUATION_SCHEMA, "an evaluation", "the stage that writes it", where)
        meta = {}
        for k, kind in (("seed", int), ("profile", str), ("image_size", int), ("epochs", int)):
            v = d.get(k)
            if v is not None and (not isinstance(v, kind) or isinstance(v, bool)):
                raise ResultsError(f"{where}: {k} is not {kind.__name__} ({v!r})")
            meta[k] = v
        unknown = set(d) - {"schema", "row", "kind", "subsets", "all", *meta}
        if unknown:
            raise ResultsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if not isinstance(d.get("row"), str):
            raise ResultsError(f"{where}: row is not a name ({d.get('row')!r})")
        try:
            return cls.from_scores(d["row"], str(d.get("kind")), d, where, **meta)
        except ResultsError:
            raise
        except ValueError as e:
            raise ResultsError(f"{where}: {e}") from None


def read_evaluation(path: Path) -> EvaluationRecord:
    """The record in ``path``; one line naming it when it is not one of this schema."""
    return EvaluationRecord.from_json(_read(path), str(path))


def is_evaluation(d: Any) -> bool:
    """Whether a JSON document is meant as an evaluation (of any schema): other files
    share the metrics folder (training summaries, RCS IoUs, curves, sweeps)."""
    return isinstance(d, Mapping) and (isinstance(d.get("subsets"), Mapping)
                                       or str(d.get("schema", "")).startswith("fss.evaluation/"))


RECOGNITION_SCHEMA = "fss.recognition/2"   # 2: the version field; the fixed crop required


@dataclass(frozen=True)
class Rates:
    """One probe set's rates (rank-1, or the share MTCNN detects): per group of test
    images (``all`` and each subset) the rate and, with the bootstrap, its interval."""
    values: Mapping[str, float]
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_flat(cls, d: Any, where: str) -> Rates:
        if not isinstance(d, Mapping) or "all" not in d:
            raise ResultsError(f"{where}: not the rates of a probe set (no 'all')")
        values, intervals = {}, {}
        for k, v in d.items():
            if k.endswith("_ci"):
                intervals[k[:-3]] = _interval(v, f"{where}: {k}")
            elif _number(v) and 0.0 <= v <= 1.0:
                values[str(k)] = float(v)
            else:
                raise ResultsError(f"{where}: {k} is not a rate in [0, 1] ({v!r})")
        if not set(intervals) <= set(values):
            raise ResultsError(f"{where}: an interval without its rate "
                               f"({', '.join(sorted(set(intervals) - set(values)))})")
        return cls(values, intervals)

    def flat(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.values.items():
            out[k] = v
            if k in self.intervals:
                out[f"{k}_ci"] = list(self.intervals[k])
        return out


@dataclass(frozen=True)
class Crop:
    """The one face box every image is cropped at for FaceNet: ``box`` in pixels of the
    ``size`` px aligned image, from ``box_eye_distances`` around the eyes' midpoint."""
    box: tuple[float, float, float, float]
    size: int
    crop_size: int
    margin: int
    box_eye_distances: tuple[float, float, float, float]


@dataclass(frozen=True)
class RecognitionRecord:
    """Rank-1 of each probe set (the test photos, every run's sketches) against the
    gallery on the fixed crop (``probes``) and on each image's MTCNN box
    (``probes_mtcnn``), the share MTCNN detects (``detectable``, the gallery's too) and
    how many images MTCNN missed (``crop_fallbacks``)."""
    n_gallery: int
    crop: Crop
    probes: Mapping[str, Rates]
    probes_mtcnn: Mapping[str, Rates]
    detectable: Mapping[str, Rates]
    crop_fallbacks: Mapping[str, int]
    gallery: str = "real test sketches"
    metric: str = "rank-1"

    def flat(self) -> dict[str, Any]:
        c = self.crop
        return {"gallery": self.gallery, "n_gallery": self.n_gallery, "metric": self.metric,
                "crop": {"box": list(c.box), "size": c.size, "crop_size": c.crop_size,
                         "margin": c.margin, "box_eye_distances": list(c.box_eye_distances)},
                **{k: {n: r.flat() for n, r in getattr(self, k).items()} for k in PROBE_SETS},
                "crop_fallbacks": dict(self.crop_fallbacks)}

    def to_json(self) -> dict[str, Any]:
        return {"schema": RECOGNITION_SCHEMA, **self.flat()}

    @classmethod
    def from_json(cls, d: Any, where: str) -> RecognitionRecord:
        if not isinstance(d, Mapping):
            raise ResultsError(f"{where}: not a recognition file (a JSON object)")
        _check_schema(d, RECOGNITION_SCHEMA, "a recognition file", "the recognize stage", where)
        fields = {"schema", "gallery", "n_gallery", "metric", "crop", "crop_fallbacks",
                  *PROBE_SETS}
        if unknown := set(d) - fields:
            raise ResultsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if missing := fields - set(d):
            raise ResultsError(f"{where}: missing {', '.join(sorted(missing))}")
        crop = d["crop"]
        try:
            c = Crop(_quad(crop["box"]), _count(crop["size"], "size"),
                     _count(crop["crop_size"], "crop_size"), _count(crop["margin"], "margin"),
                     _quad(crop["box_eye_distances"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ResultsError(f"{where}: crop is not a fixed crop ({e})") from None
        sets = {}
        for k in PROBE_SETS:
            if not isinstance(d[k], Mapping):
                raise ResultsError(f"{where}: {k} is not a mapping of probe sets")
            sets[k] = {str(n): Rates.from_flat(r, f"{where}: {k}.{n}") for n, r in d[k].items()}
        if not isinstance(d["crop_fallbacks"], Mapping):
            raise ResultsError(f"{where}: crop_fallbacks is not a mapping of counts")
        return cls(_count(d["n_gallery"], f"{where}: n_gallery"), c, **sets,
                   crop_fallbacks={str(n): _count(v, f"{where}: crop_fallbacks.{n}")
                                   for n, v in d["crop_fallbacks"].items()},
                   gallery=str(d["gallery"]), metric=str(d["metric"]))


# recognition.json's sections of rates, each keyed by probe set (``fss/seed0``, ...).
PROBE_SETS = ("probes", "probes_mtcnn", "detectable")


def read_recognition(path: Path) -> RecognitionRecord:
    return RecognitionRecord.from_json(_read(path), str(path))


ABLATION_SCHEMA = "fss.ablation_tests/2"   # 2: the version field


@dataclass(frozen=True)
class StepTest:
    """One metric of one ablation step on one group of test images: the mean of
    ``to - from`` and its bootstrap interval; ``significant``: the interval excludes 0."""
    diff: float
    ci: tuple[float, float]
    significant: bool


@dataclass(frozen=True)
class AblationStep:
    """``from`` -> ``to`` of the ablation chain, per group (``all`` and each subset):
    how many test images, and each tested metric (``fss.metrics.table.ablation_keys``)."""
    from_row: str
    to_row: str
    n: Mapping[str, int]
    tests: Mapping[str, Mapping[str, StepTest]]


@dataclass(frozen=True)
class AblationTestsRecord:
    method: str
    levels: tuple[str, ...]
    resamples: int
    level: float
    seed: int
    seeds: Mapping[str, tuple[int, ...]]
    pairs: tuple[AblationStep, ...]

    @classmethod
    def from_flat(cls, d: Any, where: str) -> AblationTestsRecord:
        """From what ``fss.evaluation.ablation_tests.ablation_tests`` returns (the file
        without its schema field)."""
        from fss.metrics.table import ablation_keys

        if not isinstance(d, Mapping):
            raise ResultsError(f"{where}: not the ablation tests (a JSON object)")
        fields = {"method", "levels", "resamples", "level", "seed", "seeds", "pairs"}
        if unknown := set(d) - fields - {"schema"}:
            raise ResultsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if missing := fields - set(d):
            raise ResultsError(f"{where}: missing {', '.join(sorted(missing))}")
        level = d["level"]
        if not (_number(level) and 0.0 < level < 1.0):
            raise ResultsError(f"{where}: level is not in (0, 1) ({level!r})")
        seeds = d["seeds"]
        if not (isinstance(seeds, Mapping) and all(
                isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool)
                                            for x in v) for v in seeds.values())):
            raise ResultsError(f"{where}: seeds is not a list of seeds per row")
        if not isinstance(d["pairs"], list):
            raise ResultsError(f"{where}: pairs is not a list of steps")
        known = set(ablation_keys())
        steps = []
        for i, p in enumerate(d["pairs"]):
            at = f"{where}: pairs[{i}]"
            if not (isinstance(p, Mapping) and isinstance(p.get("from"), str)
                    and isinstance(p.get("to"), str) and isinstance(p.get("subsets"), Mapping)):
                raise ResultsError(f"{at}: not a step (from, to, subsets)")
            n, tests = {}, {}
            for g, m in p["subsets"].items():
                if not isinstance(m, Mapping):
                    raise ResultsError(f"{at}.{g}: not a mapping of metrics")
                n[str(g)] = _count(m.get("n"), f"{at}.{g}: n")
                tests[str(g)] = {}
                for k, t in m.items():
                    if k == "n":
                        continue
                    if k not in known:
                        raise ResultsError(f"{at}.{g}: {k!r} is not a tested metric "
                                           "(fss.metrics.table.ablation_keys)")
                    try:
                        tests[str(g)][k] = StepTest(float(t["diff"]), _pair(t["ci"]),
                                                    bool(t["significant"]))
                    except (KeyError, TypeError, ValueError):
                        raise ResultsError(f"{at}.{g}.{k}: not a test (diff, ci, "
                                           f"significant): {t!r}"[:200]) from None
            steps.append(AblationStep(p["from"], p["to"], n, tests))
        return cls(str(d["method"]), tuple(map(str, d["levels"])),
                   _count(d["resamples"], f"{where}: resamples"), float(level),
                   _count(d["seed"], f"{where}: seed"),
                   {str(r): tuple(v) for r, v in seeds.items()}, tuple(steps))

    def flat(self) -> dict[str, Any]:
        return {"method": self.method, "levels": list(self.levels),
                "resamples": self.resamples, "level": self.level, "seed": self.seed,
                "seeds": {r: list(v) for r, v in self.seeds.items()},
                "pairs": [{"from": p.from_row, "to": p.to_row, "subsets": {
                    g: {"n": p.n[g], **{k: {"diff": t.diff, "ci": list(t.ci),
                                            "significant": t.significant}
                                        for k, t in p.tests[g].items()}}
                    for g in p.n}} for p in self.pairs]}

    def to_json(self) -> dict[str, Any]:
        return {"schema": ABLATION_SCHEMA, **self.flat()}

    @classmethod
    def from_json(cls, d: Any, where: str) -> AblationTestsRecord:
        _check_schema(d, ABLATION_SCHEMA, "ablation tests", "the ablation_tests stage", where)
        return cls.from_flat(d, where)


def read_ablation_tests(path: Path) -> AblationTestsRecord:
    return AblationTestsRecord.from_json(_read(path), str(path))


def _interval(v: Any, where: str) -> tuple[float, float]:
    """A file's ``[lo, hi]``; one line naming the place when it is not one."""
    try:
        return _pair(v)
    except ValueError:
        raise ResultsError(f"{where} is not [lo, hi] ({v!r})") from None


def _pair(v: Any) -> tuple[float, float]:
    if not (isinstance(v, list | tuple) and len(v) == 2 and all(map(_number, v))):
        raise ValueError(f"{v!r} is not [lo, hi]")
    return (float(v[0]), float(v[1]))


TRAINING_SCHEMA = "fss.training/2"   # 2: the version field


@dataclass(frozen=True)
class TrainingSummary:
    """A training run's summary: its length, where and how it ran, the held-in L1 of
    its first and last epoch, every logged loss of its last epoch (``final``: the
    row's terms, the learning rate, the doubled share per layer, ...) and its cost;
    ``mlflow_run_id``: the run the evaluate stage logs the test metrics into."""
    row: str
    epochs: int
    iters_per_epoch: int
    steps_per_epoch: int
    device: str
    world_size: int
    precision: str
    channels_last: bool
    l1_first_epoch: float
    l1_last_epoch: float
    l1_ratio: float | None
    final: Mapping[str, float]
    seconds_per_iter: float
    seconds_this_run: float
    mlflow_run_id: str | None = None

    @classmethod
    def from_flat(cls, d: Any, where: str) -> TrainingSummary:
        """From what ``fss.training.loop.summarize`` returns (the file without its
        schema field)."""
        import dataclasses

        if not isinstance(d, Mapping):
            raise ResultsError(f"{where}: not a training summary (a JSON object)")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if unknown := set(d) - set(fields) - {"schema"}:
            raise ResultsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if missing := {n for n in fields if n != "mlflow_run_id"} - set(d):
            raise ResultsError(f"{where}: missing {', '.join(sorted(missing))}")
        for n in ("epochs", "iters_per_epoch", "steps_per_epoch", "world_size"):
            _count(d[n], f"{where}: {n}")
        for n in ("row", "device", "precision"):
            if not isinstance(d[n], str):
                raise ResultsError(f"{where}: {n} is not text ({d[n]!r})")
        for n in ("l1_first_epoch", "l1_last_epoch", "seconds_per_iter", "seconds_this_run"):
            if not _number(d[n]):
                raise ResultsError(f"{where}: {n} is not a number ({d[n]!r})")
        if d["l1_ratio"] is not None and not _number(d["l1_ratio"]):
            raise ResultsError(f"{where}: l1_ratio is not a number ({d['l1_ratio']!r})")
        if not isinstance(d["channels_last"], bool):
            raise ResultsError(f"{where}: channels_last is not true/false")
        final = d["final"]
        if not (isinstance(final, Mapping) and all(map(_number, final.values()))):
            raise ResultsError(f"{where}: final is not the last epoch's losses by name")
        run_id = d.get("mlflow_run_id")
        if run_id is not None and not isinstance(run_id, str):
            raise ResultsError(f"{where}: mlflow_run_id is not text ({run_id!r})")
        return cls(**{**{n: d[n] for n in fields if n in d},
                      "final": {str(k): float(v) for k, v in final.items()}})

    def flat(self) -> dict[str, Any]:
        import dataclasses

        out = dataclasses.asdict(self)
        if out["mlflow_run_id"] is None:
            del out["mlflow_run_id"]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"schema": TRAINING_SCHEMA, **self.flat()}

    @classmethod
    def from_json(cls, d: Any, where: str) -> TrainingSummary:
        _check_schema(d, TRAINING_SCHEMA, "a training summary", "the train stage", where)
        return cls.from_flat(d, where)


def read_training(path: Path) -> TrainingSummary:
    return TrainingSummary.from_json(_read(path), str(path))


def write_record(path: Path, record: EvaluationRecord | RecognitionRecord
                 | AblationTestsRecord | TrainingSummary) -> None:
    """Any record to its file (atomically: temp file, then rename), with its schema."""
    from fss.io import write_json

    write_json(path, record.to_json())


def _check_schema(d: Any, schema: str, what: str, stage: str, where: str) -> None:
    found = d.get("schema") if isinstance(d, Mapping) else None
    if found != schema:
        said = "no schema field" if found is None else f"schema {found!r}"
        raise ResultsError(f"{where}: {what} of an older or unknown schema ({said}; this "
                           f"code reads {schema}): rerun {stage} (dvc repro)")


def _read(path: Path) -> Any:
    from fss.io import read_json

    return read_json(path, error=ResultsError)


def _quad(v: Any) -> tuple[float, float, float, float]:
    if not (isinstance(v, list | tuple) and len(v) == 4 and all(map(_number, v))):
        raise ValueError(f"{v!r} is not four numbers")
    return (float(v[0]), float(v[1]), float(v[2]), float(v[3]))


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and (
        math.isfinite(v) or math.isnan(v))


def _count(v: Any, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ResultsError(f"{where} is not a count ({v!r})")
    return v
