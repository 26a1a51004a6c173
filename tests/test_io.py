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
