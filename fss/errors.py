"""One-line errors for users: a stage or command that fails on bad input or a fault
of its environment (a full or read-only disk, a damaged store) prints
``error: <file>: <problem>`` and exits 2, without a traceback. Every command of
``fss`` and every stage's ``main`` is wrapped by ``one_line_errors``, the one handler
(a test checks that none is left out); anything else that escapes is a bug and keeps
its traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

EXIT_USER_ERROR = 2


class UserError(ValueError):
    """Bad input or a fault the user can fix (the message names the file or key and
    the problem): a value a command was given, an output path, data a stage cannot
    use, a diverged run. A ValueError, as these were before they had a class."""


class DivergenceError(UserError):
    """A loss or weight of a training run became NaN or inf; the message names the
    epoch, the iteration and the loss. Raised before anything of that epoch is saved,
    so the last checkpoint on disk is the last good one."""


def user_errors() -> tuple[type[BaseException], ...]:
    from fss.config import ParamsError
    from fss.data.cufs import CufsError
    from fss.inference.model_file import ModelFileError
    from fss.tracking import TrackingError
    from fss.weights import WeightsError

    # OSError: ENOSPC, EROFS, EACCES, a file that vanished; FileNotFoundError messages
    # are our own "<path>: not found" lines.
    return (UserError, CufsError, WeightsError, ParamsError, TrackingError, ModelFileError,
            OSError)


def one_line(e: BaseException) -> str:
    """The message of a user error as one line; an OSError of the system (``[Errno 28]
    No space left on device: 'x'``) as ``x: No space left on device``."""
    if isinstance(e, OSError) and e.strerror:
        where = e.filename if e.filename is not None else ""
        text = f"{where}: {e.strerror}" if where != "" else e.strerror
        if e.filename2 is not None:
            text += f" (-> {e.filename2})"
    else:
        text = str(e) or e.__class__.__name__
    return " ".join(text.split())


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except user_errors() as e:
            print(f"error: {one_line(e)}", file=sys.stderr)
            sys.exit(EXIT_USER_ERROR)

    wrapper.one_line_errors = True  # type: ignore[attr-defined]
    return wrapper
