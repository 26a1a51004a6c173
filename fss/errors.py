"""One-line errors for users: a stage or command that fails on bad input prints
``error: <file>: <problem>`` and exits 2, without a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any


def user_errors() -> tuple[type[BaseException], ...]:
    from fss.config import ParamsError
    from fss.data.cufs import CufsError
    from fss.inference.model_file import ModelFileError
    from fss.tracking import TrackingError
    from fss.weights import WeightsError

    return (CufsError, WeightsError, ParamsError, TrackingError, ModelFileError,
            FileNotFoundError)


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except user_errors() as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    return wrapper
