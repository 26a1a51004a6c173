"""The ``fss`` command line."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fss.errors import UserError, one_line_errors

if TYPE_CHECKING:
    from fss.paths import PathsParams

# Help is Markdown: a docstring's lines re-wrap to the terminal, a blank line starts a
# paragraph, and each command's first paragraph is its one-line summary in the list.
MARKUP = "markdown"
app = typer.Typer(
    help="FSS face sketch synthesis: data preparation, training, evaluation, reports.\n\n"
         "The pipeline itself runs under DVC (`bash scripts/run.sh cpu`, or `dvc exp run -S "
         "profile=smoke`); these commands prepare its parameters, gate its metrics, and "
         "turn photos into sketches with a trained model.\n\n"
         "Example: `fss sketch me.jpg -o sketches/`",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=MARKUP,
)
weights_app = typer.Typer(help="The registry of pretrained files.\n\nExample: `fss weights "
                               "list`", no_args_is_help=True,
                          rich_markup_mode=MARKUP)
app.add_typer(weights_app, name="weights")


@app.command("make-synthetic-cufs")
@one_line_errors
def make_synthetic_cufs_cmd(
    out: Annotated[Path, typer.Argument(help="Folder to write (CUFS's real layout).")],
    per_split: Annotated[int, typer.Option(help="Pairs per subset and split.", min=1)] = 4,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write a small SYNTHETIC CUFS-like dataset in CUFS's real folder layout.

    For the tests and the smoke profile on machines without the database; its numbers
    say nothing about the method.

    Example: `fss make-synthetic-cufs /tmp/cufs --per-split 3`
    """
    from fss.data.synthetic import make_synthetic_cufs

    n = make_synthetic_cufs(out, per_split=per_split, seed=seed)
    typer.echo(f"wrote {n} synthetic pairs to {out}")


