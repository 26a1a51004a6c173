"""Numbers and cells: how one number of ours, or the paper's, becomes a table cell, the
same way in every table (``value [lo, hi]`` for one run, ``mean ± std`` over seeds, Δ to
the paper with its direction), and the markdown table they go in. Every other module of
the report builds on these; this one imports only ``summaries`` (the typed results)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fss import published as pub
from fss.evaluation.results import KID_SPREAD
from fss.metrics.table import METRICS as METRIC_TABLE
from fss.metrics.table import Metric
from fss.report.summaries import Group, Numbers, RowResults, TrainingRuns

# The evaluate stage's trivial references (fss.evaluation.evaluate.REFERENCES; not imported so
# that the report does not pull in torch).
REFERENCES: tuple[str, ...] = ("photo", "mean_sketch")
# The fid_reference stage's real-sketch floor (metrics/fid_floor.json), shown beside them.
FLOOR = "floor"
REFERENCE_NAMES = {"photo": "photo (grayscale test photo)",
                   "mean_sketch": "mean training sketch",
                   FLOOR: "real sketches (floor)"}
STAR = "✱"  # an ablation step whose interval excludes 0
NOT_RUN = "not run"
PUBLISHED_ONLY = "published only"
DASH = "—"


# The one metric table (label, direction, decimals, published or not): the same dict
# object, so an entry added there shows in every table here.
METRICS: dict[str, Metric] = METRIC_TABLE


# ---------------------------------------------------------------- numbers and cells

def _num(v: Any) -> float | None:
    """A finite number, or None (missing key, null, NaN)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def fmt(value: Any, decimals: int) -> str:
    v = _num(value)
    return DASH if v is None else f"{v:.{decimals}f}"


def cell(m: Numbers | None, key: str, decimals: int, scale: float = 1.0) -> str:
    """One number of ours, the same way in every table: ``mean ± std`` when the row ran
    several seeds, else ``value [lo, hi]`` with its bootstrap interval over test images,
    else the plain value. ``scale``: 100 for rates."""
    v = None if m is None else m.value(key)
    if v is None:
        return DASH

    def f(x: float) -> str:
        return f"{x * scale:.{decimals}f}"

    std = m.std(key)
    if std is not None:
        return f"{f(v)} ± {f(std)}"
    ci = m.ci(key)
    return f"{f(v)} [{f(ci[0])}, {f(ci[1])}]" if ci else f(v)


def kid_cell(m: Numbers | None) -> str:
    """KID x 1000 ± its spread over KID subsets (always shown: a single KID says little
    without it); with several seeds, KID's std over them after it."""
    d = METRICS["kid"].decimals
    v = None if m is None else m.value("kid")
    if v is None:
        return DASH
    spread, seed_std = m.value(KID_SPREAD), m.std("kid")
    out = f"{v:.{d}f}" + (f" ± {spread:.{d}f}" if spread is not None else "")
    return out + (f" (seeds ± {seed_std:.{d}f})" if seed_std is not None else "")


def metric_cell(m: Numbers | None, key: str) -> str:
    if key == "kid":
        return kid_cell(m)
    return cell(m, key, METRICS[key].decimals, METRICS[key].scale)


def delta(ours: Any, paper: Any, metric: Metric) -> str:
    """Signed ours - paper, with whether ours is better in that metric's direction."""
    o, p = _num(ours), _num(paper)
    if o is None or p is None:
        return DASH
    d = round(o - p, metric.decimals)
    if d == 0:
        return f"{0:.{metric.decimals}f} (equal)"
    better = (d < 0) == metric.lower_is_better
    return f"{d:+.{metric.decimals}f} ({'better' if better else 'worse'})"


def row_label(row: str) -> str:
    if row in REFERENCE_NAMES:
        return f"{REFERENCE_NAMES[row]} *(reference)*"
    name = pub.NAMES.get(row, row)
    return f"{name} *({PUBLISHED_ONLY})*" if row in pub.PUBLISHED_ONLY else name


def _table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(cells) + " |" for cells in lines]


