"""Candidates for a faster CPU training step (a script, not a test), each measured
against the eager step in this one process: rounds alternate baseline and candidate (so
a shared machine's drift hits both), each round the median of STEPS steps, and the
candidate's losses over the first steps are compared with the baseline's from the same
initial weights ("equal results"). Prints one table per row.

    python benchmarks/step_candidates.py --rows cut,fss                 # cpu profile
    python benchmarks/step_candidates.py --rows fss --candidates compile

Candidates: ``channels_last`` (NHWC memory layout for every network), ``threads1``
(one intra-op thread instead of all), ``batched_vgg`` (the fss row's perceptual VGG on
fake and real sketch as one batch of two), ``compile`` (torch.compile of G's passes, D,
H and the perceptual VGG; inductor on CPU), ``compile_d_h_vgg`` (the same without G),
``bf16`` (``train.precision=bf16``: bf16 autocast, which oneDNN runs on AMX where the CPU
has it; a precision trade, so its loss difference is reported, not required to be 0).
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Annotated

import torch
import typer
from bench import conf_rows

app = typer.Typer(add_completion=False)
CANDIDATES = ("channels_last", "threads1", "batched_vgg", "compile", "compile_d_h_vgg", "bf16")


def _method(row: str, size: int, ngf: int, blocks: int):
    from fss.config import build
    from fss.training.config import LossParams, ModelParams, RowParams, TrainingConfig, TrainParams
    from fss.training.methods import build_method
    from fss.training.sampling import SamplingParams

    cfg = TrainingConfig(row_name=row, row=build(RowParams, conf_rows()[row], f"rows.{row}"),
                         model=ModelParams(ngf=ngf, ndf=ngf, n_blocks=blocks),
                         sampling=SamplingParams(),
                         loss=LossParams(perceptual={"backbone": "vgg16"}),
                         train=TrainParams(), seed=0, device="cpu")
    torch.manual_seed(0)
    return build_method(cfg)


def _batch(size: int):
    from fss.training.dataset import Batch

    g = torch.Generator().manual_seed(0)
    face = torch.zeros(1, 1, size, size)
    face[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 0.9
    hair = torch.zeros(1, 1, size, size)
    hair[..., : size // 4, size // 8: 7 * size // 8] = 0.7
    return Batch(photo=torch.rand(1, 3, size, size, generator=g) * 2 - 1,
                 sketch=torch.rand(1, 1, size, size, generator=g) * 2 - 1,
                 mask=torch.ones(1, 1, size, size), face=face, hair=hair)


def _batched_vgg_forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    both = self._stages(self._prep(torch.cat([fake, real.detach()])))
    return sum(w * F.l1_loss(s[:1], s[1:].detach())
               for w, s in zip(self.weights, both, strict=True))


def _candidate(name: str, base):
    """A copy of ``base`` (same weights and optimizer state) with the candidate applied,
    and a function preparing the batch for it; threads are set around its steps."""
    m = copy.deepcopy(base)
    if name == "channels_last":
        m.configure(channels_last=True)
    elif name == "batched_vgg":
        if getattr(m, "perceptual", None) is None:
            return None
        import types

        m.perceptual.forward = types.MethodType(_batched_vgg_forward, m.perceptual)
    elif name in ("compile", "compile_d_h_vgg"):
        if name == "compile":
            g = m.nets["G"]
            g.forward_with_features = torch.compile(g.forward_with_features)
            g.encode = torch.compile(g.encode)
        m.nets["D"].forward = torch.compile(m.nets["D"].forward)
        if "H" in m.nets:
            m.nets["H"].forward = torch.compile(m.nets["H"].forward)
        if getattr(m, "perceptual", None) is not None:
            m.perceptual.forward = torch.compile(m.perceptual.forward)
    elif name == "bf16":
        m.configure(amp=torch.bfloat16)  # train.precision=bf16: autocast, not equal results
    return m


def _time(m, batch, steps: int, threads: int, seed: int) -> float:
    torch.set_num_threads(threads)
    times = []
    for i in range(steps):
        gen = torch.Generator().manual_seed(seed + i)
        t = time.perf_counter()
        m.step(m.prepare(batch), gen)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _losses(m, batch, n: int, threads: int) -> list[dict[str, float]]:
    from fss.training.methods import loss_values

    torch.set_num_threads(threads)
    return [loss_values(m.step(m.prepare(batch), torch.Generator().manual_seed(i)))
            for i in range(n)]


def _max_rel_diff(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    return max(abs(x[k] - y[k]) / max(abs(y[k]), 1e-6)
               for x, y in zip(a, b, strict=True) for k in y)


@app.command()
def main(rows: Annotated[str, typer.Option(help="Rows, comma-separated.")] = "cut,fss",
         candidates: Annotated[str, typer.Option(help="Comma-separated, of: " + ", ".join(
             CANDIDATES))] = "channels_last,threads1,batched_vgg",
         size: Annotated[int, typer.Option(help="Image size.")] = 128,
         ngf: Annotated[int, typer.Option(help="Width.")] = 16,
         blocks: Annotated[int, typer.Option(help="Residual blocks.")] = 6,
         repeats: Annotated[int, typer.Option(help="Alternating rounds.")] = 5,
         steps: Annotated[int, typer.Option(help="Timed steps per round and side.")] = 8,
         check_steps: Annotated[int, typer.Option(help="Steps compared for equal losses.")] = 3
         ) -> None:
    names = [c for c in candidates.split(",") if c]
    bad = sorted(set(names) - set(CANDIDATES))
    if bad:
        raise typer.BadParameter(f"--candidates: unknown {', '.join(bad)}")
    threads = torch.get_num_threads()
    batch = _batch(size)
    print(f"# step candidates, {size}x{size}, ngf {ngf}, {blocks} blocks, torch "
          f"{torch.__version__}, {threads} threads; {repeats} rounds x {steps} steps")
    for row in [r for r in rows.split(",") if r]:
        print(f"\n## {row}\n\n| candidate | baseline s/it | candidate s/it | candidate / baseline "
              "(median, range) | max relative loss difference over "
              f"{check_steps} steps |\n|---|---|---|---|---|")
        base = _method(row, size, ngf, blocks)
        for name in names:
            cand = _candidate(name, base)
            if cand is None:
                print(f"| {name} | - | - | not applicable to {row} | - |")
                continue
            t_threads = 1 if name == "threads1" else threads
            ref = copy.deepcopy(base)
            try:
                diff = _max_rel_diff(_losses(cand, batch, check_steps, t_threads),
                                     _losses(ref, batch, check_steps, threads))
            except Exception as e:  # noqa: BLE001 - a candidate that fails is a result
                first = str(e).strip().splitlines()[0][:120] if str(e).strip() else ""
                print(f"| {name} | - | - | fails: {type(e).__name__} {first} | - |", flush=True)
                continue
            # untimed first steps (compilation, allocator warm-up) are those just run
            pairs = []
            for r in range(repeats):
                if r % 2 == 0:
                    b = _time(ref, batch, steps, threads, 100 + r)
                    c = _time(cand, batch, steps, t_threads, 100 + r)
                else:
                    c = _time(cand, batch, steps, t_threads, 100 + r)
                    b = _time(ref, batch, steps, threads, 100 + r)
                pairs.append((b, c))
            ratios = sorted(c / b for b, c in pairs)
            print(f"| {name} | {statistics.median(b for b, _ in pairs):.3f} | "
                  f"{statistics.median(c for _, c in pairs):.3f} | "
                  f"{statistics.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f}) | "
                  f"{diff:.1e} |", flush=True)
        torch.set_num_threads(threads)


if __name__ == "__main__":
    app()