@app.command("params")
@one_line_errors
def params_cmd(
    profile: Annotated[str, typer.Option(
        help="Profile: smoke, cpu, paper or cut_official (conf/profile/).")] = "paper",
    override: Annotated[
        list[str] | None,
        typer.Option("--set", "-S", help="Hydra override, e.g. loss.alpha=50 (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("params.yaml"),
    check: Annotated[bool, typer.Option(
        "--check", help="Only check the existing file (--out) and write nothing.")] = False,
) -> None:
    """Compose params.yaml from conf/ for plain `dvc repro`.

    The file is what `dvc exp run -S profile=...` composes; every value is checked
    (type, range, choice) before the file is written.

    Example: `fss params --profile cpu -S loss.alpha=50`
    """
    if check:
        from fss.params import read_params

        p = read_params(out)
        typer.echo(f"{out}: every section valid (profile {p.meta.profile})")
        return
    from fss.params_compose import compose_params

    compose_params(out, [f"profile={profile}", *(override or [])])
    typer.echo(f"wrote {out} (profile {profile})")


@weights_app.command("list")
@one_line_errors
def weights_list() -> None:
    """Every pretrained file the project knows, and its state.

    Each is found (sha256 verified), CORRUPT (a file is there but its sha256 does not
    match) or MISSING; the lookup order is `$FSS_WEIGHTS`, `~/.cache/fss/weights`, an
    installed package that ships it, its official URL.

    Example: `fss weights list`
    """
    from fss.weights import REGISTRY, file_state

    for name, w in REGISTRY.items():
        state, path = file_state(name)
        where = {"found": f"found {path}", "corrupt": f"CORRUPT {path} (sha256 does not match)",
                 "missing": "MISSING"}[state]
        typer.echo(f"{name:20s} {w.sha256[:12]:12s} {w.relpath:48s} {where}")


@weights_app.command("check")
@one_line_errors
def weights_check(
    names: Annotated[list[str], typer.Argument(help="Registry names to verify.")],
) -> None:
    """Verify the named pretrained files (sha256).

    Exits 2 with the reason on the first failure.

    Example: `fss weights check inception_fid vgg16_features`
    """
    from fss.weights import resolve

    for name in names:
        typer.echo(f"{name}: ok ({resolve(name)})")


gate_app = typer.Typer(help="CI's metric-regression gate.\n\nExample: `fss gate check`",
                       no_args_is_help=True,
                       rich_markup_mode=MARKUP)
app.add_typer(gate_app, name="gate")
# Where the pipeline's files are, for commands run outside DVC: the tree's params.yaml
# (its `paths` section, fss.paths), never a second spelling here.
PARAMS = "params.yaml"
ROOT_HELP = "Repository root: the tree whose params.yaml and metrics are read."


def _tree_paths(root: Path) -> PathsParams:
    """The locations of the pipeline tree at ``root`` (its params.yaml's ``paths``)."""
    from fss.paths import read_paths

    return read_paths(root / PARAMS).under(root)


@gate_app.command("check")
@one_line_errors
def gate_check(
    baseline: Annotated[Path | None, typer.Option(
        help="Committed baseline JSON; default: params' paths.gate_baseline.")] = None,
    root: Annotated[Path, typer.Option(help=ROOT_HELP)] = Path("."),
    markdown: Annotated[Path | None, typer.Option(
        help="Also write the verdict as a Markdown report (a table of every metric, then "
             "`dvc metrics diff --md`), written even when the gate fails.")] = None,
    dvc_rev: Annotated[str, typer.Option(
        help="The revision `dvc metrics diff` compares the workspace with in the Markdown "
             "report; empty: leave that section out.")] = "HEAD",
) -> None:
    """Fail (exit 1) when the pipeline's metrics say something is broken or changed.

    Two checks, both meant to hold on any machine.

    Baseline: the numbers of no trained network (references, FID floor, test-photo
    rank-1, mask IoU) against the committed baseline, under the metric table's
    tolerances; a metric missing now is a regression.

    Quality: every trained run of `params.yaml` within its `gate.quality` margins of
    the better trivial reference, over all test images.

    `--markdown` also writes the verdict as tables for a pull-request comment.

    Example: `fss gate check --markdown reports/ci/gate.md`
    """
    from fss.evaluation.metric_gate import check, report

    baseline = baseline or _tree_paths(root).gate_baseline
    v = check(root, baseline)
    typer.echo(report(v.worse, v.better, baseline, v.checks))
    if markdown is not None:
        from fss.evaluation.gate_report import dvc_metrics_diff, verdict_rows
        from fss.evaluation.gate_report import markdown as render
        from fss.evaluation.metric_gate import gate_kind
        from fss.io import write_text

        rows = verdict_rows(v.current, v.baseline, v.worse, v.better,
                            lambda name: gate_kind(name).tolerance)
        diff = dvc_metrics_diff(root, dvc_rev) if dvc_rev else None
        write_text(markdown, render(rows, baseline, diff, v.checks))
        typer.echo(f"wrote {markdown}")
    if v.failed:
        raise typer.Exit(1)


@gate_app.command("update")
@one_line_errors
def gate_update(
    baseline: Annotated[Path | None, typer.Option(
        help="Baseline JSON to write; default: params' paths.gate_baseline.")] = None,
    root: Annotated[Path, typer.Option(help=ROOT_HELP)] = Path("."),
    profile: Annotated[str, typer.Option(help="Profile the metrics came from.")] = "smoke",
) -> None:
    """Write the current reproducible metrics as the new baseline.

    Run it after a smoke run, once a change that moves them (data, alignment, a
    metric's code) is deliberate. Only the numbers that come from no trained generator
    are written: trained runs are held to `gate.quality` instead.

    Example: `fss gate update --profile smoke`
    """
    from fss.evaluation.metric_gate import collect, write_baseline

    at = _tree_paths(root)
    baseline = baseline or at.gate_baseline
    current = collect(at, profile)
    write_baseline(current, baseline, profile)
    typer.echo(f"wrote {len(current)} metrics to {baseline}")


@app.command("sweep-export")
@one_line_errors
def sweep_export_cmd(
    key: Annotated[str, typer.Argument(help="The swept params key, e.g. loss.alpha.")],
    row: Annotated[str, typer.Option(help="The row whose evaluations are read.")] = "fss",
    source: Annotated[Path | None, typer.Option(
        "--from", help="A saved `dvc exp show --json`; default: run it now.")] = None,
    command: Annotated[str, typer.Option(
        help="How the experiments were queued, quoted in the report.")] = "",
    commits: Annotated[int, typer.Option(
        min=1, help="Read the experiments of the last N commits (dvc exp show -n), so a "
        "sweep that spans a commit is exported whole.")] = 10,
    add: Annotated[bool, typer.Option(
        "--add", help="Add to the export already written (a sweep run in parts, in "
        "other clones); a value in both is decided as within one export.")] = False,
    root: Annotated[Path, typer.Option(help=ROOT_HELP)] = Path("."),
) -> None:
    """Export a one-knob sweep's experiments for the report.

    Reads `dvc exp show --json` (the experiments and committed revisions of the last
    COMMITS commits), keeps one point per value of KEY with the row's evaluation per
    seed (an experiment before a committed revision, then the most seeds), and writes them to
    `paths.sweeps/<KEY>.json`, which the report stage reads (commit it).

    DVC keeps experiments in the clone that ran them: with --add, a part of a sweep run
    elsewhere joins the export already committed.

    Example: `fss sweep-export loss.alpha --row fss`
    """
    import json
    import subprocess
    import sys
    from datetime import UTC, datetime

    from fss.io import write_json
    from fss.paths import read_paths
    from fss.sweep_export import sweep_export

    spelled = read_paths(root / PARAMS)   # as the experiments' metrics files name them
    if source is not None:
        try:
            exp_show = json.loads(source.read_text())
        except (OSError, ValueError) as e:
            raise UserError(f"{source}: not a readable `dvc exp show --json` "
                            f"({' '.join(str(e).split())[:120]})") from None
    else:
        # this interpreter's dvc (a required dependency), not whichever is first on PATH
        try:
            done = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json",
                                   "-n", str(commits)],
                                  cwd=root, capture_output=True, text=True)
        except OSError as e:
            raise UserError(f"dvc exp show --json could not run ({e.strerror or e})") from None
        if done.returncode != 0:
            raise UserError("dvc exp show --json failed: "
                            + (done.stderr.strip().splitlines() or ["no output"])[-1])
        try:
            exp_show = json.loads(done.stdout)
        except ValueError:
            raise UserError("dvc exp show --json printed no JSON: "
                            + (done.stdout.strip().splitlines() or ["no output"])[0][:120]
                            ) from None
    if not isinstance(exp_show, list):
        raise UserError(f"{source or 'dvc exp show --json'}: not a list of revisions")
    metrics_dir = str(spelled.metrics)
    out = sweep_export(exp_show, key, row, metrics_dir, command,
                       datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if not out["points"]:
        raise UserError(f"no experiment sets {key} and has {row}'s evaluation "
                        f"({metrics_dir}/{row}/seed<k>.json): nothing written")
    target = spelled.under(root).sweeps / f"{key}.json"
    if add and target.exists():
        from fss.sweep_export import merge_sweeps

        try:
            committed = json.loads(target.read_text(encoding="utf-8"))
            if not isinstance(committed, dict):
                raise ValueError("not an export (a JSON object)")
            out = merge_sweeps(committed, out)
        except (OSError, ValueError) as e:  # (JSON and decoding errors are ValueErrors)
            raise UserError(f"{target}: {' '.join(str(e).split())[:160]}; "
                            "nothing written") from None
    write_json(target, out)
    typer.echo(f"wrote {target}: {key} = "
               + ", ".join(f"{p['value']} ({len(p['seeds'])} seed(s))" for p in out["points"]))


@app.command("summary")
@one_line_errors
def summary_cmd(
    root: Annotated[Path, typer.Option(help=ROOT_HELP)] = Path("."),
) -> None:
    """The headline numbers of Tables 3 and 7, and where the full report is.

    The main job's last screen; every metric: `dvc metrics show`.

    Example: `fss summary`
    """
    from fss.report.inputs import load_inputs
    from fss.report.summary import summary

    if not root.is_dir():  # (a missing folder would read as "nothing run yet")
        raise UserError(f"--root {root}: "
                        + ("is not a folder" if root.exists() else "no such folder"))
    inp = load_inputs(root)  # where the files are: root's params.yaml
    typer.echo(summary(inp, str(inp.paths.under(root).reports / "report.md")))


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
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for the sketches (PNG) "
                                      "and sketches.csv.")],
    checkpoint: Annotated[Path | None, typer.Option(
        help="A model file (generator.pt) or an exported .onnx; default: the generator.pt "
             "of the pipeline's fss row, lowest seed trained.")] = None,
    backend: Annotated[str, typer.Option(
        help="auto (onnxruntime for .onnx, else torch), torch or onnxruntime.")] = "auto",
    params: Annotated[Path | None, typer.Option(
        help="Optional params.yaml overriding the model's detector and mask details "
             "(its image size and eye targets always come from the model file).")] = None,
    min_face: Annotated[int | None, typer.Option(
        help="Smallest face to look for, in pixels; smaller photos are skipped with a "
             "reason (default: the model's align.min_face_px).", min=1)] = None,
    paste_back: Annotated[bool, typer.Option(
        help="Also warp each sketch back into its photo's own frame.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N (torch backend).")
                      ] = "auto",
    overwrite: Annotated[bool, typer.Option(
        help="Replace sketches (and sketches.csv) already in the output folder.")] = False,
) -> None:
    """Turn face photos into sketches with a trained generator.

    The model file alone is enough: it carries the image size, eye targets and mask
    settings the generator was trained with.

    A photo that cannot be sketched (unreadable, too small, no face) is reported and
    skipped while the rest go on; `OUT/sketches.csv` lists every input, and the exit
    code is 1 if any failed, 2 if the output folder cannot take them (checked first; a
    disk that fills up stops the run with `sketches.csv` still written).

    Output names keep the input's extension and sub-folder: `a.jpg` becomes
    `a_jpg.png`; an existing one is kept unless `--overwrite`.

    Example: `fss sketch photos/ -o sketches/ --paste-back`
    """
    from fss.config import load_params
    from fss.device import resolve_device
    from fss.inference.runtime import BACKENDS, open_runner
    from fss.inference.sketch import (
        Sketcher,
        list_photos,
        prepare_output,
        settings,
        shown,
        sketch_photos,
    )

    if backend not in BACKENDS:  # before any work
        raise UserError(f"--backend {backend!r}: should be one of {', '.join(BACKENDS)}")
    dev = resolve_device(device)
    photos = list_photos(source, exclude=out)
    given = load_params(params) if params else None
    prepare_output(photos, source, out, overwrite)
    if checkpoint is None:
        from fss.paths import read_paths

        checkpoint = default_checkpoint(read_paths(PARAMS).models)
    runner = open_runner(checkpoint, backend, dev)
    align, masks, notes = settings(runner, given)
    for n in notes:
        typer.echo(f"note: {n}", err=True)
    sketcher = Sketcher(runner, align, masks, str(dev), min_face=min_face)
    results = sketch_photos(photos, source, out, sketcher, paste=paste_back)
    failed = [r for r in results if r.error]
    for r in failed:
        typer.echo(f"skipped {shown(r.path)}: {r.error}", err=True)
    typer.echo(f"{len(results) - len(failed)} of {len(results)} photos sketched -> "
               f"{shown(out)} (list: {shown(out / 'sketches.csv')})")
    if failed:
        raise typer.Exit(1)


