"""The ``fss`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fss.errors import one_line_errors

app = typer.Typer(
    help="FSS face sketch synthesis: data preparation, training, evaluation, reports.",
    no_args_is_help=True,
    add_completion=False,
)
weights_app = typer.Typer(help="The registry of pretrained files.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")


@app.command("make-synthetic-cufs")
@one_line_errors
def make_synthetic_cufs_cmd(
    out: Annotated[Path, typer.Argument(help="Folder to write (CUFS's real layout).")],
    per_split: Annotated[int, typer.Option(help="Pairs per subset and split.", min=1)] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write a small SYNTHETIC CUFS-like dataset (for tests and the smoke profile on
    machines without the database). Its numbers say nothing about the method."""
    from fss.data.synthetic import make_synthetic_cufs

    n = make_synthetic_cufs(out, per_split=per_split, seed=seed)
    typer.echo(f"wrote {n} synthetic pairs to {out}")


@app.command("params")
@one_line_errors
def params_cmd(
    profile: Annotated[str, typer.Option(help="Profile: smoke, cpu or paper.")] = "paper",
    override: Annotated[
        list[str] | None,
        typer.Option("--set", "-S", help="Hydra override, e.g. loss.alpha=50 (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("params.yaml"),
) -> None:
    """Compose params.yaml from conf/ exactly as `dvc exp run -S profile=...` does,
    for use with plain `dvc repro`."""
    from fss.params_compose import compose_params

    compose_params(out, [f"profile={profile}", *(override or [])])
    typer.echo(f"wrote {out} (profile {profile})")


@weights_app.command("list")
def weights_list() -> None:
    """Every pretrained file the project knows, and whether a verified copy is found."""
    from fss.weights import REGISTRY, WeightsError, resolve

    for name, w in REGISTRY.items():
        try:
            where = str(resolve(name, allow_download=False))
        except WeightsError:
            where = "MISSING"
        typer.echo(f"{name:20s} {w.sha256[:12]:12s} {w.relpath:48s} {where}")


@weights_app.command("check")
@one_line_errors
def weights_check(
    names: Annotated[list[str], typer.Argument(help="Registry names to verify.")],
) -> None:
    """Verify the named files (sha256); exits 2 with the reason on the first failure."""
    from fss.weights import resolve

    for name in names:
        typer.echo(f"{name}: ok ({resolve(name)})")


if __name__ == "__main__":
    app()


gate_app = typer.Typer(help="CI's metric-regression gate.", no_args_is_help=True)
app.add_typer(gate_app, name="gate")
DEFAULT_BASELINE = Path("reports/baselines/smoke.json")


@gate_app.command("check")
@one_line_errors
def gate_check(
    baseline: Annotated[Path, typer.Option(help="Committed baseline JSON.")] = DEFAULT_BASELINE,
    root: Annotated[Path, typer.Option(help="Repository root holding metrics/.")] = Path("."),
) -> None:
    """Fail (exit 1) when a metric is worse than the baseline beyond its tolerance."""
    from fss.evaluation.metric_gate import collect, compare, read_baseline, report

    worse, better = compare(collect(root), read_baseline(baseline))
    typer.echo(report(worse, better, baseline))
    if worse:
        raise typer.Exit(1)


@gate_app.command("update")
@one_line_errors
def gate_update(
    baseline: Annotated[Path, typer.Option(help="Baseline JSON to write.")] = DEFAULT_BASELINE,
    root: Annotated[Path, typer.Option(help="Repository root holding metrics/.")] = Path("."),
    profile: Annotated[str, typer.Option(help="Profile the metrics came from.")] = "smoke",
) -> None:
    """Write the current metrics as the new baseline (after a deliberate change)."""
    from fss.evaluation.metric_gate import collect, write_baseline

    current = collect(root)
    write_baseline(current, baseline, profile)
    typer.echo(f"wrote {len(current)} metrics to {baseline}")


@app.command("summary")
@one_line_errors
def summary_cmd(
    root: Annotated[Path, typer.Option(help="Repository root holding metrics/.")] = Path("."),
) -> None:
    """The headline numbers of Tables 3 and 7 and where the full report is (the main
    job's last screen)."""
    from fss.report.inputs import load_inputs
    from fss.report.summary import summary

    typer.echo(summary(load_inputs(root), str(root / "reports" / "report.md")))


def default_checkpoint(models: Path, row: str = "fss") -> Path:
    """The pipeline's generator of ``row``, lowest seed trained."""
    from fss.runs import seed_paths

    runs = [d / "generator.pt" for d in seed_paths(models, row, suffix="").values()]
    found = [g for g in runs if g.is_file()]
    if not found:
        raise FileNotFoundError(f"{models / row}/seed<k>/generator.pt: no trained {row} "
                                "generator (run the pipeline, or pass --checkpoint)")
    return found[0]


@app.command("sketch")
@one_line_errors
def sketch_cmd(
    source: Annotated[Path, typer.Argument(help="A face photo, or a folder of them.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for the sketches (PNG).")],
    checkpoint: Annotated[Path | None, typer.Option(
        help="A generator.pt; default: the pipeline's fss row, lowest seed "
             "(models/fss/seed<k>/generator.pt).")] = None,
    params: Annotated[Path, typer.Option(
        help="params.yaml giving align/masks settings (image size, eye targets).")] = Path(
            "params.yaml"),
    paste_back: Annotated[bool, typer.Option(
        help="Also warp each sketch back into its photo's own frame.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Turn face photo(s) into sketches with a trained generator. Photos without a
    detectable face are reported and skipped; exit code 1 if any failed."""
    from fss.config import load_params, section
    from fss.data.align import AlignParams
    from fss.data.masks import MaskParams
    from fss.device import resolve_device
    from fss.sketch import Sketcher, list_photos, sketch_photos

    p = load_params(params)
    dev = resolve_device(device)
    sketcher = Sketcher(checkpoint or default_checkpoint(Path("models")),
                        section(p, "align", AlignParams), section(p, "masks", MaskParams), dev)
    results = sketch_photos(list_photos(source), source, out, sketcher, paste=paste_back)
    failed = [r for r in results if r.error]
    for r in failed:
        typer.echo(f"skipped {r.path}: {r.error}", err=True)
    typer.echo(f"{len(results) - len(failed)} of {len(results)} photos sketched -> {out}")
    if failed:
        raise typer.Exit(1)
