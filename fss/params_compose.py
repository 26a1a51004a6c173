"""Compose ``params.yaml`` from ``conf/`` the way ``dvc exp run`` does (DVC's own
Hydra helper), so plain ``dvc repro`` and the tests see the same params."""

from __future__ import annotations

from pathlib import Path


def compose_params(out: Path, overrides: list[str], conf_dir: Path = Path("conf")) -> None:
    """Write ``out`` from ``conf_dir`` and ``overrides``, checked (fss.params) first."""
    from dvc.utils.hydra import compose_and_dump

    if not (conf_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{conf_dir / 'config.yaml'}: not found (run from the repo root)")
    from fss.config import ParamsError, load_params
    from fss.params import check_params

    tmp = Path(out).with_name(f".{Path(out).name}.tmp")
    try:
        compose_and_dump(tmp, str(conf_dir.resolve()), None, "config", "", overrides)
        try:  # a bad override (-S train.lr=abc) writes nothing
            check_params(load_params(tmp))
        except ParamsError as e:
            raise ParamsError(f"{out} (not written): {e}") from None
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
