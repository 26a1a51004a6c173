import hashlib

import pytest

from fss import weights


@pytest.fixture
def fake_entry(monkeypatch, tmp_path):
    content = b"pretend weights"
    entry = weights.WeightFile("fake", "sub/fake.pt", hashlib.sha256(content).hexdigest(),
                               "a test file", source="the test")
    monkeypatch.setitem(weights.REGISTRY, "fake", entry)
    monkeypatch.setenv("FSS_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("FSS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "w" / "sub" / "fake.pt", content


def test_resolve_finds_verified_file(fake_entry):
    path, content = fake_entry
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert weights.resolve("fake") == path


def test_missing_file_says_where(fake_entry):
    path, _ = fake_entry
    with pytest.raises(weights.WeightsError) as e:
        weights.resolve("fake")
    msg = str(e.value)
    assert "not found" in msg and str(path) in msg and "FSS_WEIGHTS" in msg
    assert "\n" not in msg


def test_corrupt_file_rejected(fake_entry):
    path, content = fake_entry
    path.parent.mkdir(parents=True)
    path.write_bytes(content[:-1])
    with pytest.raises(weights.WeightsError, match="does not match"):
        weights.resolve("fake")


def test_cache_is_second_in_line(fake_entry, tmp_path):
    _, content = fake_entry
    cached = tmp_path / "cache" / "weights" / "sub" / "fake.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(content)
    assert weights.resolve("fake") == cached


def test_unknown_name():
    with pytest.raises(weights.WeightsError, match="unknown weights"):
        weights.resolve("nope")


def test_failed_download_is_one_line(monkeypatch, tmp_path):
    entry = weights.WeightFile("dl", "dl.pt", "0" * 64, "x", url="http://127.0.0.1:9/dl.pt")
    monkeypatch.setitem(weights.REGISTRY, "dl", entry)
    monkeypatch.setenv("FSS_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("FSS_CACHE", str(tmp_path / "c"))
    with pytest.raises(weights.WeightsError, match="download from http://127.0.0.1:9/dl.pt failed"
                       ) as e:
        weights.resolve("dl")
    # a network error, not one of the file it was being written to
    assert "(URLError: <urlopen error" in str(e.value) and "[Errno None]" not in str(e.value)
    assert not [f for f in (tmp_path / "c").rglob("*") if f.is_file()]   # no temp file


def test_downloaded_file_with_the_wrong_sha256_is_not_kept(monkeypatch, tmp_path):
    import io

    entry = weights.WeightFile("dl", "dl.pt", "0" * 64, "x", url="http://example.invalid/dl.pt")
    monkeypatch.setitem(weights.REGISTRY, "dl", entry)
    monkeypatch.setenv("FSS_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("FSS_CACHE", str(tmp_path / "c"))
    monkeypatch.setattr(weights.urllib.request, "urlopen",
                        lambda url, timeout: io.BytesIO(b"not the weights"))
    with pytest.raises(weights.WeightsError) as e:
        weights.resolve("dl")
    dest = tmp_path / "c" / "weights" / "dl.pt"
    # the message names where the file was going, not the temp name it was written to
    assert str(e.value).startswith(f"{dest}: sha256 ") and ".tmp-" not in str(e.value)
    assert not [f for f in (tmp_path / "c").rglob("*") if f.is_file()]


def test_shared_weights_verify(weights_dir):
    for name in ("selfie_segmentation", "mtcnn_onet"):
        assert weights.resolve(name, allow_download=False).is_file()


def test_list_shows_found_missing_and_corrupt_apart(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from fss.cli import app

    entries = {}
    for name, content in (("ok", b"good"), ("bad", b"bad"), ("gone", b"gone")):
        entries[name] = weights.WeightFile(name, f"{name}.pt",
                                           hashlib.sha256(content).hexdigest(), name)
    monkeypatch.setattr(weights, "REGISTRY", entries)
    monkeypatch.setenv("FSS_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("FSS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "ok.pt").write_bytes(b"good")
    (tmp_path / "bad.pt").write_bytes(b"truncated")
    assert weights.file_state("ok") == ("found", tmp_path / "ok.pt")
    assert weights.file_state("bad") == ("corrupt", tmp_path / "bad.pt")
    assert weights.file_state("gone") == ("missing", None)
    r = CliRunner().invoke(app, ["weights", "list"])
    assert r.exit_code == 0
    lines = {ln.split()[0]: ln for ln in r.output.splitlines()}
    assert f"found {tmp_path / 'ok.pt'}" in lines["ok"]
    assert f"CORRUPT {tmp_path / 'bad.pt'} (sha256 does not match)" in lines["bad"]
    assert lines["gone"].endswith("MISSING") and "CORRUPT" not in lines["gone"]


def test_installed_package_copy_is_used_after_the_folders(fake_entry, monkeypatch, tmp_path):
    """A package shipping the file (located, not imported) serves when no folder has
    it; a copy of another release (other sha256) is passed over and named."""
    import sys

    _, content = fake_entry
    pkg = tmp_path / "site" / "fakepkg_fss"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (pkg / "data" / "fake.pt").write_bytes(content)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entry = weights.REGISTRY["fake"]
    monkeypatch.setitem(weights.REGISTRY, "fake",
                        weights.WeightFile(entry.name, entry.relpath, entry.sha256, entry.what,
                                           source=entry.source,
                                           packaged=("fakepkg_fss", "data/fake.pt")))
    assert weights.resolve("fake") == pkg / "data" / "fake.pt"
    assert "fakepkg_fss" not in sys.modules
    (pkg / "data" / "fake.pt").write_bytes(content + b"!")
    with pytest.raises(weights.WeightsError, match="another release"):
        weights.resolve("fake")


def test_mtcnn_comes_from_the_installed_facenet_pytorch(monkeypatch, tmp_path):
    pytest.importorskip("facenet_pytorch")
    monkeypatch.setenv("FSS_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("FSS_CACHE", str(tmp_path / "none"))
    for name in ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"):
        p = weights.resolve(name, allow_download=False)
        assert "facenet_pytorch" in str(p) and p.name == name.split("_")[1] + ".pt"
