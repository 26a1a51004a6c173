"""Fidelity against official CUT (a script, not a test): score a folder of synthesized
test sketches exactly as official CUT's outputs were scored, and print ours beside the
committed official numbers (benchmarks/official_cut_reference.json).

Scoring: each output upsampled to 256x256 (bicubic), the RAW test sketch (CUFS as
distributed, no alignment) resized to 256x256 (bicubic); per subset, FID through
clean-fid's pipeline with the registry's Inception and SSIM / PSNR with scikit-image's
defaults (7x7 uniform window, data_range 255).

    dvc exp run -S profile=cut_official train@cut-0 evaluate@cut-0
    python benchmarks/official_cut.py score results/cut/seed0 --name ours
    python benchmarks/official_cut.py compare metrics/official_cut.json
    python benchmarks/official_cut.py time --official ../contrastive-unpaired-translation

Outputs are found by the test pair's id (ours: <subset>/<id>.png) or by the raw photo's
file stem (official CUT's results/<name>/test_latest/images/fake_B/<photo>.png).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from PIL import Image

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "official_cut_reference.json"
SCORE_SIZE = 256
app = typer.Typer(add_completion=False)


def _gray256(path: Path) -> np.ndarray:
    im = Image.open(path).convert("L")
    return np.asarray(im.resize((SCORE_SIZE, SCORE_SIZE), Image.BICUBIC))


def _test_pairs(pairs_csv: Path) -> list[dict[str, str]]:
    import pandas as pd

    df = pd.read_csv(pairs_csv)
    return df[df["split"] == "test"].to_dict("records")


def _find_outputs(folder: Path, pairs: list[dict[str, str]]) -> dict[str, Path]:
    files = {p.stem: p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg")}
    found, missing = {}, []
    for r in pairs:
        f = files.get(r["id"]) or files.get(Path(r["photo"]).stem)
        if f is None:
            missing.append(r["id"])
        else:
            found[r["id"]] = f
    if missing:
        raise typer.BadParameter(f"{folder}: no output for {len(missing)} test pairs "
                                 f"(first: {missing[0]})")
    return found


@app.command()
def score(outputs: Annotated[Path, typer.Argument(help="Folder of synthesized test sketches.")],
          name: Annotated[str, typer.Option(help="Label for this set of outputs.")] = "ours",
          cufs: Annotated[Path | None, typer.Option(help="Raw CUFS folder (default $FSS_CUFS)."
                                                    )] = None,
          pairs_csv: Annotated[Path, typer.Option(help="Test pairs (id, photo, sketch).")] = Path(
              "fss/data/cufs_pairs.csv"),
          out: Annotated[Path, typer.Option(help="JSON to write.")] = Path(
              "metrics/official_cut.json")) -> None:
    """FID / SSIM (scikit-image default) / PSNR per subset of OUTPUTS vs the raw sketches."""
    import torch
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from fss.io import save_png, write_json
    from fss.metrics.fid import frechet_distance_small_sample, image_features, load_inception

    cufs = cufs or Path(os.environ.get("FSS_CUFS", ""))
    if not cufs.is_dir():
        raise typer.BadParameter(f"{cufs}: raw CUFS folder not found (set FSS_CUFS or --cufs)")
    pairs = _test_pairs(pairs_csv)
    found = _find_outputs(outputs, pairs)
    model = load_inception("cpu")
    torch.set_grad_enabled(False)
    result: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for subset in ("cuhk", "ar", "xm2vts"):
            sel = [r for r in pairs if r["subset"] == subset]
            fakes, reals, ssims, psnrs = [], [], [], []
            for r in sel:
                fake, real = _gray256(found[r["id"]]), _gray256(cufs / r["sketch"])
                ssims.append(structural_similarity(real, fake, data_range=255))
                psnrs.append(peak_signal_noise_ratio(real, fake, data_range=255))
                fakes.append(Path(tmp) / f"fake-{r['id']}.png")
                reals.append(Path(tmp) / f"real-{r['id']}.png")
                save_png(fakes[-1], fake)
                save_png(reals[-1], real)
            fid = frechet_distance_small_sample(image_features(fakes, model),
                                                image_features(reals, model))
            result[subset] = {"n": len(sel), "fid": round(fid, 2),
                              "ssim_skimage": round(float(np.mean(ssims)), 4),
                              "psnr": round(float(np.mean(psnrs)), 2)}
            typer.echo(f"{name} {subset}: {result[subset]}")
    from fss.tracking import git_commit

    prior = json.loads(out.read_text()) if out.is_file() else {}
    profile = ""
    if Path("params.yaml").is_file():
        import yaml

        profile = (yaml.safe_load(Path("params.yaml").read_text()).get("meta") or {}).get(
            "profile", "")
    prior[name] = {"outputs": str(outputs), "profile": profile, "git_commit": git_commit(),
                   "subsets": result}
    write_json(out, prior)
    typer.echo(f"wrote {out}")


@app.command()
def compare(scored: Annotated[Path, typer.Argument(help="JSON written by `score`.")] = Path(
        "metrics/official_cut.json"), name: str = "ours") -> None:
    """Ours beside official CUT, with the issue's targets (FID within 10, SSIM within 0.01)."""
    ref = json.loads(REFERENCE.read_text())["subsets"]
    ours = json.loads(scored.read_text())[name]["subsets"]
    typer.echo("| subset | FID official | FID ours | SSIM official | SSIM ours | PSNR official "
               "| PSNR ours | within target |\n|---|---|---|---|---|---|---|---|")
    for s, r in ref.items():
        o = ours[s]
        ok = o["fid"] <= r["fid"] + 10 and o["ssim_skimage"] >= r["ssim_skimage"] - 0.01
        typer.echo(f"| {s} | {r['fid']} | {o['fid']} | {r['ssim_skimage']} | "
                   f"{o['ssim_skimage']} | {r['psnr']} | {o['psnr']} | {'yes' if ok else 'NO'} |")


