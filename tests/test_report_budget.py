"""The report's budget-curve section from toy curves: mean ± std over seeds, the first
budget at which fss's FID is below cut's (or none), the gap's trend, the figure."""

import json

import numpy as np
import pytest

from fss.report import write_report
from fss.report.budget import (
    at_size,
    budget_figure,
    budget_section,
    budget_sentences,
    crossing_sentence,
    curve_stats,
    first_below,
    gap_trend,
    stays_below_from,
)
from fss.report.summaries import Curve
from tests.test_report import _write, tree  # noqa: F401  (the fixture tree)


def _curve(row, seed, fids, dists=None, profile="cpu_long", size=16, step=603):
    """A curve with FID ``fids[i]`` on every subset (and over all) at ``(i+1)*step``."""
    points = []
    for i, f in enumerate(fids):
        d = (dists or [0.3] * len(fids))[i]
        m = {"fid": f, "dists": d, "ssim": 0.4}
        points.append({"iteration": (i + 1) * step,
                       "subsets": {s: dict(m) for s in ("cuhk", "ar", "xm2vts")},
                       "all": dict(m)})
    return {"row": row, "seed": seed, "profile": profile, "image_size": size,
            "snapshot_every": step, "points": points}


def _runs(row, *seed_fids):
    """A row's curves by seed, typed as the report reads them."""
    return {s: Curve.from_json(_curve(row, s, f), f"{row}/seed{s}.json")
            for s, f in enumerate(seed_fids)}


def test_stats_are_mean_and_sample_std_at_budgets_every_seed_reached():
    runs = _runs("fss", [100, 80, 60], [110, 90])       # seed 1 cut short
    st = curve_stats(runs, "cuhk", "fid")
    assert [s.iteration for s in st] == [603, 1206]
    assert st[0].mean == 105 and st[0].std == pytest.approx(np.std([100, 110], ddof=1))
    one = curve_stats(_runs("fss", [100, 80]), "all", "fid")
    assert one[1].mean == 80 and one[1].std is None


def test_crossing_found_and_trend_towards_fss():
    fss = _runs("fss", [200, 150, 100, 70], [210, 160, 110, 80])
    cut = _runs("cut", [120, 110, 100, 95], [120, 110, 100, 95])
    a, b = curve_stats(fss, "ar", "fid"), curve_stats(cut, "ar", "fid")
    assert first_below(a, b) == 4 * 603       # 105 vs 100 at 1809: not yet; 75 < 95 at 2412
    gap, slope = gap_trend(a, b)
    assert gap[0] == (603, 85.0) and gap[-1] == (2412, -20.0)
    assert slope < 0
    s = crossing_sentence(fss, cut, "ar")
    assert s.startswith("AR: fss's mean FID is below cut's first at 2,412 iterations")
    assert "+85.0 at 603 and -20.0 at 2,412" in s and "in fss's favour" in s
    assert "at 1 of 4 budgets, at every budget from 2,412 on;" in s
    # fss std 7.1 (70 vs 80), cut 0: a 20-point gap is outside the seeds' spread
    assert s.endswith("At 2,412 the gap (-20.0) is larger than the sum of the two rows' seed "
                      "stds (7.1 + 0.0; fss 2 seeds, cut 2; a yardstick, not a significance "
                      "test).")


def test_a_curve_that_crosses_back_is_not_called_below_from_its_first_crossing():
    cut = _runs("cut", [100, 100, 100, 100, 100], [100, 100, 100, 100, 100])
    fss = _runs("fss", [120, 90, 110, 95, 90], [120, 90, 110, 95, 90])
    s = crossing_sentence(fss, cut, "all")
    assert "first at 1,206 iterations, at 3 of 5 budgets, at every budget from 2,412 on" in s
    back = crossing_sentence(_runs("fss", [90, 110], [90, 110]), _runs("cut", [100, 100],
                                                                      [100, 100]), "all")
    assert "first at 603 iterations, at 1 of 2 budgets, not at the last;" in back
    assert stays_below_from([(1, -1.0), (2, 3.0), (3, -2.0), (4, -1.0)]) == 3
    assert stays_below_from([(1, -1.0), (2, 0.0)]) is None


def test_a_gap_inside_the_seed_spread_is_not_called_a_difference():
    fss = _runs("fss", [80, 70], [100, 90], [90, 80])     # std 10.0 at both budgets
    cut = _runs("cut", [90, 85], [90, 85])
    s = crossing_sentence(fss, cut, "cuhk")
    assert s.endswith("At 1,206 the gap (-5.0) is within the sum of the two rows' seed stds "
                      "(10.0 + 0.0; fss 3 seeds, cut 2; a yardstick, not a significance "
                      "test): seed-to-seed variation alone could explain it.")
    one = crossing_sentence(_runs("fss", [80, 70], [90, 80]), _runs("cut", [90, 85]), "cuhk")
    assert one.endswith("cut: one seed, no spread to judge the gap by.")


