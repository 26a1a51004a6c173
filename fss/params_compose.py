"""Compose ``params.yaml`` from ``conf/`` the way ``dvc exp run`` does (DVC's Hydra
helper), so plain ``dvc repro`` and the tests see the same params. A conf file or an
``-S`` override that does not compose is one ParamsError line naming the file or the
override, not Hydra's traceback."""

from __future__ import annotations

import re
from pathlib import Path

from fss.config import ParamsError


def compose_params(out: Path, overrides: list[str], conf_dir: Path = Path("conf")) -> None:
    """Write ``out`` from ``conf_dir`` and ``overrides``, checked (fss.params) first;
    on any problem nothing is written."""
    from dvc.utils.hydra import compose_and_dump
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    from fss.config import load_params
    from fss.io import atomic_file
    from fss.params import check_params

    out, conf_dir = Path(out), Path(conf_dir)
    if not (conf_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{conf_dir / 'config.yaml'}: not found (run from the repo root)")
    if out.is_dir():
        raise ParamsError(f"{out}: is a folder (--out names the file to write)")
    with atomic_file(out) as tmp:
        try:
            compose_and_dump(tmp, str(conf_dir.resolve()), None, "config", "", overrides)
        # (UnicodeDecodeError: a conf file that is not text; ValueError: an override
        # Hydra's defaults list cannot apply, e.g. deleting a list-valued row; Hydra lets
        # both through)
        except (HydraException, OmegaConfBaseException, YAMLError, ValueError) as e:
            raise ParamsError(f"{out} (not written): "
                              f"{composition_problem(e, conf_dir, overrides)}") from None
        try:  # a bad override (-S train.lr=abc) writes nothing
            check_params(load_params(tmp))
        except ParamsError as e:
            raise ParamsError(f"{out} (not written): {e}") from None


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")


def _innermost(e: BaseException) -> BaseException:
    """The first exception of ``e``'s chain (Hydra re-raises OmegaConf's inside its own)."""
    while (inner := e.__cause__ or e.__context__) is not None:
        e = inner
    return e


def composition_problem(e: BaseException, conf_dir: Path, overrides: list[str]) -> str:
    """What Hydra or OmegaConf raised, as one line that starts with the conf file or
    the ``-S`` override at fault (their own messages span lines, list the search path,
    or name no file)."""
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )
    from omegaconf.errors import InterpolationKeyError
    from yaml import MarkedYAMLError

    if isinstance(e, MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        where = f"{_shown(Path(mark.name), conf_dir)}: line {mark.line + 1}" if mark else conf_dir
        what = "; ".join(x for x in (e.context, e.problem) if x)
        return f"{where}: not valid YAML ({what})"
    if isinstance(e, UnicodeDecodeError):
        bad = next((p for p in sorted(conf_dir.rglob("*.yaml")) if not _is_utf8(p)), conf_dir)
        return f"{bad}: not a text (UTF-8) file ({e.reason})"
    if isinstance(e, OverrideParseException):
        why = "; ".join(ln.strip() for ln in e.message.splitlines() if ln.strip() and not
                        ln.startswith(("Error parsing override", "See http"))) or "?"
        return f"-S {e.override!r}: not a valid override ({why}; the form is key=value)"
    if isinstance(e, MissingConfigException) and e.missing_cfg_file:
        group, _, name = e.missing_cfg_file.rpartition("/")
        options = e.options or sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))
        return (f"{conf_dir / e.missing_cfg_file}.yaml: no such conf file ('{name}' is not "
                f"one of {conf_dir / group}/: {', '.join(options)})")
    if isinstance(e, InterpolationKeyError):
        m = re.search(r"Interpolation key '(.+?)' not found", str(e))
        key = m.group(1) if m else "?"
        used = "${" + key + "}"
        where = ([str(p) for p in sorted(conf_dir.rglob("*.yaml")) if used in _text(p)]
                 + [f"-S {o!r}" for o in overrides if used in o])
        return (f"{', '.join(where) or conf_dir}: {used} names no key of the composed params "
                f"(a misspelt or removed key?)")
    if isinstance(e, ConfigCompositionException):
        first = _first_line(str(e))
        m = re.match(r"Could not override '(.+?)'", first)
        if m:
            key = m.group(1)
            given = next((o for o in overrides if o.split("=", 1)[0].lstrip("~") == key), key)
            return (f"-S {given!r}: conf/ has no key {key} (misspelt? every key is in the "
                    f"composed params.yaml)")
        m = re.match(r"In '(.+?)': (.*)", first)
        if m:
            why = _first_line(str(_innermost(e))) or m.group(2)
            return f"{conf_dir / m.group(1)}.yaml: does not compose ({why})"
    why = _first_line(str(e)) or e.__class__.__name__
    if given := next((o for o in overrides if f"input_line={o!r}" in str(e)), None):
        return f"-S {given!r}: does not compose ({why.split(' : ')[0]})"
    return f"{conf_dir}: does not compose ({why})"


def _shown(path: Path, conf_dir: Path) -> str:
    """``path`` as the user named the conf folder (Hydra reports absolute paths)."""
    try:
        return str(conf_dir / path.relative_to(conf_dir.resolve()))
    except ValueError:
        return str(path)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
