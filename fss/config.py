"""Params: ``params.yaml`` (composed from ``conf/`` by DVC's Hydra support) read into
one small dataclass per section, so each constructor sees only the numbers it uses.

Every section dataclass is validated by pydantic (``TypeAdapter`` over the stdlib
dataclass, strict types): a field's type says what it accepts, and the aliases below
add the range, so a new key with its constraint is one line, e.g.
``lr: PosFloat = 2e-4``; choices are ``Literal[...]``; a rule across keys goes in the
dataclass's ``__post_init__`` as a ``ValueError``. Any violation becomes one
``ParamsError`` line naming the key, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import Field, TypeAdapter, ValidationError

T = TypeVar("T")

# Constraints shared by many keys (floats reject nan/inf where a range is given).
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1)]      # thresholds, fractions of a frame
Level255 = Annotated[int, Field(ge=0, le=255)]      # an 8-bit grey level


class ParamsError(ValueError):
    pass


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key repeated in one mapping: YAML says keys are
    unique, yet PyYAML keeps the last silently, so a second ``loss:`` section would
    replace the first and drop its keys to code defaults. (Hand-written: PyYAML has no
    option for it; ruamel.yaml refuses duplicates but reads YAML 1.2, where ``2e-4``
    and ``yes`` mean other things than in the files DVC and Hydra write.)"""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class says so
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                    f"(first at line {first.line + 1})", None)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The params file as a plain mapping (unchecked; ``fss.params.read_params`` checks
    and types every section)."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (run from the repository root)")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, UnicodeDecodeError) as e:  # (the latter: not a text file)
        raise ParamsError(f"{path}: not valid YAML ({' '.join(str(e).split())})") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections")
    return data


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(e: ValidationError, name: str) -> str:
    """The first problem as one line: ``train.epochs = 'abc': should be a valid integer``."""
    errors = e.errors()
    err = errors[0]
    msg = err["msg"].removeprefix("Value error, ").replace("Input should", "should")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if not err["loc"]:  # a rule across keys (__post_init__)
        return f"params section '{name}': {msg}{more}"
    key = ".".join([name, *(str(x) for x in err["loc"])])
    return f"{key} = {_show(err['input'])}: {msg}{more}"


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def build(cls: type[T], section: Mapping[str, Any] | None, name: str = "") -> T:
    """Dataclass ``cls`` from a params section, type- and range-checked; an unknown key
    is an error, so a typo in ``-S align.sise=128`` fails instead of silently doing
    nothing. Lists become tuples where the field is one."""
    name = name or cls.__name__
    if section is None:
        section = {}
    if not isinstance(section, Mapping):
        raise ParamsError(f"params section '{name}' = {_show(section)}: should be a mapping "
                          "of keys")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in section if k not in fields)
    if unknown:
        raise ParamsError(
            f"params section '{name}': unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(fields))}"
        )
    # Through JSON: strict mode then accepts a mapping for the dataclass and lists for
    # tuples, and still refuses "3" for an int or 1 for a bool (ints do pass as floats).
    text = json.dumps(dict(section), default=str)
    try:
        return _adapter(cls).validate_json(text, strict=True)
    except ValidationError as e:
        raise ParamsError(_describe(e, name)) from None


def section(params: Mapping[str, Any], name: str, cls: type[T]) -> T:
    return build(cls, params.get(name), name)
