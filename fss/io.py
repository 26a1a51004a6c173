"""Small file helpers shared by the stages: atomic writes so a failed stage leaves
no half-written output."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


@contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Yield a temp folder beside ``out``; on success it replaces ``out``, on error
    it is removed and ``out`` is left as it was."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A killed run (SIGKILL/SIGTERM skips the cleanup below) leaves its temp folder.
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
    tmp = temp_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def temp_path(path: Path) -> Path:
    """``.<name>.tmp-<pid>`` beside ``path``: what a write goes to before its rename
    (and what ``remove_stale_temp_files`` knows to clear after a killed run)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def save_png_atomic(path: Path, array: np.ndarray) -> None:
    """``save_png`` to a temp name, then a rename; the temp file is removed whatever
    fails (a full disk leaves no partial file behind)."""
    tmp = temp_path(path)
    try:
        save_png(tmp, array)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_gray(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def save_png(path: Path, array: np.ndarray) -> None:
    # zlib level 1: PNG is lossless at any level, and level 6 (PIL's default) spent ~5 %
    # of the alignment stage compressing; files come out ~15 % larger.
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path, format="PNG", optimize=False,
                                                             compress_level=1)