def _official_cut(path: Path, size: int, ngf: int, blocks: int, scratch: Path):
    """Official CUT's CUTModel (CUT mode: identity term on) built from the user's checkout
    at ``path`` with the options of its own train.py, and the step its loop runs."""
    import contextlib
    import io
    import sys

    import torch

    if not (path / "models" / "cut_model.py").is_file():
        raise typer.BadParameter(f"{path}: not a checkout of taesungp/contrastive-unpaired-"
                                 "translation (no models/cut_model.py)")
    sys.path.insert(0, str(path))
    from models import create_model  # official CUT's own package, from the user's checkout
    from options.train_options import TrainOptions

    cmd = (f"--dataroot {scratch} --name timing --checkpoints_dir {scratch} --gpu_ids -1 "
           f"--model cut --CUT_mode CUT --ngf {ngf} --ndf {ngf} --netG resnet_{blocks}blocks "
           f"--load_size {size} --crop_size {size} --preprocess none --batch_size 1 "
           "--display_id 0")
    with contextlib.redirect_stdout(io.StringIO()):
        opt = TrainOptions(cmd).parse()
        model = create_model(opt)
    gen = torch.Generator().manual_seed(0)
    # Official CUT reads the sketch as RGB (its input_nc = output_nc = 3 for the identity
    # term); ours keeps one channel.
    data = {"A": torch.rand(1, 3, size, size, generator=gen) * 2 - 1,
            "B": (torch.rand(1, 1, size, size, generator=gen) * 2 - 1).expand(-1, 3, -1, -1),
            "A_paths": ["a"], "B_paths": ["b"]}
    with contextlib.redirect_stdout(io.StringIO()):
        model.data_dependent_initialize(data)
        model.setup(opt)
        model.parallelize()

    def step() -> None:
        model.set_input(data)
        model.optimize_parameters()

    return step


def _our_cut(size: int, ngf: int, blocks: int):
    """Our ``cut`` row (``rows.cut`` of params.yaml, identity term on, no crop) and its step."""
    import torch
    from bench import conf_rows

    from fss.config import build
    from fss.training.config import LossParams, ModelParams, RowParams, TrainingConfig, TrainParams
    from fss.training.dataset import Batch
    from fss.training.methods import build_method
    from fss.training.sampling import SamplingParams

    cfg = TrainingConfig(row_name="cut", row=build(RowParams, conf_rows()["cut"], "rows.cut"),
                         model=ModelParams(ngf=ngf, ndf=ngf, n_blocks=blocks),
                         sampling=SamplingParams(), loss=LossParams(nce_idt=True),
                         train=TrainParams(), seed=0, device="cpu")
    torch.manual_seed(0)
    m = build_method(cfg)
    gen = torch.Generator().manual_seed(0)
    b = Batch(photo=torch.rand(1, 3, size, size, generator=gen) * 2 - 1,
              sketch=torch.rand(1, 1, size, size, generator=gen) * 2 - 1,
              mask=torch.ones(1, 1, size, size), face=None, hair=None)
    return m, b, lambda: m.step(b, gen)


