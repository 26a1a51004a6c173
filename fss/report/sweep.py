"""A one-knob sweep run the way DVC users run one (``dvc exp run --queue -S
loss.alpha=...``), exported from ``dvc exp show --json`` to a small committed file the
report reads (``paths.sweeps/<key>.json``), and the report's section on it: per value,
the row's metrics per subset (mean ± std over its seeds) and sentences on what the knob
does. Pure: the command (``fss sweep-export``) reads and writes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fss import published as pub

# What the section shows of each experiment, per subset (lower / higher is better as in
# fss.metrics.table).
SWEEP_METRICS = ("fid", "ssim", "lpips", "dists")


def _dotted(d: Mapping[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(d, Mapping) or part not in d:
            return None
        d = d[part]
    return d


def _revs(exp_show: Sequence[Mapping[str, Any]]):
    """Every committed revision and experiment of ``dvc exp show --json`` (not the
    workspace, which repeats one of them), each once: (name, rev, baseline commit,
    whether it is an experiment, data)."""
    seen = set()
    for base in exp_show:
        if base.get("rev") == "workspace":
            continue
        if base.get("data"):
            yield base.get("name") or base["rev"][:7], base["rev"], base["rev"], False, base["data"]
            seen.add(base["rev"])
        for exp in base.get("experiments") or []:
            for r in exp.get("revs") or []:
                if r.get("rev") in seen or not r.get("data") or r.get("error"):
                    continue
                seen.add(r["rev"])
                yield (r.get("name") or exp.get("name") or r["rev"][:7], r["rev"], base["rev"],
                       True, r["data"])


def _means(d: Any) -> dict[str, float]:
    if not isinstance(d, Mapping):
        return {}
    return {k: float(v) for k, v in d.items() if k in SWEEP_METRICS
            and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


def sweep_points(exp_show: Sequence[Mapping[str, Any]], key: str, row: str,
                 metrics_dir: str, params_file: str = "params.yaml") -> list[dict[str, Any]]:
    """One point per experiment (and committed baseline) that has ``row``'s evaluation:
    ``{"exp", "rev", "commit", "profile", "value" (of ``key``), "seeds": {seed:
    {"subsets", "all"}}}``, in the order of the key's value. ``metrics_dir``:
    ``paths.metrics`` as the experiments' files name it."""
    folder = re.escape(f"{metrics_dir.rstrip('/')}/{row}")
    pattern = re.compile(rf"^{folder}/seed(\d+)\.json$")
    by_value: dict[Any, dict[str, Any]] = {}
    rank: dict[Any, tuple[bool, int]] = {}
    for name, rev, baseline, is_exp, data in _revs(exp_show):
        params = ((data.get("params") or {}).get(params_file) or {}).get("data") or {}
        value = _dotted(params, key)
        seeds = {}
        for path, m in (data.get("metrics") or {}).items():
            hit = pattern.match(path)
            d = (m or {}).get("data")
            if hit and isinstance(d, Mapping) and isinstance(d.get("subsets"), Mapping):
                seeds[int(hit.group(1))] = {
                    "subsets": {s: _means(v) for s, v in d["subsets"].items()},
                    "all": _means(d.get("all"))}
        if value is None or not seeds:
            continue
        # One point per value. An experiment beats a committed revision, whose metrics
        # files may come from an older run than the sweep's; then more seeds win, and
        # on a tie the first listed (dvc lists the newest baseline first).
        if value not in by_value or (is_exp, len(seeds)) > rank[value]:
            rank[value] = (is_exp, len(seeds))
            by_value[value] = {"exp": name, "rev": rev, "commit": baseline,
                               "profile": str(_dotted(params, "meta.profile")), "value": value,
                               "seeds": dict(sorted(seeds.items()))}
    return [by_value[v] for v in sorted(by_value, key=_value_order)]


def _value_order(v: Any) -> tuple[int, float, str]:
    """Numbers in order (100 and 100.0 alike), then anything else by its text."""
    number = isinstance(v, int | float) and not isinstance(v, bool)
    return (0, float(v), "") if number else (1, 0.0, str(v))


def _stat(point: Mapping[str, Any], group: str, metric: str) -> tuple[float, float | None] | None:
    vals = []
    for run in point["seeds"].values():
        d = run.get("all") if group == "all" else (run.get("subsets") or {}).get(group)
        v = (d or {}).get(metric)
        if v is not None:
            vals.append(float(v))
    if len(vals) != len(point["seeds"]) or not vals:
        return None
    mean = sum(vals) / len(vals)
    std = (math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
           if len(vals) > 1 else None)
    return mean, std


