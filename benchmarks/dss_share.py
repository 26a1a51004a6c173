"""DSS's doubled share on real RCS maps (a script, not a test): for every training
photo's maps (data/rcs_maps), the share of the sampled locations that DSS doubles at each
NCE layer, with the params' sampling settings, beside the share of region pixels whose
map value sits between 0.2 and 0.8 (how graded the maps are).

    python benchmarks/dss_share.py [--maps data/rcs_maps] [--size 128]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer

app = typer.Typer(add_completion=False)


@app.command()
def main(maps: Annotated[Path, typer.Option(help="Folder of <id>_{face,hair}.png.")] = Path(
             "data/rcs_maps"),
         splits: Annotated[Path, typer.Option(help="data/splits.csv.")] = Path("data/splits.csv"),
         params: Annotated[Path, typer.Option(help="params.yaml (sampling, model).")] = Path(
             "params.yaml"),
         draws: Annotated[int, typer.Option(help="Sampling draws per photo.")] = 3) -> None:
    import pandas as pd

    from fss.io import read_gray
    from fss.models.generator import ResnetGenerator
    from fss.params import read_params
    from fss.training.sampling import doubled_share, dynamic_indices, resize_map

    p = read_params(params)
    ids = pd.read_csv(splits).query("split == 'train'")["id"].tolist()
    first = read_gray(maps / f"{ids[0]}_face.png")
    g = ResnetGenerator(3, 1, p.model.generator())
    shapes = [f.shape[-2:] for f in g.encode(torch.zeros(1, 3, *first.shape), p.model.nce_layers)]
    shares = {layer: [] for layer in p.model.nce_layers}
    graded = []
    for k, i in enumerate(ids):
        face = torch.tensor(read_gray(maps / f"{i}_face.png"), dtype=torch.float32) / 255
        hair = torch.tensor(read_gray(maps / f"{i}_hair.png"), dtype=torch.float32) / 255
        region = (face > 0.5) | (hair > 0.5)
        vals = torch.where(face > 0.5, face, hair)[region]
        graded.append(float(((vals > 0.2) & (vals < 0.8)).float().mean()))
        for layer, (h, w) in zip(p.model.nce_layers, shapes, strict=True):
            f, hr = resize_map(face, h, w), resize_map(hair, h, w)
            for d in range(draws):
                gen = torch.Generator().manual_seed(k * 100 + d)
                shares[layer].append(doubled_share(dynamic_indices(f, hr, p.sampling, gen)))
    typer.echo(f"{len(ids)} training photos, {draws} draws each, dss_threshold "
               f"{p.sampling.dss_threshold}; region pixels with 0.2 < map < 0.8: "
               f"{100 * np.mean(graded):.1f} %")
    typer.echo("| layer | size | doubled share (mean) | p10 | p90 |\n|---|---|---|---|---|")
    for layer, (h, w) in zip(p.model.nce_layers, shapes, strict=True):
        s = np.array(shares[layer])
        p10, p90 = np.percentile(s, [10, 90]) * 100
        typer.echo(f"| {layer} | {h}x{w} | {100 * s.mean():.1f} % | {p10:.1f} % | {p90:.1f} % |")


if __name__ == "__main__":
    app()
