"""The budget-curve section: does FSS overtake CUT with training? From the curve stage's
files (``paths.curves/<profile>/<row>/seed<k>.json``, a point per generator snapshot):
mean ± std over seeds at each budget, the sentences (on each subset, the first budget
at which fss's mean FID is below cut's and whether it stays below, which way the gap's
trend points, and whether the last gap is larger than the seeds' spread) and a figure
of FID and DISTS against iterations. Pure: typed curves (``summaries.Curve``) in,
markdown or an RGB array out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fss import published as pub
from fss.report.summaries import Curve, RowResults

Runs = Mapping[int, Curve]                  # seed -> curve
ProfileCurves = Mapping[str, Runs]          # row -> seed -> curve
Curves = Mapping[str, ProfileCurves]        # profile -> row -> seed -> curve

FIGURE_PREFIX = "budget_"           # figures/budget_<profile>.png
FIGURE_METRICS = ("fid", "dists")
COMPARED = ("fss", "cut")           # the sentences: the paper's method against its baseline
GROUPS = (*pub.SUBSETS, "all")


@dataclass(frozen=True)
class Stat:
    iteration: int
    mean: float
    std: float | None    # None with one seed
    n: int


def curve_stats(runs: Runs, group: str, metric: str) -> list[Stat]:
    """Mean and sample std over the seeds at each budget every seed reached (a seed cut
    short would otherwise bend the mean where it stops)."""
    values: dict[int, dict[int, float]] = {}
    for seed, curve in runs.items():
        for p in curve.points:
            v = p.value(group, metric)
            if v is not None:
                values.setdefault(p.iteration, {})[seed] = v
    out = []
    for it in sorted(values):
        vs = list(values[it].values())
        if len(vs) != len(runs):
            continue
        mean = sum(vs) / len(vs)
        std = (math.sqrt(sum((v - mean) ** 2 for v in vs) / (len(vs) - 1))
               if len(vs) > 1 else None)
        out.append(Stat(it, mean, std, len(vs)))
    return out


def first_below(a: Sequence[Stat], b: Sequence[Stat]) -> int | None:
    """The first budget (both curves have) at which ``a``'s mean is below ``b``'s."""
    bm = {s.iteration: s.mean for s in b}
    return next((s.iteration for s in a if s.iteration in bm and s.mean < bm[s.iteration]),
                None)


def gap_trend(a: Sequence[Stat], b: Sequence[Stat]) -> tuple[list[tuple[int, float]], float | None]:
    """The gap ``a - b`` at each common budget and its least-squares slope per 1,000
    iterations (None with fewer than two budgets)."""
    bm = {s.iteration: s.mean for s in b}
    gap = [(s.iteration, s.mean - bm[s.iteration]) for s in a if s.iteration in bm]
    if len(gap) < 2:
        return gap, None
    x = np.array([g[0] for g in gap], dtype=float) / 1000.0
    y = np.array([g[1] for g in gap], dtype=float)
    return gap, float(np.polyfit(x, y, 1)[0])


def _seeds(runs: Mapping[int, Any]) -> str:
    """'seed 0' / 'seeds 0, 1, 2'."""
    return ("seed " if len(runs) == 1 else "seeds ") + (", ".join(str(s) for s in sorted(runs))
                                                      or "none")


def _name(group: str) -> str:
    return pub.SUBSET_NAMES.get(group, group)


def crossing_sentence(runs_a: Runs, runs_b: Runs, group: str,
                      a: str = "fss", b: str = "cut", metric: str = "FID") -> str:
    """One subset's sentence (lower is better): where ``a``'s mean FID first goes below
    ``b``'s, if it does, at how many budgets and whether it stays below to the last;
    the gap at the first and last budget and which way its trend points; and how the
    last gap compares with the seeds' spread (``spread_clause``)."""
    sa, sb = curve_stats(runs_a, group, "fid"), curve_stats(runs_b, group, "fid")
    gap, slope = gap_trend(sa, sb)
    if not gap:
        return f"{_name(group)}: no budget with both {a} and {b} scored."
    spread = spread_clause(sa, sb, a, b)
    last_it, last_gap = gap[-1]
    if len(gap) == 1:
        side = "below" if last_gap < 0 else "not below"
        return (f"{_name(group)}: {a}'s mean {metric} is {side} {b}'s at their only common "
                f"budget ({last_it:,} iterations): gap ({a} − {b}) {last_gap:+.1f}. {spread}")
    first = first_below(sa, sb)
    below = [it for it, g in gap if g < 0]
    if first is None:
        head = (f"{_name(group)}: {a}'s mean {metric} is never below {b}'s up to "
                f"{last_it:,} iterations")
    else:
        # "first below" alone would read as "from then on" on a curve that crosses back
        since = stays_below_from(gap)
        where = (f"at every budget from {since:,} on" if since is not None
                 else "not at the last")
        head = (f"{_name(group)}: {a}'s mean {metric} is below {b}'s first at {first:,} "
                f"iterations, at {len(below)} of {len(gap)} budgets, {where}")
    tail = (f"; the gap ({a} − {b}) is {gap[0][1]:+.1f} at {gap[0][0]:,} and "
            f"{last_gap:+.1f} at {last_it:,}")
    assert slope is not None   # two budgets or more
    if last_gap > 0:
        way = ("narrowing, towards a crossing" if slope < 0
               else "not narrowing: its trend points away from a crossing")
    else:
        way = ("widening in " + a + "'s favour" if slope < 0
               else "narrowing: " + b + " is catching up")
    return (head + tail + f", a linear trend of {slope:+.1f} per 1,000 iterations ({way}). "
            + spread)


