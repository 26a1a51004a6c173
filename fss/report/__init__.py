"""The report stage: ``report.md`` and the figures it embeds, from the metrics the other
stages wrote. Every number of ours comes from the stages' metrics files; every
"(paper)" number from ``fss.published``. Rendering functions are pure (typed results
in, markdown or arrays out); only ``load_inputs`` and ``write_report`` touch the disk.

One job per module, each importing only those before it: ``summaries`` (the results
typed and summarised over seeds), ``cells`` (numbers, cells, markdown tables), then
``tables`` (the paper's tables and those beyond it), ``budget`` and ``sweep`` (the
budget curves, a one-knob sweep), ``reading``
(the prose: how far from the paper, how to read, provenance, deviations) and ``figures``,
then ``inputs`` (reading the files); this module puts the report together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fss.io import atomic_dir, save_png, write_text
from fss.metrics.table import METRICS, of_kind
from fss.paths import PathsParams
from fss.report.budget import (
    FIGURE_METRICS,
    FIGURE_PREFIX,
    GROUPS,
    at_size,
    budget_figure,
    budget_section,
    curve_rows,
    figure_title,
    profiles_with_points,
    reference_lines,
)
from fss.report.cells import (
    NOT_RUN,
    STAR,
    Line,
    _get,
    _num,
    cell,
    compare_table,
    kid_cell,
    seeds_note,
)
from fss.report.figures import (
    LABEL_H,
    _tile_size,
    figure_grid,
    figure_ids,
    figure_specs,
    load_tiles,
)
from fss.report.inputs import Inputs, load_inputs
from fss.report.reading import (
    PAPER_SETUP,
    deviations,
    how_far,
    how_to_read,
    provenance,
    run_profile,
    setup_summary,
    weights_hash,
)
from fss.report.sweep import sweep_section
from fss.report.tables import (
    ablation_section,
    all_images_table,
    dss_share_table,
    official_cut_table,
    own_data_table,
    rcs_section,
    region_table,
    table3,
    table7,
    tables4_6,
    training_table,
)
from fss.tracking import git_commit

# What other code and the tests import from ``fss.report``.
__all__ = [
    "LABEL_H", "STAR", "Inputs", "Line", "cell", "compare_table", "deviations", "figure_grid",
    "figure_ids", "kid_cell", "load_inputs", "render_report", "seeds_note",
    "weights_hash", "write_figures", "write_report",
]


# ---------------------------------------------------------------- the whole report

def directions() -> str:
    """'FID, KID×1000, LPIPS, DISTS: lower is better; SSIM, ...: higher is better'."""
    shown = [*of_kind("set", "image"), METRICS["rank1"]]
    lower = [m.short for m in shown if m.lower_is_better]
    higher = [m.short for m in shown if not m.lower_is_better]
    return f"{', '.join(lower)}: lower is better; {', '.join(higher)}: higher is better"


def render_report(inp: Inputs, figures: Sequence[tuple[str, str]], commit: str,
                  date: str) -> str:
    """The markdown; ``figures`` = (file name under figures/, caption). Data the paper
    did not use (a paired folder) gets ``render_own_data_report``."""
    if inp.dataset != "cufs":
        return render_own_data_report(inp, figures, commit, date)
    profile, _ = run_profile(inp)
    trained = inp.trained
    dev = deviations(inp.params, inp.source.get("kind"))
    m = f"{inp.paths.metrics}/" if inp.paths else "the metrics folder"
    parts = [
        "# FSS reproduction report", "",
        f"All numbers below: profile **{profile}** ({setup_summary(inp.params)}), read from "
        f"`{m}` (a trained row's runs: `<row>/seed<k>.json` there); numbers marked "
        "*(paper)* are the published values (Du et al., "
        f"Sci. Rep. 15:16056, 2025; {PAPER_SETUP}). Δ = ours − paper; {directions()}; the "
        "word after Δ says which ours is. "
        f"'{NOT_RUN}' = the row's metrics file is missing; 'not evaluated' = the file has "
        "no numbers for that subset.", "",
        how_far(inp),
        how_to_read(inp),
        table3(inp.rows, trained, inp.floor),
        ablation_section(inp.ablation),
        tables4_6(inp.rows, inp.floor),
        table7(inp.recognition, trained),
    ]
    budget = [f for f in figures if f[0].startswith(FIGURE_PREFIX)]
    parts += figures_section(inp, [f for f in figures if f not in budget])
    parts += [
        "## Beyond the paper", "",
        all_images_table(inp.rows, trained, inp.floor),
        region_table(inp.rows, trained),
        training_table(inp.train, trained),
        dss_share_table(inp.train, trained),
        official_cut_table(inp.official_cut_reference, inp.official_cut),
        budget_section(inp.curves, budget, _get(inp.params, "align.size")),
        sweep_section(inp.sweeps),
        rcs_section(inp.rcs),
        provenance(inp, commit, date),
        "## Deviations from the paper", "",
        *(f"- {d}" for d in dev), "",
    ]
    return "\n".join(parts)


def figures_section(inp: Inputs, figures: Sequence[tuple[str, str]]) -> list[str]:
    parts = ["## Figures", ""]
    if figures:
        for name, caption in figures:
            parts += [f"![{caption}](figures/{name})", "", f"*{caption}*", ""]
        parts += [f"Test ids shown: {', '.join(i for _, i in figure_ids(inp.test_ids))}; grey "
                  "tile = image missing.", ""]
    else:
        splits = f"`{inp.paths.splits}`" if inp.paths else "the split file"
        parts += [f"No figures: {splits} or the images are missing.", ""]
    return parts


def render_own_data_report(inp: Inputs, figures: Sequence[tuple[str, str]], commit: str,
                           date: str) -> str:
    """The report on data the paper did not use (``data.dataset`` paired_folder): ours
    only, per subset of the split file; no paper columns, no gap to the paper, no claims
    of its ablation tested, none of the committed CUFS curves or sweeps."""
    profile, _ = run_profile(inp)
    trained = inp.trained
    m = f"{inp.paths.metrics}/" if inp.paths else "the metrics folder"
    src = inp.source
    data = (f"your pairs from `{src.get('source', '?')}` ({src.get('pairs', '?')} pairs; "
            f"split: {src.get('split', '?')})")
    parts = [
        "# FSS report on your own pairs", "",
        f"All numbers below: profile **{profile}** ({setup_summary(inp.params)}) on {data}, "
        f"read from `{m}` (a trained row's runs: `<row>/seed<k>.json` there). The paper has "
        f"no numbers on this data, so every table is ours only; {directions()}. "
        f"'{NOT_RUN}' = the row's metrics file is missing; 'not evaluated' = the file has "
        "no numbers for that subset.", "",
        how_to_read(inp),
        own_data_table(inp.rows, trained, inp.floor, inp.subsets),
        ablation_section(inp.ablation, inp.subsets, paper=False),
        table7(inp.recognition, trained, inp.subsets, paper=False),
    ]
    parts += figures_section(inp, [f for f in figures if not f[0].startswith(FIGURE_PREFIX)])
    parts += [
        "## Beyond the per-subset tables", "",
        all_images_table(inp.rows, trained, inp.floor),
        region_table(inp.rows, trained, inp.subsets),
        training_table(inp.train, trained),
        dss_share_table(inp.train, trained),
        rcs_section(inp.rcs),
        provenance(inp, commit, date),
    ]
    return "\n".join(parts)


def write_figures(root: Path, inp: Inputs, out: Path) -> list[tuple[str, str]]:
    """Render every figure into ``out/figures`` (replaced atomically as one folder); the
    images are read from ``inp.paths`` under ``root``."""
    ids = figure_ids(inp.test_ids)
    written: list[tuple[str, str]] = []
    with atomic_dir(out / "figures") as tmp:
        if ids and inp.paths is not None:
            default = int(_num(_get(inp.params, "align.size")) or 64)
            for spec in figure_specs(root, inp.paths, inp.trained):
                tiles = load_tiles(root, spec, ids)
                grid = figure_grid(tiles, [c[0] for c in spec.columns],
                                   _tile_size(tiles, default))
                save_png(tmp / f"{spec.name}.png", grid)
                written.append((f"{spec.name}.png", spec.caption))
        written += write_budget_figures(inp, tmp)
    return written


def write_budget_figures(inp: Inputs, folder: Path) -> list[tuple[str, str]]:
    """``budget_<profile>.png`` per profile with curve points; the floor and photo lines
    only where the curves' image size is this report's (theirs were measured at it)."""
    out = []
    size = _get(inp.params, "align.size")
    for profile in profiles_with_points(inp.curves):
        curves = inp.curves[profile]
        rows = curve_rows(curves)
        same = at_size(curves, size)
        lines = {(g, m): reference_lines(inp.floor if same else None,
                                         inp.row("photo") if same else None, g, m)
                 for g in GROUPS for m in FIGURE_METRICS}
        title = figure_title(profile, curves, rows)
        name = f"{FIGURE_PREFIX}{profile}.png"
        save_png(folder / name, budget_figure(curves, rows, lines, title))
        out.append((name, title))
    return out


def write_report(root: Path, out: Path, paths: PathsParams | None = None) -> Path:
    """Read everything under ``root`` (where ``paths``, default ``root/params.yaml``'s,
    say); write ``out/report.md`` and ``out/figures/``, each replaced atomically (other
    files under ``out``, e.g. committed baselines, untouched)."""
    root, out = Path(root), Path(out)
    inp = load_inputs(root, paths)
    figures = write_figures(root, inp, out)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = render_report(inp, figures, git_commit(root, mark_dirty=True), date)
    target = out / "report.md"
    for stale in out.glob(".report.md.tmp-*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    write_text(target, text)
    return target
