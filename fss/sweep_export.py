"""A one-knob sweep run the way DVC users run one (``dvc exp run --queue -S
loss.alpha=...``), exported from ``dvc exp show --json`` to the small committed file the
report reads (``paths.sweeps/<key>.json``, ``fss sweep-export``): a point per value of
the knob, the row's means per subset for each of its seeds, and the experiment and
commit that made it. Pure: the command reads and writes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# What an export keeps of each experiment, per subset (the report's sweep section shows
# these).
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
