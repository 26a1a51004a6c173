"""Small file helpers shared by the stages: atomic writes so a failed stage leaves
no half-written output."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


@contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Yield a temp folder beside ``out``; on success it replaces ``out``, on error
    (the caller's, or a rename that fails) it is removed and ``out`` is left as it was."""
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # A killed run (SIGKILL/SIGTERM skips the cleanup below) leaves its temp folder,
        # or, killed between the two renames, the old output set aside: put that back.
        for stale in out.parent.glob(f".{out.name}.old-*"):
            if os.path.lexists(out):
                shutil.rmtree(stale, ignore_errors=True)
            else:
                os.replace(stale, out)
        for stale in out.parent.glob(f".{out.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    except OSError as e:
        raise _naming(e, out) from e
    try:
        yield tmp
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and e.filename is None:  # a write's ENOSPC names no file
            raise _naming(e, out) from e
        raise
    old = out.with_name(f".{out.name}.old-{os.getpid()}") if os.path.lexists(out) else None
    try:
        if old is not None:
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not os.path.lexists(out):
            with suppress(OSError):  # else the next run puts it back (above)
                os.replace(old, out)
        if isinstance(e, OSError):
            raise _naming(e, out) from e
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# What a write itself can fail with (as opposed to the work inside an atomic block).
WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EIO, errno.EFBIG})


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield the temp name beside ``path`` (``temp_path``) to write; on success it is
    renamed to ``path``, so a reader (or a killed run) never sees half a file. The temp
    file is removed whatever fails (a full disk leaves no partial file), and a fault of
    the write (ENOSPC, EROFS, EACCES) names ``path``, not the temp file."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        # A write's ENOSPC names no file; a network error inside the block (a download's
        # URLError, a reset connection) names none either, and is not about ``path``.
        if (e.filename is not None and Path(os.fsdecode(e.filename)) == tmp) or (
                e.filename is None and e.errno in WRITE_FAULTS):
            raise _naming(e, path) from e
        raise
    finally:
        # (not unlink(missing_ok=True): on a read-only filesystem that raises EROFS)
        if os.path.lexists(tmp):
            tmp.unlink()


def _naming(e: OSError, path: Path) -> OSError:
    """``e`` (errno and reason kept, for callers that tell faults apart) about ``path``:
    the user's file, not the temp name beside it."""
    return OSError(e.errno, e.strerror or str(e), str(path))


# ``.<name>.tmp-<pid>``: the temp file write_text and checkpoint saves write first.
_PID_TEMP = re.compile(r"^\..+\.tmp-(\d+)$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a process of another user
    counts: signalling it is refused, not unknown)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: Path) -> list[tuple[Path, int]]:
    """Remove the ``.<name>.tmp-<pid>`` files under ``folder`` whose writing process is
    no longer alive (a run killed mid-save leaves one); a live writer's are left alone.
    Returns (path, pid) of each file removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in sorted(folder.rglob(".*.tmp-*")):
        m = _PID_TEMP.match(p.name)
        if m and p.is_file() and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append((p, int(m.group(1))))
    return removed


def write_text(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` first and rename it into place, so a reader (or a
    killed run) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def temp_path(path: Path) -> Path:
    """``.<name>.tmp-<pid>`` beside ``path``: what a write goes to before its rename
    (and what ``remove_stale_temp_files`` knows to clear after a killed run)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def save_png_atomic(path: Path, array: np.ndarray) -> None:
    """``save_png`` to a temp name, then a rename; the temp file is removed whatever
    fails (a full disk leaves no partial file behind)."""
    with atomic_file(path) as tmp:
        save_png(tmp, array)


def write_csv_rows(path: Path, rows: list[dict[str, Any]], first: str | None = None) -> None:
    """A CSV of ``rows`` (columns: every key, in the order they first appear; floats
    to 6 decimals), written atomically; no rows: the header ``first`` alone."""
    import csv
    import io

    keys: list[str] = [first] if first else []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()})
    write_text(path, buf.getvalue())


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path, fix: str = "rerun the stage that writes it",
              error: type[Exception] | None = None) -> Any:
    """A JSON file the pipeline wrote (metrics, a baseline); a file that is not valid
    JSON or not UTF-8 is one line naming it and how to ``fix`` it (a ``UserError``, or
    ``error``, a subclass of it)."""
    from fss.errors import UserError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise (error or UserError)(f"{path}: not valid JSON ({' '.join(str(e).split())}); "
                                   f"{fix}") from None


def read_rgb(path: Path) -> np.ndarray:
    return _read_image(path, "RGB")


def read_gray(path: Path) -> np.ndarray:
    return _read_image(path, "L")


def _read_image(path: Path, mode: str) -> np.ndarray:
    """``path`` decoded to ``mode``; a file PIL cannot decode is one UserError naming it
    (a truncated PNG's own message names no file)."""
    from fss.errors import UserError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, struct.error,
            Image.DecompressionBombError) as e:  # what PIL's decoders raise
        reason = " ".join(str(e).split()) or e.__class__.__name__
        raise UserError(f"{path}: not a readable image ({reason})") from None


def save_png(path: Path, array: np.ndarray) -> None:
    # zlib level 1: PNG is lossless at any level, and level 6 (PIL's default) spent ~5 %
    # of the alignment stage compressing; files come out ~15 % larger.
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path, format="PNG", optimize=False,
                                                             compress_level=1)