def _step_gflop(step) -> float:
    """FLOPs of one training step (forward and backward of every network), counted by
    torch's FlopCounterMode on the step itself."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops() / 1e9


def _seconds_per_step(step, n: int) -> float:
    import time

    times = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


@app.command()
def time(official: Annotated[Path, typer.Option(
             help="A local checkout of official CUT (taesungp/contrastive-unpaired-"
                  "translation), fetched by you: it is imported from there, never vendored.")],
         size: Annotated[int, typer.Option(help="Image size.")] = 128,
         ngf: Annotated[int, typer.Option(help="Generator and discriminator width.")] = 32,
         blocks: Annotated[int, typer.Option(help="Residual blocks (6 or 9).")] = 9,
         repeats: Annotated[int, typer.Option(help="Alternating rounds (>= 5).")] = 7,
         steps: Annotated[int, typer.Option(help="Timed steps per round and side.")] = 10,
         warmup: Annotated[int, typer.Option(help="Untimed steps of each side first.")] = 5
         ) -> None:
    """Seconds per training step of official CUT and of our cut row, side by side in this
    one process: rounds alternate the two (so drift on a shared machine hits both), each
    round the median of STEPS steps; prints every round, the median ratio ours/official and
    its spread, and what share of this machine's matmul rate our step achieves."""
    import sys

    import torch

    sys.path.insert(0, str(HERE))
    from bench import _matmul_gflops

    if repeats < 5:
        raise typer.BadParameter("--repeats: at least 5 rounds (the ratio's spread needs them)")
    with tempfile.TemporaryDirectory() as scratch:
        theirs = _official_cut(official, size, ngf, blocks, Path(scratch))
        _, _, ours = _our_cut(size, ngf, blocks)
        for _ in range(warmup):
            theirs()
            ours()
        typer.echo(f"# {size}x{size}, ngf = ndf = {ngf}, {blocks} blocks, batch 1, identity "
                   f"term on, no crop; torch {torch.__version__}, {torch.get_num_threads()} "
                   f"threads; {repeats} rounds x {steps} steps\n")
        typer.echo("| round | official s/it | ours s/it | ours / official |\n|---|---|---|---|")
        rows = []
        for r in range(repeats):
            first, second = (theirs, ours) if r % 2 == 0 else (ours, theirs)
            a = _seconds_per_step(first, steps)
            b = _seconds_per_step(second, steps)
            t_off, t_ours = (a, b) if r % 2 == 0 else (b, a)
            rows.append((t_off, t_ours))
            typer.echo(f"| {r + 1} | {t_off:.3f} | {t_ours:.3f} | {t_ours / t_off:.3f} |")
        gflop, gflop_off = _step_gflop(ours), _step_gflop(theirs)
    ratios = sorted(o / t for t, o in rows)
    q1, q3 = statistics.quantiles(ratios, n=4)[0], statistics.quantiles(ratios, n=4)[2]
    mm = _matmul_gflops()
    t_ours = statistics.median(o for _, o in rows)
    typer.echo(f"\nmedian s/it: official {statistics.median(t for t, _ in rows):.3f}, ours "
               f"{t_ours:.3f}; ratio ours/official median {statistics.median(ratios):.3f} "
               f"(quartiles {q1:.3f}-{q3:.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    typer.echo(f"our step: {gflop:.2f} GFLOP, {gflop / t_ours:.1f} GFLOP/s achieved = "
               f"{gflop / t_ours / mm:.0%} of this machine's fp32 matmul rate ({mm:.0f} GFLOP/s, "
               "2048^2, same run)")
    typer.echo(f"official step: {gflop_off:.2f} GFLOP, so ours does {gflop / gflop_off:.2f}x its "
               "arithmetic: at equal efficiency that is the time ratio")


if __name__ == "__main__":
    app()