def test_one_common_budget_is_one_plain_sentence():
    s = crossing_sentence(_runs("fss", [85], [95]), _runs("cut", [100], [100]), "all")
    assert s == ("all: fss's mean FID is below cut's at their only common budget (603 "
                 "iterations): gap (fss − cut) -10.0. At 603 the gap (-10.0) is larger than "
                 "the sum of the two rows' seed stds (7.1 + 0.0; fss 2 seeds, cut 2; a "
                 "yardstick, not a significance test).")


def test_never_crosses_says_so_and_which_way_the_gap_points():
    cut = _runs("cut", [100, 90, 80])
    closing = crossing_sentence(_runs("fss", [200, 150, 120]), cut, "cuhk")
    assert closing.startswith("CUHK: fss's mean FID is never below cut's up to 1,809 "
                              "iterations")
    assert "narrowing, towards a crossing" in closing
    opening = crossing_sentence(_runs("fss", [120, 130, 150]), cut, "cuhk")
    assert "never below" in opening and "points away from a crossing" in opening


def test_sentences_per_subset_then_all():
    fss, cut = _runs("fss", [200, 150]), _runs("cut", [100, 90])
    lines = budget_sentences({"fss": fss, "cut": cut, "mask": _runs("mask", [150, 120])})
    assert [ln.split(":")[0] for ln in lines] == ["CUHK", "AR", "XM2VTS", "all"]
    assert budget_sentences({"cut": cut}) == []   # nothing to compare


def test_section_without_curves_says_how_to_make_them():
    text = budget_section({}, [])
    assert "No budget curves yet" in text and "profile=cpu_long" in text
    assert "best FID seen during training" in text   # the protocol note, always


def test_figure_is_an_image_with_a_panel_per_subset():
    curves = {"cut": _runs("cut", [100, 90], [105, 95]), "fss": _runs("fss", [200, 150])}
    lines = {("all", "fid"): {"real-sketch floor": 40.0, "grayscale photo": 250.0}}
    img = budget_figure(curves, ["cut", "fss"], lines, "t")
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[1] > img.shape[0]      # 4 panels wide, 2 high
    assert img.std() > 0


def test_report_reads_every_profiles_curves_and_draws_them(tree):  # noqa: F811
    c = tree / "metrics" / "curves"
    for row, fids in (("cut", [120, 110, 100]), ("fss", [200, 120, 90]),
                      ("mask", [180, 150, 130])):
        for seed in (0, 1):
            _write(c / "cpu_long" / row / f"seed{seed}.json",
                   _curve(row, seed, [f + 5 * seed for f in fids]))
    # the cpu profile's curve stage, without snapshots: empty curves, not drawn
    _write(c / "cpu" / "cut" / "seed0.json", _curve("cut", 0, []))
    out = tree / "reports"
    text = write_report(tree, out).read_text()
    sec = text.split("## Does FSS overtake CUT with training?", 1)[1].split("\n## ", 1)[0]
    assert "**Profile cpu_long**: cut seeds 0, 1 (3 budgets); mask seeds 0, 1 (3 budgets); " \
           "fss seeds 0, 1 (3 budgets)." in sec
    assert "![FID and DISTS against training iterations (profile cpu_long, seeds 0, 1" in sec
    assert "- CUHK: fss's mean FID is below cut's first at 1,809 iterations" in sec
    assert "Profile cpu**" not in sec
    assert (out / "figures" / "budget_cpu_long.png").is_file()
    assert not (out / "figures" / "budget_cpu.png").exists()
    # the figure is not repeated in the paper's figures list
    figs = text.split("## Figures", 1)[1].split("## Beyond the paper", 1)[0]
    assert "budget_" not in figs
    json.loads((c / "cpu_long" / "fss" / "seed0.json").read_text())  # (untouched)


def test_reference_lines_only_at_the_reports_image_size():
    curves = {"cut": _runs("cut", [100, 90]), "fss": _runs("fss", [120, 80])}   # at 16 px
    figure = [("budget_cpu_long.png", "t")]
    other = budget_section({"cpu_long": curves}, figure, report_size=64)
    assert "(No reference lines: the curves are at 16 px, this report's floor and photo " \
           "at 64 px.)" in other
    assert "No reference lines" not in budget_section({"cpu_long": curves}, figure,
                                                      report_size=16)
    assert at_size(curves, 16) and not at_size(curves, 64) and not at_size(curves, None)
