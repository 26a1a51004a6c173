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

Outputs are found by the test pair's id (ours: <subset>/<id>.png) or by the raw photo's
file stem (official CUT's results/<name>/test_latest/images/fake_B/<photo>.png).
"""

from __future__ import annotations

import json
import os
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


if __name__ == "__main__":
    app()
