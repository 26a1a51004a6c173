"""Benchmark (a script, not a test): per-row training iteration time and peak memory
at a given size, each row's cost over the cut row's, and inference images/second of
the generator with the options that help on CPU. Prints tables; medians over repeats.

    python benchmarks/bench.py --size 128 --ngf 16 --blocks 6        # cpu profile
    python benchmarks/bench.py --infer-size 256 --infer-ngf 64       # paper generator
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Annotated

import torch
import typer

app = typer.Typer(add_completion=False)
PARAMS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "params.yaml")


def conf_rows() -> dict[str, dict]:
    """The rows' switches as conf declares them (``rows`` of the composed params.yaml);
    the benchmark sets the sizes itself."""
    import yaml

    with open(PARAMS) as f:
        return {r: {k: v for k, v in row.items() if k != "uses"}
                for r, row in yaml.safe_load(f)["rows"].items()}


def _row_worker(row: str, size: int, ngf: int, blocks: int, repeats: int, warmup: int) -> dict:
    """One row in this (fresh) process: seconds per iteration and peak RSS."""
    from fss.config import build
    from fss.training.config import (
        LossParams,
        ModelParams,
        RowParams,
        TrainingConfig,
        TrainParams,
    )
    from fss.training.dataset import Batch
    from fss.training.methods import build_method
    from fss.training.sampling import SamplingParams

    cfg = TrainingConfig(row_name=row, row=build(RowParams, conf_rows()[row], f"rows.{row}"),
                         model=ModelParams(ngf=ngf, ndf=ngf, n_blocks=blocks),
                         sampling=SamplingParams(),
                         loss=LossParams(perceptual={"backbone": "vgg16"}),
                         train=TrainParams(), seed=0, device="cpu")
    torch.manual_seed(0)
    m = build_method(cfg)
    face = torch.zeros(1, 1, size, size)
    face[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 0.9
    hair = torch.zeros(1, 1, size, size)
    hair[..., : size // 4, size // 8: 7 * size // 8] = 0.7
    b = Batch(photo=torch.rand(1, 3, size, size) * 2 - 1,
              sketch=torch.rand(1, 1, size, size) * 2 - 1, mask=torch.ones(1, 1, size, size),
              face=face, hair=hair, unpaired_sketch=torch.rand(1, 1, size, size) * 2 - 1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(warmup):
        m.step(b, gen)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        m.step(b, gen)
        times.append(time.perf_counter() - t)
    return {"row": row, "s_per_iter": statistics.median(times),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _inference(size: int, ngf: int, blocks: int, batch: int, repeats: int) -> list[dict]:
    from fss.models.generator import GeneratorParams, ResnetGenerator

    g = ResnetGenerator(4, 1, GeneratorParams(ngf=ngf, n_blocks=blocks)).eval()
    x = torch.rand(batch, 4, size, size)
    out = []
    for name, model, inp, ctx in (
        ("eager fp32, no_grad", g, x, torch.no_grad),
        ("inference_mode", g, x, torch.inference_mode),
        ("inference_mode + channels_last", g.to(memory_format=torch.channels_last),
         x.contiguous(memory_format=torch.channels_last), torch.inference_mode),
    ):
        with ctx():
            model(inp[:1])
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                model(inp)
                times.append(time.perf_counter() - t)
        out.append({"variant": f"{name}, batch {batch}",
                    "images_per_s": batch / statistics.median(times)})
    return out


def _generator_gflop(size: int, ngf: int, blocks: int) -> float:
    """Multiply-adds x 2 of the generator's convolutions at ``size`` (counted)."""
    from fss.models.generator import GeneratorParams, ResnetGenerator

    g = ResnetGenerator(4, 1, GeneratorParams(ngf=ngf, n_blocks=blocks))
    flops = 0

    def hook(mod, inp, outp):
        nonlocal flops
        if isinstance(mod, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            flops += 2 * k * outp.numel()

    hs = [m.register_forward_hook(hook) for m in g.modules()]
    with torch.no_grad():
        g(torch.zeros(1, 4, size, size))
    for h in hs:
        h.remove()
    return flops / 1e9


def _matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def _row_table(rows: list[str], size: int, ngf: int, blocks: int, repeats: int,
               warmup: int) -> None:
    """Each row in a fresh process (its own peak memory); ratios to the first row."""
    print("| row | s / iteration | x " + rows[0] + " | peak RSS (MB) |\n|---|---|---|---|")
    res = {}
    for row in rows:
        cmd = [sys.executable, __file__, "--worker", row, "--size", str(size), "--ngf", str(ngf),
               "--blocks", str(blocks), "--repeats", str(repeats), "--warmup", str(warmup)]
        line = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = res[row] = json.loads(line.strip().splitlines()[-1])
        print(f"| {row} | {r['s_per_iter']:.3f} | "
              f"{r['s_per_iter'] / res[rows[0]]['s_per_iter']:.2f} | {r['peak_rss_mb']:.0f} |",
              flush=True)


@app.command()
def main(
    size: Annotated[int, typer.Option(help="Training image size.")] = 128,
    ngf: Annotated[int, typer.Option(help="Generator/discriminator width.")] = 16,
    blocks: Annotated[int, typer.Option(help="Residual blocks.")] = 6,
    repeats: Annotated[int, typer.Option(help="Timed iterations per row.")] = 10,
    warmup: Annotated[int, typer.Option(help="Untimed iterations first.")] = 2,
    infer_size: Annotated[int, typer.Option(help="Inference image size.")] = 256,
    infer_ngf: Annotated[int, typer.Option(help="Inference generator width.")] = 64,
    infer_blocks: Annotated[int, typer.Option(help="Inference residual blocks.")] = 9,
    infer_batch: Annotated[int, typer.Option(help="Inference batch.")] = 4,
    paper_rows: Annotated[str, typer.Option(
        help="Rows also timed at the paper's scale (256x256, ngf 64, 9 blocks), comma-"
             "separated; '' skips.")] = "cut,fss",
    paper_repeats: Annotated[int, typer.Option(help="Timed iterations at paper scale.")] = 3,
    worker: Annotated[str, typer.Option(hidden=True)] = "",
) -> None:
    if worker:  # one row in a fresh process, so its peak memory is its own
        print(json.dumps(_row_worker(worker, size, ngf, blocks, repeats, warmup)))
        return
    print(f"# fss benchmark — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"\n## Training step, {size}x{size}, ngf {ngf}, {blocks} blocks, batch 1 "
          f"(median of {repeats} after {warmup} warm-up)\n")
    _row_table(tuple(conf_rows()), size, ngf, blocks, repeats, warmup)
    rows = [r for r in paper_rows.split(",") if r]
    if rows:
        print(f"\n## Training step at the paper's scale, 256x256, ngf 64, 9 blocks, batch 1 "
              f"(median of {paper_repeats} after 1 warm-up; VGG16 perceptual)\n")
        _row_table(rows, 256, 64, 9, paper_repeats, 1)
    gflop = _generator_gflop(infer_size, infer_ngf, infer_blocks)
    mm = _matmul_gflops()
    print(f"\n## Inference, generator {infer_size}x{infer_size}, ngf {infer_ngf}, "
          f"{infer_blocks} blocks, mask input: {gflop:.1f} GFLOP per image; "
          f"machine matmul (2048^2 fp32): {mm:.0f} GFLOP/s, so at most {mm / gflop:.2f} "
          "images/s even at 100 % of that rate\n")
    print("| variant | images / s | achieved GFLOP/s | share of matmul |\n|---|---|---|---|")
    for r in _inference(infer_size, infer_ngf, infer_blocks, infer_batch, 3):
        achieved = r["images_per_s"] * gflop
        print(f"| {r['variant']} | {r['images_per_s']:.2f} | {achieved:.0f} | "
              f"{achieved / mm:.0%} |")


if __name__ == "__main__":
    app()