@app.command("export")
@one_line_errors
def export_cmd(
    model: Annotated[Path, typer.Argument(help="A model file (generator.pt).")],
    fmt: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
    out: Annotated[Path | None, typer.Option(
        "-o", "--out", help="File to write; default beside MODEL (.onnx / .ts.pt; "
                            "-int8.onnx when quantised).")] = None,
    opset: Annotated[int | None, typer.Option(
        help="ONNX opset; default the newest the installed onnxruntime runs.")] = None,
    quantize: Annotated[str | None, typer.Option(
        help="int8: static int8 quantisation (onnx only), calibrated on training photos."
    )] = None,
    calibration: Annotated[Path | None, typer.Option(
        help="The split file whose training photos (with --masks) calibrate int8; default: "
             "params' paths.splits.")] = None,
    masks: Annotated[Path | None, typer.Option(
        help="Mask folder for the calibration photos; default: params' paths.masks.")
                     ] = None,
    calibration_count: Annotated[int, typer.Option(help="Calibration photos.", min=1)] = 32,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Export a model file to ONNX or TorchScript, optionally as int8 ONNX.

    The ONNX file keeps batch, height and width dynamic and carries the model's
    metadata, so `fss sketch --checkpoint MODEL.onnx` needs nothing else. `--quantize
    int8` also writes a statically quantised copy for the fast CPU path, calibrated on
    training photos. An existing output is kept unless `--overwrite`.

    Example: `fss export models/fss/seed0/generator.pt --quantize int8`
    """
    from fss.inference.export import check_opset, export_onnx, export_torchscript
    from fss.inference.model_file import read_model

    # Every value and path checked before anything is written.
    if fmt not in ("onnx", "torchscript"):
        raise UserError(f"--format {fmt!r}: should be onnx or torchscript")
    if quantize not in (None, "int8"):
        raise UserError(f"--quantize {quantize!r}: only int8")
    if quantize and fmt != "onnx":
        raise UserError("--quantize int8 needs --format onnx")
    if opset is not None:
        check_opset(opset)
    info = read_model(model)[1]
    if fmt == "torchscript":
        target = out or model.with_suffix(".ts.pt")
        _check_target(target, overwrite)
        export_torchscript(model, target)
        typer.echo(f"wrote {target} (TorchScript, metadata in its 'fss' extra file)")
        return
    if not quantize:
        target = out or model.with_suffix(".onnx")
        _check_target(target, overwrite)
        used = export_onnx(model, target, opset)
        typer.echo(f"wrote {target} (ONNX opset {used}, dynamic height/width)")
        return
    from fss.inference.quantize import calibration_inputs, quantize_int8

    target = out or model.with_name(model.stem + "-int8.onnx")
    # With -o only the int8 file is written (its fp32 source in a temp folder beside
    # it); without, the fp32 .onnx beside the model too, as the help says.
    fp32 = None if out is not None else model.with_suffix(".onnx")
    for t in (target, fp32):
        if t is not None:
            _check_target(t, overwrite)
    # params.yaml only for what was not given (the masks only for a model that takes them)
    if calibration is None or (masks is None and info.mask_input):
        from fss.paths import read_paths

        paths = read_paths(PARAMS)
        calibration = calibration or paths.splits
        masks = masks or (paths.masks if info.mask_input else None)
    inputs = calibration_inputs(calibration, masks, info, calibration_count)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as tmp:
        source = fp32 or Path(tmp) / "fp32.onnx"
        used = export_onnx(model, source, opset)
        if fp32 is not None:
            typer.echo(f"wrote {fp32} (ONNX opset {used}, dynamic height/width)")
        quantize_int8(source, target, inputs)
    typer.echo(f"wrote {target} (int8 ONNX opset {used}, calibrated on {len(inputs)} "
               "training photos)")


def _check_target(target: Path, overwrite: bool) -> None:
    """An output file of a command: not replaced unless ``overwrite``, in a folder
    that exists or can be made."""
    if target.is_dir():
        raise UserError(f"{target}: is a folder (-o names the file to write)")
    if target.exists() and not overwrite:
        raise UserError(f"{target}: exists; pass --overwrite to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)


@app.command("upgrade-model")
@one_line_errors
def upgrade_model_cmd(
    model: Annotated[Path, typer.Argument(help="A generator.pt saved before model files "
                                               "carried their settings.")],
    params: Annotated[Path, typer.Option(
        help="The params.yaml it was trained with (align, masks, meta.profile).")] = Path(
            "params.yaml"),
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Write here instead of "
                                                                 "in place.")] = None,
) -> None:
    """Make an old generator file self-contained, once.

    Adds the image size, eye targets and mask settings (from `--params`, the file it
    was trained with), so it loads as a model file on its own.

    Example: `fss upgrade-model models/fss/seed0/generator.pt --params params.yaml`
    """
    from fss.config import load_params, section
    from fss.data.align import AlignParams
    from fss.data.masks import MaskParams
    from fss.inference.model_file import upgrade_legacy
    from fss.params import MetaParams

    # Only the sections it reads (a params file cut down to them is enough), each checked
    # like a stage's, so a bad value is one line, never a traceback.
    p = load_params(params)
    info = upgrade_legacy(model, section(p, "align", AlignParams), section(p, "masks", MaskParams),
                          profile=section(p, "meta", MetaParams).profile, out=out,
                          source=str(params))
    typer.echo(f"upgraded {out or model}: image size {info.image_size}, mask input "
               f"{'yes' if info.mask_input else 'no'}, settings from {params}")


@app.command("model-info")
@one_line_errors
def model_info_cmd(
    model: Annotated[Path, typer.Argument(help="A model file (generator.pt) or .onnx.")],
) -> None:
    """What a model file says about itself.

    Its architecture, geometry (image size, eye targets), mask input and provenance
    (row, seed, profile, git commit, iterations).

    Example: `fss model-info models/fss/seed0/generator.pt`
    """
    from fss.inference.model_file import describe, read_model

    if model.suffix.lower() == ".onnx":
        from fss.inference.export import onnx_info

        info = onnx_info(model)
    else:
        info = read_model(model)[1]
    typer.echo(describe(info))


if __name__ == "__main__":
    app()