@dataclass(frozen=True)
class Line:
    """One table line: ours (a metric dict, or None with ``status`` saying why) beside
    the paper's (None where the paper has no such row)."""

    row: str
    ours: Group | None
    paper: Mapping[str, float] | None
    status: str = NOT_RUN

    def theirs(self, key: str) -> float | None:
        return self.paper[key] if self.paper is not None and key in self.paper else None


def _ours(ln: Line, key: str) -> str:
    if ln.ours is not None:
        return metric_cell(ln.ours, key)
    # the paper has no number of this kind for a method it alone ran
    return DASH if ln.status == PUBLISHED_ONLY and not METRICS[key].published else ln.status


def compare_table(lines: Sequence[Line], metrics: Sequence[str],
                  paper: bool = True) -> list[str]:
    """Three adjacent columns per metric: ours | paper | delta; one (ours) for a metric
    the paper does not report, or for every metric with ``paper`` False (data the paper
    did not use). Δ is taken on the mean."""
    header = ["row"]
    for k in metrics:
        t = METRICS[k].label
        header += ([f"{t} ours", f"{t} (paper)", "Δ"] if METRICS[k].published and paper
                   else [f"{t} ours"])
    body = []
    for ln in lines:
        cells = [row_label(ln.row)]
        for k in metrics:
            m = METRICS[k]
            ours = _ours(ln, k)
            if not m.published or not paper:
                cells.append(ours)
                continue
            theirs = fmt(ln.theirs(k), m.decimals) if ln.paper else DASH
            d = delta(ln.ours.value(k), ln.theirs(k), m) if ln.ours and ln.paper else DASH
            cells += [ours, theirs, d]
        body.append(cells)
    return _table(header, body)


def paper_numbers(row: str, subset: str) -> Mapping[str, float] | None:
    """The paper's Table 3 numbers of a row on a subset; None where it has none."""
    by_subset = pub.TABLE3[row] if row in pub.TABLE3 else {}
    return by_subset[subset] if subset in by_subset else None


def ablation_rows(trained: Sequence[str]) -> list[str]:
    """The paper's ablation rows (Table 3), then any row added in params that the paper
    lacks."""
    known = set(pub.TABLE3) | set(pub.COMPARISON_METHODS)
    return list(pub.TABLE3) + [r for r in trained if r not in known]


def _seed_list(seeds: Sequence[Any]) -> str:
    return ", ".join(str(s) for s in seeds)


def seeds_note(seeds: Mapping[str, Sequence[int]]) -> str:
    """'mean ± std over seeds 0, 1' for the rows that ran several seeds; '' if none did.
    ``seeds``: each trained row's runs (the references, not trained, have none)."""
    runs = {r: list(s) for r, s in seeds.items() if s}
    multi = {r: s for r, s in runs.items() if len(s) > 1}
    if not multi:
        return ""
    if len(multi) == len(runs) and len({tuple(s) for s in multi.values()}) == 1:
        return f"Mean ± std over seeds {_seed_list(next(iter(multi.values())))}."
    return ("Mean ± std over seeds for " + "; ".join(
        f"{pub.NAMES.get(r, r)} (seeds {_seed_list(s)})" for r, s in multi.items())
        + "; the other rows ran once.")


def row_seeds(rows: Mapping[str, RowResults | TrainingRuns | None]) -> dict[str, tuple[int, ...]]:
    """Each row's seeds, for ``seeds_note``."""
    return {r: m.seeds for r, m in rows.items() if m is not None and m.seeds}


def _text(v: Any) -> str:
    """A string or count as a cell; a mean over seeds of a whole number prints whole."""
    x = _num(v)
    if x is not None:
        return str(int(x)) if x == int(x) else f"{x:g}"
    return DASH if v is None else str(v)


def _get(params: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    cur: Any = params
    for k in dotted.split("."):
        if not isinstance(cur, Mapping) or k not in cur:
            return default
        cur = cur[k]
    return cur


def _level(level: float | None) -> str:
    return "" if level is None else f"{100 * level:g} % "