def stays_below_from(gap: Sequence[tuple[int, float]]) -> int | None:
    """The earliest budget from which the gap is negative at every later budget (None
    when it is not negative at the last)."""
    since = None
    for it, g in reversed(gap):
        if g >= 0:
            break
        since = it
    return since


def spread_clause(a: Sequence[Stat], b: Sequence[Stat], name_a: str = "fss",
                  name_b: str = "cut") -> str:
    """The last common budget's gap against the sum of the two rows' seed stds: a
    yardstick, not a significance test (with two or three seeds a confidence interval
    of the difference is far wider), so a gap inside it is one that seed-to-seed
    variation alone could explain, and one outside it is only not explained by it."""
    bm = {s.iteration: s for s in b}
    common = [s for s in a if s.iteration in bm]
    if not common:
        return ""
    sa = common[-1]
    sb = bm[sa.iteration]
    one = [n for n, st in ((name_a, sa), (name_b, sb)) if st.std is None]
    if one:
        return f"{' and '.join(one)}: one seed, no spread to judge the gap by."
    gap, spread = sa.mean - sb.mean, sa.std + sb.std
    stds = (f"{sa.std:.1f} + {sb.std:.1f}; {name_a} {sa.n} seeds, {name_b} {sb.n}; "
            "a yardstick, not a significance test")
    if abs(gap) > spread:
        return (f"At {sa.iteration:,} the gap ({gap:+.1f}) is larger than the sum of the two "
                f"rows' seed stds ({stds}).")
    return (f"At {sa.iteration:,} the gap ({gap:+.1f}) is within the sum of the two rows' "
            f"seed stds ({stds}): seed-to-seed variation alone could explain it.")


def budget_sentences(curves: ProfileCurves) -> list[str]:
    """The crossing sentence per subset and over all test images, for the compared rows."""
    a, b = COMPARED
    if a not in curves or b not in curves:
        return []
    groups = [g for g in GROUPS
              if curve_stats(curves[a], g, "fid") and curve_stats(curves[b], g, "fid")]
    return [crossing_sentence(curves[a], curves[b], g, a, b) for g in groups]


def has_points(curves: ProfileCurves) -> bool:
    return any(c.points for runs in curves.values() for c in runs.values())


def profiles_with_points(all_curves: Curves) -> list[str]:
    return [p for p, rows in all_curves.items() if has_points(rows)]


def reference_lines(floor: RowResults | None, photo: RowResults | None,
                    group: str, metric: str) -> dict[str, float]:
    """The figure's horizontal lines: the real-sketch floor (FID only: it compares two
    sets of real sketches) and the grayscale test photo."""
    out = {}
    for name, d, ok in (("real-sketch floor", floor, metric == "fid"),
                        ("grayscale photo", photo, True)):
        g = None if d is None or not ok else d.group(group)
        v = None if g is None else g.value(metric)
        if v is not None:
            out[name] = v
    return out


