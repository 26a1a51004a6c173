"""The evaluation record: what the evaluate stage writes per run (``paths.metrics``
``/<row>/seed<k>.json``, a reference's ``<row>.json``) and the fid_reference stage
writes as the real-sketch floor, and what the report, the gate and the ablation tests
read. One schema, versioned, written and read here only: a metric key is one of the
metric table's (``fss.metrics.table``), so a file that names another, or a file of an
older schema, is refused with one line naming it (``dvc repro`` regenerates it). Pure,
no torch (the report and the gate import it)."""

from __future__ import annotations

import json
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
                if not (isinstance(v, list | tuple) and len(v) == 2 and all(map(_number, v))):
                    raise ResultsError(f"{where}: {k} is not [lo, hi] ({v!r})")
                intervals[k[:-3]] = (float(v[0]), float(v[1]))
            elif k in known:
                if v is not None and not _number(v):
                    raise ResultsError(f"{where}: {k} is not a number ({v!r})")
                values[k] = None if v is None else float(v)
            else:
                raise ResultsError(f"{where}: unknown metric {k!r} (not in fss.metrics.table)")
        return cls(_count(d.get("n"), f"{where}: n"), values, intervals,
                   None if d.get("n_train") is None else _count(d["n_train"], f"{where}: n_train"))

    def flat(self) -> dict[str, Any]:
        """The flat dict the file holds and the report's tables take."""
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
        """The record as one dict (the report summarises seeds over these; MLflow logs
        them): ``{"row", "kind", ..., "subsets": {s: {...}}, "all": {...}}``."""
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
        schema = d.get("schema")
        if schema != EVALUATION_SCHEMA:
            said = "no schema field" if schema is None else f"schema {schema!r}"
            raise ResultsError(f"{where}: an evaluation of an older or unknown schema ({said}; "
                               f"this code reads {EVALUATION_SCHEMA}): rerun the stage that "
                               "writes it (dvc repro)")
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


def write_evaluation(path: Path, record: EvaluationRecord) -> None:
    from fss.io import write_json

    write_json(path, record.to_json())


def read_evaluation(path: Path) -> EvaluationRecord:
    """The record in ``path``; one line naming it when it is not one of this schema."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"{path}: not valid JSON ({' '.join(str(e).split())}); rerun the "
                           "stage that writes it") from None
    return EvaluationRecord.from_json(d, str(path))


def is_evaluation(d: Any) -> bool:
    """Whether a JSON document is meant as an evaluation (of any schema): other files
    share the metrics folder (training summaries, RCS IoUs, curves, sweeps)."""
    return isinstance(d, Mapping) and (isinstance(d.get("subsets"), Mapping)
                                       or str(d.get("schema", "")).startswith("fss.evaluation/"))


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and (
        math.isfinite(v) or math.isnan(v))


def _count(v: Any, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ResultsError(f"{where} is not a count ({v!r})")
    return v
