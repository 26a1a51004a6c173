"""Compose ``params.yaml`` from ``conf/`` the way ``dvc exp run`` does (DVC's own
Hydra helper), so plain ``dvc repro`` and the tests see the same params."""

from __future__ import annotations

from pathlib import Path


def compose_params(out: Path, overrides: list[str], conf_dir: Path = Path("conf")) -> None:
    """Write ``out`` from ``conf_dir`` and ``overrides``, checked (fss.params) first."""
    from dvc.utils.hydra import compose_and_dump

    if not (conf_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{conf_dir / 'config.yaml'}: not found (run from the repo root)")
    from fss.params import read_params

    tmp = Path(out).with_name(f".{Path(out).name}.tmp")
    try:
        compose_and_dump(tmp, str(conf_dir.resolve()), None, "config", "", overrides)
        read_params(tmp)  # a bad override (-S train.lr=abc) writes nothing
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