def budget_figure(curves: ProfileCurves, rows: Sequence[str],
                  lines_of: Mapping[tuple[str, str], Mapping[str, float]],
                  title: str) -> np.ndarray:
    """FID (top) and DISTS (bottom) against iterations per subset, a line per row with
    its ± std band; ``lines_of[(group, metric)]``: the reference lines. RGB uint8."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g in GROUPS if any(curve_stats(curves[r], g, "fid") for r in rows
                                       if r in curves)]
    fig, axes = plt.subplots(len(FIGURE_METRICS), max(len(groups), 1),
                             figsize=(3.2 * max(len(groups), 1), 5.6), squeeze=False)
    for j, g in enumerate(groups):
        for i, metric in enumerate(FIGURE_METRICS):
            ax = axes[i][j]
            for r in rows:
                st = curve_stats(curves[r] if r in curves else {}, g, metric)
                if not st:
                    continue
                x = [s.iteration for s in st]
                y = np.array([s.mean for s in st])
                line, = ax.plot(x, y, marker="o", ms=3, label=r)
                if all(s.std is not None for s in st):
                    sd = np.array([s.std for s in st])
                    ax.fill_between(x, y - sd, y + sd, color=line.get_color(), alpha=0.2)
            lines = lines_of[(g, metric)] if (g, metric) in lines_of else {}
            for k, (name, v) in enumerate(sorted(lines.items())):
                ax.axhline(v, color="0.4", ls=("--", ":")[k % 2], lw=1, label=name)
            ax.set_title(f"{metric.upper()} · {_name(g)}", fontsize=9)
            ax.tick_params(labelsize=7)
            if i == len(FIGURE_METRICS) - 1:
                ax.set_xlabel("training iterations", fontsize=8)
    if groups:
        axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return rgb


def figure_title(profile: str, curves: ProfileCurves, rows: Sequence[str]) -> str:
    seeds = sorted({s for r in rows if r in curves for s in curves[r]})
    return (f"FID and DISTS against training iterations (profile {profile}, "
            f"{_seeds(dict.fromkeys(seeds))}; mean ± std over seeds)")


def curve_rows(curves: ProfileCurves) -> list[str]:
    """The rows of a profile's curves, in the ablation's order (Table 3's)."""
    order = list(pub.TABLE3)
    return sorted(curves, key=lambda r: (order.index(r) if r in order else len(order), r))


def curve_sizes(curves: ProfileCurves) -> set[int | None]:
    """The image sizes a profile's curves were scored at."""
    return {c.image_size for runs in curves.values() for c in runs.values()}


def at_size(curves: ProfileCurves, size: Any) -> bool:
    """Whether every curve was scored at ``size`` (the report's floor and photo lines
    were measured at the report's size and mean nothing at another)."""
    return size is not None and curve_sizes(curves) == {size}


def budget_section(all_curves: Curves, figures: Sequence[tuple[str, str]],
                   report_size: Any = None) -> str:
    """The section's markdown: per profile with points, the figure, the seeds and the
    sentences; the protocol note; a line saying how to make curves when there are none."""
    parts = ["## Does FSS overtake CUT with training? (budget curves)", ""]
    profiles = profiles_with_points(all_curves)
    if not profiles:
        parts += ["No budget curves yet: run a profile with generator snapshots "
                  "(`train.snapshot_every`), e.g. `dvc exp run -S profile=cpu_long "
                  "-S 'train.seeds=[0]' curve` (README, \"Budget curves\"); the curve stage's "
                  "files are read from every profile.", ""]
    shown = dict(figures)
    for profile in profiles:
        curves = all_curves[profile]
        rows = curve_rows(curves)
        parts += [f"**Profile {profile}**: " + "; ".join(
            f"{r} {_seeds(curves[r])} "
            f"({len(curve_stats(curves[r], 'all', 'fid'))} budgets)" for r in rows) + ".", ""]
        name = f"{FIGURE_PREFIX}{profile}.png"
        if name in shown:
            parts += [f"![{shown[name]}](figures/{name})", "", f"*{shown[name]}*", ""]
            if report_size is not None and not at_size(curves, report_size):
                sizes = ", ".join(map(str, sorted(curve_sizes(curves), key=str)))
                parts += [f"(No reference lines: the curves are at {sizes} "
                          f"px, this report's floor and photo at {report_size} px.)", ""]
        parts += [f"- {s}" for s in budget_sentences(curves)]
        parts += [""]
    parts += ["Every table above reports each run's final model; no snapshot is chosen by a "
              "test metric. CUT-family papers often report the best FID seen during "
              "training, a protocol difference to keep in mind when comparing with the "
              "paper's numbers.", ""]
    return "\n".join(parts)
