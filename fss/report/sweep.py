"""The report's section on a one-knob sweep (``fss sweep-export``'s file, typed as
``summaries.Sweep``): per value, the row's metrics per subset (mean ± std over its
seeds) and sentences on what the knob does. Pure: typed sweeps in, markdown out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from fss import published as pub
from fss.report.summaries import Sweep, SweepPoint
from fss.sweep_export import SWEEP_METRICS

Stat = tuple[float, float | None]   # mean and sample std over seeds (None: one seed)


def _stat(point: SweepPoint, group: str, metric: str) -> Stat | None:
    vals = point.values(group, metric)
    if vals is None:
        return None
    mean = sum(vals) / len(vals)
    std = (math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
           if len(vals) > 1 else None)
    return mean, std


def _cell(s: Stat | None, decimals: int) -> str:
    if s is None:
        return "—"
    mean, std = s
    return f"{mean:.{decimals}f}" + (f" ± {std:.{decimals}f}" if std is not None else "")


DECIMALS = {"fid": 1, "ssim": 4, "lpips": 4, "dists": 4}
LOWER_IS_BETTER = {"fid": True, "ssim": False, "lpips": True, "dists": True}


def _fmt(s: Stat, dec: int) -> str:
    return f"{s[0]:.{dec}f}" + (f" ± {s[1]:.{dec}f}" if s[1] is not None else "")


def _within_spread(a: Stat, b: Stat) -> bool | None:
    """Whether two values' means differ by no more than the sum of their seed stds (None
    when either ran once): the budget curves' yardstick, not a significance test."""
    if a[1] is None or b[1] is None:
        return None
    return abs(b[0] - a[0]) <= a[1] + b[1]


def sweep_sentences(points: Sequence[SweepPoint], key: str) -> list[str]:
    """Per metric over all test images: where along the knob it is best and worst,
    whether the means move one way as the knob grows, and whether the differences are
    larger than the seeds' spread (the sum of the two values' seed stds)."""
    out = []
    for metric in SWEEP_METRICS:
        stats = [(p.value, _stat(p, "all", metric)) for p in points]
        stats = [(v, s) for v, s in stats if s is not None]
        if len(stats) < 2:
            continue
        lower = LOWER_IS_BETTER[metric]
        best = min(stats, key=lambda t: t[1][0] if lower else -t[1][0])
        worst = max(stats, key=lambda t: t[1][0] if lower else -t[1][0])
        diffs = [b[1][0] - a[1][0] for a, b in zip(stats, stats[1:], strict=False)]
        shape = ("rises with it" if all(d > 0 for d in diffs) else
                 "falls with it" if all(d < 0 for d in diffs) else "is not monotone in it")
        dec = DECIMALS[metric]
        line = (f"{metric.upper()} (all test images) {shape} (means): best at {key} = "
                f"{best[0]} ({_fmt(best[1], dec)}), worst at {worst[0]} "
                f"({_fmt(worst[1], dec)}).")
        within = _within_spread(best[1], worst[1])
        if within is None:
            line += " One of the two ran once: no seed spread to judge the gap by."
        elif within:
            line += (" Best and worst are within the sum of their seed stds: seed-to-seed "
                     "variation alone could explain the difference.")
        else:
            steps = [_within_spread(a[1], b[1]) for a, b in zip(stats, stats[1:], strict=False)]
            inside = [f"{a[0]} → {b[0]}" for (a, b), w
                      in zip(zip(stats, stats[1:], strict=False), steps, strict=True) if w]
            judged = sum(w is not None for w in steps)
            line += " Best and worst differ by more than the sum of their seed stds"
            line += (f"; between neighbouring values, {len(inside)} of {judged} steps "
                     f"judged are within it ({', '.join(inside)})." if inside else ".")
        out.append(line)
    return out


def sweep_section(sweeps: Mapping[str, Sweep]) -> str:
    """The markdown for every committed sweep (``{key: export}``)."""
    parts = []
    for key, sweep in sweeps.items():
        points = sweep.points
        if not points:
            continue
        parts += [f"## What `{key}` does ({sweep.row} row, profile {sweep.profile or '?'})", "",
                  f"One `dvc exp run` per value (`{sweep.command}`), exported from "
                  f"`dvc exp show --json` at {sweep.exported or '?'}; mean ± std over each "
                  "experiment's seeds; commit: the one the experiment ran on. 'Within the "
                  "sum of their seed stds' is a yardstick, not a significance test: with "
                  "three seeds a confidence interval of a difference is far wider.", ""]
        groups = [*pub.SUBSETS, "all"]
        header = ["`" + key + "`", "seeds", "commit",
                  *[f"{m.upper()} {pub.SUBSET_NAMES.get(g, g)}" for m in SWEEP_METRICS
                    for g in (groups if m == "fid" else ["all"])]]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for p in points:
            cells = [str(p.value), ", ".join(map(str, p.seeds)),
                     f"`{p.commit[:7]}`" if p.commit else "—"]
            for m in SWEEP_METRICS:
                for g in (groups if m == "fid" else ["all"]):
                    cells.append(_cell(_stat(p, g, m), DECIMALS[m]))
            lines.append("| " + " | ".join(cells) + " |")
        parts += [*lines, ""]
        parts += [f"- {s}" for s in sweep_sentences(points, key)] + [""]
    return "\n".join(parts)