def _cell(s: tuple[float, float | None] | None, decimals: int) -> str:
    if s is None:
        return "—"
    mean, std = s
    return f"{mean:.{decimals}f}" + (f" ± {std:.{decimals}f}" if std is not None else "")


DECIMALS = {"fid": 1, "ssim": 4, "lpips": 4, "dists": 4}
LOWER_IS_BETTER = {"fid": True, "ssim": False, "lpips": True, "dists": True}


def _fmt(s: tuple[float, float | None], dec: int) -> str:
    return f"{s[0]:.{dec}f}" + (f" ± {s[1]:.{dec}f}" if s[1] is not None else "")


def _within_spread(a: tuple[float, float | None], b: tuple[float, float | None]) -> bool | None:
    """Whether two values' means differ by no more than the sum of their seed stds (None
    when either ran once): the budget curves' yardstick, not a significance test."""
    if a[1] is None or b[1] is None:
        return None
    return abs(b[0] - a[0]) <= a[1] + b[1]


def sweep_sentences(points: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """Per metric over all test images: where along the knob it is best and worst,
    whether the means move one way as the knob grows, and whether the differences are
    larger than the seeds' spread (the sum of the two values' seed stds)."""
    out = []
    for metric in SWEEP_METRICS:
        stats = [(p["value"], _stat(p, "all", metric)) for p in points]
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


def sweep_section(sweeps: Mapping[str, Mapping[str, Any]]) -> str:
    """The markdown for every committed sweep (``{key: export}``)."""
    parts = []
    for key, sweep in sweeps.items():
        points = sweep.get("points") or []
        if not points:
            continue
        row = sweep.get("row", "fss")
        parts += [f"## What `{key}` does ({row} row, profile {sweep.get('profile', '?')})", "",
                  f"One `dvc exp run` per value (`{sweep.get('command', '')}`), exported from "
                  f"`dvc exp show --json` at {sweep.get('exported', '?')}; mean ± std over each "
                  "experiment's seeds; commit: the one the experiment ran on. 'Within the "
                  "sum of their seed stds' is a yardstick, not a significance test: with "
                  "three seeds a confidence interval of a difference is far wider.", ""]
        groups = [*pub.SUBSETS, "all"]
        header = ["`" + key + "`", "seeds", "commit",
                  *[f"{m.upper()} {pub.SUBSET_NAMES.get(g, g)}" for m in SWEEP_METRICS
                    for g in (groups if m == "fid" else ["all"])]]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for p in points:
            cells = [str(p["value"]), ", ".join(map(str, p["seeds"])),
                     f"`{p['commit'][:7]}`" if p.get("commit") else "—"]
            for m in SWEEP_METRICS:
                for g in (groups if m == "fid" else ["all"]):
                    cells.append(_cell(_stat(p, g, m), DECIMALS[m]))
            lines.append("| " + " | ".join(cells) + " |")
        parts += [*lines, ""]
        parts += [f"- {s}" for s in sweep_sentences(points, key)] + [""]
    return "\n".join(parts)


def sweep_export(exp_show: Sequence[Mapping[str, Any]], key: str, row: str, metrics_dir: str,
                 command: str, exported: str) -> dict[str, Any]:
    """The committed file's content: the points and what made them."""
    points = sweep_points(exp_show, key, row, metrics_dir)
    return {"key": key, "row": row, "profile": ", ".join(sorted({p["profile"] for p in points})),
            "command": command, "exported": exported, "points": points}


def merge_sweeps(committed: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``new`` added to an export already committed (``fss sweep-export --add``): DVC's
    experiments live in one clone, so a sweep run in parts (other days, other machines)
    is exported in parts. For a value in both, the rule of one export: an experiment
    beats a committed revision, then more seeds win, then ``new``. Every point keeps its
    own experiment, commit and profile. Raises ValueError when the two are not one sweep
    (another key or row, or points kept of more than one profile)."""
    for field in ("key", "row"):
        if committed.get(field) != new.get(field):
            raise ValueError(f"the committed export is of {field} {committed.get(field)!r}, "
                             f"this one of {new.get(field)!r}: not one sweep")

    def rank(p: Mapping[str, Any]) -> tuple[bool, int]:
        return p.get("rev") != p.get("commit"), len(p.get("seeds") or {})

    by_value = {_value_order(p.get("value")): p for p in committed.get("points") or []}
    for p in new["points"]:
        v = _value_order(p["value"])
        if v not in by_value or rank(p) >= rank(by_value[v]):
            by_value[v] = p
    points = [by_value[v] for v in sorted(by_value)]
    profiles = sorted({str(p.get("profile") or committed.get("profile")) for p in points})
    if len(profiles) > 1:
        raise ValueError(f"the points kept are of profiles {', '.join(profiles)}: not one sweep")
    return {**new, "profile": profiles[0], "points": points}
