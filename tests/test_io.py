import pytest

from fss.io import atomic_dir


def test_atomic_dir_replaces_on_success(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]


def test_atomic_dir_keeps_previous_on_error(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_removes_stale_temp_of_killed_run(tmp_path):
    stale = tmp_path / ".out.tmp-abc123"
    stale.mkdir()
    (stale / "x.png").write_bytes(b"x")
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "y").write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_text_replaces_whole_files_and_leaves_no_temp(tmp_path):
    from fss.io import write_text

    target = tmp_path / "sub" / "scores.csv"
    write_text(target, "a\n1\n")
    write_text(target, "a\n2\n")
    assert target.read_text() == "a\n2\n"
    assert [p.name for p in target.parent.iterdir()] == ["scores.csv"]


def _failing_replace(monkeypatch, nth: int, err: int):
    """os.replace in fss.io failing on its ``nth`` call (1-based) with errno ``err``."""
    import os

    import fss.io

    real, calls = os.replace, []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == nth:
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
        real(src, dst)

    monkeypatch.setattr(fss.io.os, "replace", replace)
    return calls


@pytest.mark.parametrize("existing", [False, True])
def test_atomic_dir_removes_its_temp_when_the_final_rename_fails(tmp_path, monkeypatch,
                                                                 existing):
    """The rename into place fails (EXDEV, EACCES, ENOSPC on a journal...): the temp
    folder is gone, the previous output is back as it was, and the error names ``out``."""
    import errno

    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "old.txt").write_text("old")
    # with an existing output, call 1 sets it aside and call 2 moves the temp in
    _failing_replace(monkeypatch, 2 if existing else 1, errno.EACCES)
    with pytest.raises(OSError) as e, atomic_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert e.value.errno == errno.EACCES and e.value.filename == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if existing else [])
    if existing:
        assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_atomic_dir_puts_back_an_output_a_killed_run_set_aside(tmp_path):
    """Killed between its two renames, a run leaves the old output as ``.out.old-<pid>``
    and no ``out``: the next run puts it back before anything else."""
    aside = tmp_path / ".out.old-999999"
    aside.mkdir()
    (aside / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out"):
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (tmp_path / "out" / "old.txt").read_text() == "old"


def test_write_text_fault_names_the_file_and_leaves_no_temp(tmp_path, monkeypatch):
    """ENOSPC half-way through the temp file (Python's own error names no file): no temp
    is left, and the error is about the target, not the temp name."""
    import errno
    import os
    from pathlib import Path

    from fss.io import write_text

    def full(self, text, encoding=None):
        fd = os.open(self, os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"half")
        os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)
    target = tmp_path / "scores.csv"
    with pytest.raises(OSError) as e:
        write_text(target, "a\n1\n")
    assert (e.value.errno, e.value.filename) == (errno.ENOSPC, str(target))
    assert list(tmp_path.iterdir()) == []


def test_save_png_atomic_rename_fault_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    import numpy as np

    from fss.io import save_png_atomic

    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    _failing_replace(monkeypatch, 1, errno.EROFS)
    with pytest.raises(OSError) as e:
        save_png_atomic(target, np.zeros((4, 4), np.uint8))
    assert (e.value.errno, e.value.filename) == (errno.EROFS, str(target))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    assert target.read_bytes() == b"old"


def test_an_error_of_another_file_is_left_as_it_is(tmp_path):
    """Inside atomic_file, an OSError about some other file (an input that is missing)
    keeps its own name."""
    from fss.io import atomic_file

    with pytest.raises(FileNotFoundError) as e, atomic_file(tmp_path / "out.txt"):
        open(tmp_path / "input.txt")
    assert e.value.filename == str(tmp_path / "input.txt")
    assert list(tmp_path.iterdir()) == []


def test_read_rgb_of_a_damaged_image_names_it(tmp_path):
    import numpy as np
    from PIL import Image

    from fss.errors import UserError
    from fss.io import read_rgb

    path = tmp_path / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match=r"x.png: not a readable image \("):
        read_rgb(path)
    with pytest.raises(FileNotFoundError):
        read_rgb(tmp_path / "none.png")


def test_atomic_file_renames_write_faults_only(tmp_path):
    """A write's fault (ENOSPC names no file) is about the user's file; an error of the
    work inside the block with no file (a download's network error) is passed on as it
    came, and the temp file goes either way."""
    import errno
    import os

    from fss.io import atomic_file

    target = tmp_path / "w.bin"
    with pytest.raises(OSError) as e, atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert e.value.filename == str(target) and e.value.errno == errno.ENOSPC
    network = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    with pytest.raises(ConnectionResetError) as e, atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise network
    assert e.value is network and e.value.filename is None
    assert list(tmp_path.iterdir()) == []
