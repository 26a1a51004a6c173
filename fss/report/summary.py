"""The main job's last screen: the headline numbers of Tables 3 and 7 in a few lines a
person can read in a terminal, and where the full report is. Pure: ``Inputs`` in, text
out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fss import published as pub
from fss.evaluation.results import AblationTestsRecord
from fss.metrics.table import table_columns
from fss.report.cells import METRICS, fmt, paper_numbers
from fss.report.inputs import Inputs
from fss.report.reading import run_profile, setup_summary
from fss.report.summaries import Group, RecognitionResults, RowResults
from fss.report.tables import TABLE3_ORDER, claimed_steps, seed_levels

HEADLINE_ROWS = ("cut", "fss")


def _value(m: Group, key: str) -> str:
    return fmt(m.value(key), METRICS[key].decimals)


def _table3_lines(rows: Mapping[str, RowResults | None], floor: RowResults | None,
                  subsets: Sequence[str] = pub.SUBSETS, paper: bool = True) -> list[str]:
    keys = [k for k in table_columns(TABLE3_ORDER) if k != "kid"]
    width = 30
    head = f"  {'row / subset':{width}s}" + "".join(f"{METRICS[k].short:>10s}" for k in keys)
    lines = [head]
    shown = {r: rows[r] if r in rows else None for r in HEADLINE_ROWS} | {"floor": floor}
    for r, d in shown.items():
        if d is None:
            lines.append(f"  {pub.NAMES.get(r, r):{width}s}not run")
            continue
        for s in subsets:
            m = d.group(s)
            if m is None:
                continue
            name = f"{pub.NAMES.get(r, 'real sketches (floor)')} {pub.SUBSET_NAMES.get(s, s)}"
            lines.append(f"  {name:{width}s}" + "".join(f"{_value(m, k):>10s}" for k in keys))
            theirs = paper_numbers(r, s) if paper else None
            if theirs:
                lines.append(f"  {'  (paper)':{width}s}" + "".join(
                    f"{fmt(theirs[k], METRICS[k].decimals) if k in theirs else '':>10s}"
                    for k in keys))
    return lines


def _table7_line(recognition: RecognitionResults | None, trained: Sequence[str],
                 paper: bool = True) -> str:
    probes = {} if recognition is None else recognition.probes
    if not probes:
        return "Table 7 (rank-1 %): not run"
    parts = []
    for r in ("test_photos", *trained):
        v = probes[r].value("all") if r in probes else None
        if v is not None:
            theirs = pub.TABLE7[r] if paper and r in pub.TABLE7 else None
            parts.append(f"{pub.NAMES.get(r, r)} {fmt(METRICS['rank1'].scale * v, 1)}"
                         + (f" (paper {theirs:.1f})" if theirs is not None else ""))
    return f"{'Table 7 ' if paper else ''}(rank-1 %, fixed crop): " + ", ".join(parts)


def _steps_line(tests: AblationTestsRecord | None) -> str:
    if tests is None:
        return "Ablation steps: not tested"
    steps, _ = claimed_steps(tests)
    survive = sum(s.verdict == "significant" for s in steps)
    covers = "seeds and test images" if seed_levels(tests) else "test images only"
    return (f"Ablation steps: {survive} of the paper's {len(steps)} claimed SSIM/PSNR gains "
            f"survive our bootstrap ({covers})")


def summary(inp: Inputs, report_path: str) -> str:
    profile, warnings = run_profile(inp)
    if inp.dataset != "cufs":   # the paper has no numbers on a user's pairs
        out = [f"FSS pipeline: profile {profile} ({setup_summary(inp.params)}), your pairs "
               f"from {inp.source.get('source', '?')}", "",
               "Per subset (headline rows):",
               *_table3_lines(inp.rows, inp.floor, inp.subsets, paper=False), "",
               "Recognition " + _table7_line(inp.recognition, inp.trained, paper=False)]
        out += [f"Warning: {w}." for w in warnings]
        return "\n".join([*out, "", f"Full report: {report_path}"])
    out = [f"FSS pipeline: profile {profile} ({setup_summary(inp.params)})", "",
           "Table 3 (headline rows; FID/PSNR/SSIM beside the paper's):",
           *_table3_lines(inp.rows, inp.floor), "",
           _table7_line(inp.recognition, inp.trained),
           _steps_line(inp.ablation)]
    out += [f"Warning: {w}." for w in warnings]
    out += ["", f"Full report: {report_path}"]
    return "\n".join(out)
