"""Benchmark (a script, not a test): seconds per test image of each part of the evaluate
stage (FID's Inception features from PNG files, Gaussian SSIM, scikit-image SSIM, PSNR,
FSIM, LPIPS, DISTS) at a given size and batch, on random 8-bit gray images; medians over
repeats. Needs the registry's VGG16 and Inception (FSS_WEIGHTS).

    python benchmarks/perceptual_metrics.py --size 128 --threads 2   # cpu profile
    python benchmarks/perceptual_metrics.py --size 256 --threads 2   # paper size
"""

from __future__ import annotations

import statistics
import time
from typing import Annotated

import numpy as np
import torch
import typer

app = typer.Typer(add_completion=False)


@app.command()
def main(size: Annotated[int, typer.Option(help="Image side (the aligned size).")] = 128,
         images: Annotated[int, typer.Option(help="Images per timed call.")] = 32,
         batch: Annotated[int, typer.Option(help="evaluate.batch_size.")] = 16,
         repeats: Annotated[int, typer.Option(help="Timed repeats (median).")] = 3,
         threads: Annotated[int, typer.Option(help="torch threads (0 = default).")] = 0,
         ) -> None:
    from fss.evaluation.evaluate import PIXEL_METRICS
    from fss.metrics.perceptual import PERCEPTUAL_KEYS, PerceptualMetrics

    if threads:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    real = [rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in range(images)]
    fake = [np.clip(r.astype(int) + rng.integers(-40, 41, r.shape), 0, 255).astype(np.uint8)
            for r in real]

    def per_image(fn) -> float:
        fn()  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) / images)
        return statistics.median(times)

    print(f"size {size}, {images} images, batch {batch}, threads {torch.get_num_threads()}")
    print(f"{'metric':14s} {'s / image':>10s} {'min / 338 images':>18s}")
    for key, f in PIXEL_METRICS.items():
        s = per_image(lambda f=f: [f(a, b) for a, b in zip(fake, real, strict=True)])
        print(f"{key:14s} {s:10.4f} {s * 338 / 60:18.2f}")
    for key in PERCEPTUAL_KEYS:
        pm = PerceptualMetrics([key], batch_size=batch)
        s = per_image(lambda pm=pm: pm(fake, real))
        print(f"{key:14s} {s:10.4f} {s * 338 / 60:18.2f}")
    import tempfile
    from pathlib import Path

    from fss.io import save_png
    from fss.metrics.fid import image_features, load_inception

    model = load_inception("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        files = [Path(tmp) / f"{i}.png" for i in range(images)]
        for f, a in zip(files, fake, strict=True):
            save_png(f, a)
        with torch.inference_mode():
            s = per_image(lambda: image_features(files, model))
    # FID embeds only the synthesized images per evaluation (real ones once, fid_reference)
    print(f"{'inception':14s} {s:10.4f} {s * 338 / 60:18.2f}")


if __name__ == "__main__":
    app()
