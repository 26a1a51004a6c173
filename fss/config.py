"""Params: ``params.yaml`` (composed from ``conf/`` by DVC's Hydra support) read into
one small dataclass per section, so each constructor sees only the numbers it uses."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ParamsError(ValueError):
    pass


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (run from the repository root)")
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections")
    return data


def _convert(value: Any, default: Any) -> Any:
    """YAML has no tuples: lists become tuples where the field's default is one."""
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


def build(cls: type[T], section: dict[str, Any] | None, name: str = "") -> T:
    """Dataclass ``cls`` from a params section; an unknown key is an error, so a typo
    in ``-S align.sise=128`` fails instead of silently doing nothing."""
    section = dict(section or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ParamsError(
            f"params section '{name or cls.__name__}': unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for k, v in section.items():
        f = fields[k]
        default = f.default if f.default is not dataclasses.MISSING else None
        kwargs[k] = _convert(v, default)
    return cls(**kwargs)


def section(params: dict[str, Any], name: str, cls: type[T]) -> T:
    return build(cls, params.get(name), name)


def env_path(name: str) -> Path | None:
    v = os.environ.get(name)
    return Path(v).expanduser() if v else None
