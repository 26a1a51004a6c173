"""Benchmark (a script, not a test): the fast CPU inference paths against eager fp32,
measured in one run on one machine, and what they cost in quality.

Speed: the paper-size generator (256x256, ngf 64, 9 blocks, mask input; random
weights serve for timing) as eager PyTorch fp32, onnxruntime fp32 and onnxruntime
static int8 (QDQ, calibrated on CUFS training photos when ``--splits`` exists, else
on random inputs, said in the output): images/s, the achieved GFLOP/s (fp32 ops
counted, for int8 the same count as "effective") against the measured fp32 matmul
rate. Quality, per ``--generator`` (trained model files): each fast path's sketches
of the test photos against eager fp32's, as mean SSIM and mean absolute difference
in grey levels (and FID of each path to the real sketches with ``--fid``).

    python benchmarks/fast_cpu.py                                   # speed only
    python benchmarks/fast_cpu.py --generator models/fss/seed0/generator.pt --fid
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import _generator_gflop, _matmul_gflops  # noqa: E402

app = typer.Typer(add_completion=False)


def _paper_model(folder: Path, size: int, ngf: int, blocks: int) -> Path:
    from fss.data.align import AlignParams
    from fss.data.masks import MaskParams
    from fss.inference.model_file import ModelInfo, save_model
    from fss.models.generator import GeneratorParams, ResnetGenerator

    torch.manual_seed(0)
    gp = GeneratorParams(ngf=ngf, n_blocks=blocks)
    g = ResnetGenerator(4, 1, gp)
    info = ModelInfo(in_channels=4, out_channels=1, generator=gp, mask_input=True,
                     image_size=size, align=AlignParams(size=size), masks=MaskParams(),
                     row="random", note="random weights, for timing")
    path = folder / "paper_random.pt"
    save_model(path, g.state_dict(), info)
    return path


def _calibration(onnx_path: Path, splits: Path, masks: Path, count: int, size: int
                 ) -> tuple[list[np.ndarray], str]:
    from fss.inference.quantize import calibration_inputs

    if splits.is_file():
        xs = calibration_inputs(splits, masks, onnx_path, count)
        if xs and xs[0].shape[-1] == size:
            return xs, f"{len(xs)} training photos of {splits}"
    rng = np.random.default_rng(0)
    xs = []
    for _ in range(count):
        x = rng.uniform(-1, 1, (1, 4, size, size)).astype(np.float32)
        x[:, 3] = x[:, 3] > 0
        xs.append(x)
    return xs, f"{count} random inputs (no {splits} at this size)"


def _fast_paths(model: Path, folder: Path, splits: Path, masks: Path, count: int,
                size: int) -> tuple[dict[str, Path], str]:
    from fss.inference.export import export_onnx
    from fss.inference.quantize import quantize_int8

    fp32 = folder / f"{model.stem}.onnx"
    export_onnx(model, fp32)
    calib, where = _calibration(fp32, splits, masks, count, size)
    int8 = folder / f"{model.stem}-int8.onnx"
    quantize_int8(fp32, int8, calib)
    return {"onnxruntime fp32": fp32, "onnxruntime int8 (static, QDQ)": int8}, where


def _time(run, x: torch.Tensor, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return x.shape[0] / statistics.median(times)


def _speed(folder: Path, size: int, ngf: int, blocks: int, batch: int, repeats: int,
           warmup: int, splits: Path, masks: Path, count: int, threads: int) -> None:
    from fss.inference.runtime import OnnxRunner, TorchRunner

    model = _paper_model(folder, size, ngf, blocks)
    paths, where = _fast_paths(model, folder, splits, masks, count, size)
    gflop = _generator_gflop(size, ngf, blocks)
    mm = _matmul_gflops()
    x = torch.rand(batch, 4, size, size) * 2 - 1
    x[:, 3] = (x[:, 3] > 0).float()
    runners = {"eager fp32 (inference_mode)": TorchRunner(model, "cpu")}
    runners.update({k: OnnxRunner(p, threads) for k, p in paths.items()})
    print(f"\n## Fast CPU inference, generator {size}x{size}, ngf {ngf}, {blocks} blocks, "
          f"mask input, random weights, batch {batch} (median of {repeats} after {warmup} "
          f"warm-up): {gflop:.1f} GFLOP per image; machine fp32 matmul (2048^2): {mm:.0f} "
          f"GFLOP/s; int8 calibrated on {where}\n")
    print("| path | images / s | x eager fp32 | achieved GFLOP/s | share of fp32 matmul |")
    print("|---|---|---|---|---|")
    base = None
    for name, run in runners.items():
        ips = _time(run, x, repeats, warmup)
        base = base or ips
        print(f"| {name} | {ips:.2f} | {ips / base:.2f} | {ips * gflop:.0f} | "
              f"{ips * gflop / mm:.0%} |")
    print("\n(int8: GFLOP/s counts the fp32 operations the int8 path replaces, an "
          "effective rate; above 100 % means int8 beats the fp32 matmul ceiling.)")


def _quality(generators: list[Path], folder: Path, splits: Path, masks: Path, count: int,
             fid: bool, threads: int) -> None:
    from fss.evaluation.evaluate import read_test_pairs
    from fss.inference.model_file import read_model
    from fss.inference.runtime import OnnxRunner, TorchRunner
    from fss.io import read_gray, read_rgb
    from fss.metrics.similarity import ssim
    from fss.tensors import generator_input, sketch_uint8

    pairs = read_test_pairs(splits)
    print(f"\n## Quality of the fast paths against eager fp32, CUFS test set "
          f"({len(pairs)} photos)\n")
    head = "| generator | path | SSIM to fp32 | mean abs diff (grey levels) |"
    print(head + (" FID to real sketches | FID delta |" if fid else ""))
    print("|---|---|---|---|" + ("---|---|" if fid else ""))
    for gen in generators:
        info = read_model(gen)[1]
        paths, _ = _fast_paths(gen, folder, splits, masks, count, info.image_size)
        runners = {"eager fp32": TorchRunner(gen, "cpu")}
        runners.update({k: OnnxRunner(p, threads) for k, p in paths.items()})
        outs: dict[str, list[np.ndarray]] = {k: [] for k in runners}
        for p in pairs:
            mask = read_gray(masks / f"{p.id}.png") if info.mask_input else None
            x = generator_input(read_rgb(p.photo), mask, info.mask_input)
            for k, run in runners.items():
                outs[k].append(sketch_uint8(run(x)[0, 0]))
        fids = _fids(outs, pairs, folder) if fid else {}
        for k, imgs in outs.items():
            if k == "eager fp32":
                continue
            s = np.mean([ssim(a, b) for a, b in zip(imgs, outs["eager fp32"], strict=True)])
            d = np.mean([np.abs(a.astype(float) - b).mean()
                         for a, b in zip(imgs, outs["eager fp32"], strict=True)])
            line = f"| {gen} | {k} | {s:.4f} | {d:.2f} |"
            if fid:
                line += f" {fids[k]:.2f} | {fids[k] - fids['eager fp32']:+.2f} |"
            print(line)
        if fid:
            print(f"| {gen} | eager fp32 | 1 | 0 | {fids['eager fp32']:.2f} | 0 |")


def _fids(outs: dict[str, list[np.ndarray]], pairs, folder: Path) -> dict[str, float]:
    from fss.io import save_png
    from fss.metrics.fid import fid_from_features, image_features, load_inception

    net = load_inception("cpu")
    real = image_features([p.sketch for p in pairs], net, "cpu")
    result = {}
    for k, imgs in outs.items():
        d = folder / "fid" / k.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "")
        d.mkdir(parents=True, exist_ok=True)
        files = []
        for i, img in enumerate(imgs):
            save_png(d / f"{i:04d}.png", img)
            files.append(d / f"{i:04d}.png")
        result[k] = fid_from_features(image_features(files, net, "cpu"), real)
    return result


@app.command()
def main(
    size: Annotated[int, typer.Option(help="Image size for the speed table.")] = 256,
    ngf: Annotated[int, typer.Option(help="Generator width for the speed table.")] = 64,
    blocks: Annotated[int, typer.Option(help="Residual blocks for the speed table.")] = 9,
    batch: Annotated[int, typer.Option(help="Images per call.")] = 1,
    repeats: Annotated[int, typer.Option(help="Timed calls per path.")] = 5,
    warmup: Annotated[int, typer.Option(help="Untimed calls first.")] = 2,
    threads: Annotated[int, typer.Option(help="Threads for torch and onnxruntime; 0 = "
                                              "all cores.")] = 0,
    generator: Annotated[list[Path] | None, typer.Option(
        help="Trained model file(s) for the quality table (repeatable).")] = None,
    splits: Annotated[Path, typer.Option(help="Test photos and int8 calibration photos.")
                      ] = Path("data/splits.csv"),
    masks: Annotated[Path, typer.Option(help="Masks of those photos.")] = Path("data/masks"),
    calibration: Annotated[int, typer.Option(help="int8 calibration photos.")] = 32,
    fid: Annotated[bool, typer.Option(help="Also FID of each path to the real sketches "
                                           "(needs the FID Inception weights).")] = False,
    skip_speed: Annotated[bool, typer.Option(help="Only the quality table.")] = False,
) -> None:
    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    print(f"## Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"onnxruntime {__import__('onnxruntime').__version__}, {n} threads")
    with tempfile.TemporaryDirectory(prefix="fss-fast-cpu-") as tmp:
        if not skip_speed:
            _speed(Path(tmp), size, ngf, blocks, batch, repeats, warmup, splits, masks,
                   calibration, n)
        if generator:
            _quality(list(generator), Path(tmp), splits, masks, calibration, fid, n)


if __name__ == "__main__":
    app()
