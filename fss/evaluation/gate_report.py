"""The metric gate's verdict as a Markdown report, for a pull-request comment (CML):
one table row per baseline metric (baseline, now, delta, tolerance, verdict),
regressions first and the metrics within tolerance folded away; one row per quality
check of a trained run (now, the reference, the bound, verdict), failures first; then
``dvc metrics diff --md``.
A renderer over the gate's verdict (``metric_gate.compare``), so the gate's rules
stay in one place."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fss.evaluation.metric_gate import Quality

# Verdicts, in the order the report lists them.
ORDER = ("worse", "missing", "better", "new", "within")


@dataclass(frozen=True)
class Row:
    name: str
    baseline: float | None
    current: float | None
    tolerance: float | None
    verdict: str  # one of ORDER

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def verdict_rows(current: dict[str, float], baseline: dict[str, float], worse: list,
                 better: list, tolerance: Callable[[str], float | None]) -> list[Row]:
    """Every metric of ``baseline`` and ``current`` with its verdict: the gate's
    regressions (``worse``; current None: missing now) and improvements (``better``)
    as it decided them, the rest within tolerance, and metrics the baseline lacks
    (``new``, not gated). ``tolerance(name)`` for the rows the gate did not list."""
    decided = {c.name: c for c in worse} | {c.name: c for c in better}
    rows = []
    for name in sorted(set(baseline) | set(current)):
        c = decided.get(name)
        if c is not None:
            verdict = ("missing" if c.current is None else "worse") if c.worse else "better"
            rows.append(Row(name, c.baseline, c.current, c.tolerance, verdict))
        elif name in baseline:
            rows.append(Row(name, baseline[name], current.get(name), tolerance(name), "within"))
        else:
            rows.append(Row(name, None, current[name], None, "new"))
    return sorted(rows, key=lambda r: (ORDER.index(r.verdict), r.name))


def _num(v: float | None, sign: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.4g}" if sign else f"{v:.4g}"


LABEL = {"worse": "**worse**", "missing": "**missing now**", "better": "better",
         "new": "new (not in the baseline)", "within": "within"}


def _table(rows: list[Row]) -> list[str]:
    lines = ["| metric | baseline | now | delta | tolerance | verdict |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| `{r.name}` | {_num(r.baseline)} | {_num(r.current)} | {_num(r.delta, True)} "
              f"| {_num(r.tolerance)} | {LABEL[r.verdict]} |" for r in rows]
    return lines


def _quality_table(checks: list[Quality]) -> list[str]:
    lines = ["| run | metric | now | reference | bound | verdict |",
             "|---|---|---:|---|---:|---|"]
    lines += [f"| `{q.run}` | {q.metric} | {_num(q.value)} | {q.reference} "
              f"{_num(q.reference_value)} {'+' if q.margin >= 0 else '-'} {abs(q.margin):g} "
              f"| {_num(q.bound)} | {'pass' if q.passed else '**fail**'} |"
              for q in sorted(checks, key=lambda q: (q.passed, q.run, q.metric))]
    return lines


def markdown(rows: list[Row], baseline_path: Path | str, dvc_diff: str | None = None,
             checks: list[Quality] | None = None) -> str:
    """The report: a one-line verdict, the baseline table (the metrics within tolerance
    in a folded section), the quality checks of the trained runs (``checks``, if any),
    then ``dvc_diff`` (the output of ``dvc metrics diff --md``) if any."""
    checks = checks or []
    count = {v: sum(r.verdict == v for r in rows) for v in ORDER}
    failed_checks = sum(not q.passed for q in checks)
    failed = count["worse"] + count["missing"] + failed_checks
    head = "FAIL" if failed else "PASS"
    parts = ", ".join(f"{count[v]} {v}" for v in ORDER if count[v])
    lines = [f"## Metric gate: {head}", "",
             f"Reproducible metrics (no trained generator) against `{baseline_path}`: "
             f"{parts or 'no metrics'}. Tolerances and directions: `fss/metrics/table.py`; "
             "after a deliberate change: `fss gate update`.", ""]
    shown = [r for r in rows if r.verdict != "within"]
    within = [r for r in rows if r.verdict == "within"]
    if shown:
        lines += [*_table(shown), ""]
    if within:
        lines += [f"<details><summary>{len(within)} metrics within tolerance</summary>", "",
                  *_table(within), "", "</details>", ""]
    if checks:
        lines += ["### Quality of the trained runs", "",
                  f"{len(checks) - failed_checks} of {len(checks)} checks pass: each trained "
                  "run, over all test images, within params `gate.quality` of the better "
                  "trivial reference.", "", *_quality_table(checks), ""]
    if dvc_diff is not None:
        lines += ["### `dvc metrics diff`", "", dvc_diff.strip() or "(no differences)", ""]
    return "\n".join(lines)


def dvc_metrics_diff(root: Path, rev: str) -> str:
    """``dvc metrics diff --md REV`` in ``root`` (the workspace against REV); when DVC
    cannot run it, one line saying why, so the report is still written."""
    cmd = [sys.executable, "-m", "dvc", "metrics", "diff", "--md", rev]
    try:
        r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        return f"`dvc metrics diff --md {rev}` could not run: {e}"
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
        return f"`dvc metrics diff --md {rev}` failed: {why}"
    return f"Workspace against `{rev}`:\n\n{r.stdout.strip() or '(no differences)'}"
