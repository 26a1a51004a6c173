"""The download stage's work: resolve where CUFS comes from, read and verify it, and
write the verified copy to ``data/raw/``."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fss.config import NonNegInt, PosInt
from fss.data import cufs
from fss.data.synthetic import make_synthetic_cufs


@dataclass(frozen=True)
class DataParams:
    # auto: $FSS_CUFS if set, else synthetic | synthetic | official | a folder or archive
    source: str = "auto"
    # Extra folder with AR/XM2VTS photos (the official archives hold only sketches).
    photo_source: str = ""
    # sha256 manifest (path,bytes,sha256 relative to the source); auto = cufs-sha256.csv
    # beside the source folder if present; "" = none.
    manifest: str = "auto"
    # A paired file the manifest does not list: error (the default) or warn.
    manifest_unlisted: Literal["error", "warn"] = "error"
    limit_per_split: NonNegInt = 0
    synthetic_per_split: PosInt = 4
    synthetic_seed: NonNegInt = 0


@dataclass
class DownloadResult:
    kind: str  # real | synthetic
    source: str
    pairs: int
    sha256_checked: int   # files verified against the sha256 manifest
    files: int = 0        # files paired (photos and sketches)
    manifest: Path | None = None

    def verified_line(self) -> str:
        if self.manifest is None:
            return "no sha256 manifest"
        return (f"{self.sha256_checked} of {self.files} files verified against sha256, "
                f"{self.manifest.name}")


def resolve_source(p: DataParams) -> tuple[str, Path | None]:
    """('synthetic', None) | ('official', None) | ('path', folder-or-archive)."""
    src = p.source
    if src == "auto":
        env = os.environ.get("FSS_CUFS")
        if not env:
            return "synthetic", None
        src = env
    if src in ("synthetic", "official"):
        return src, None
    path = Path(src).expanduser()
    if not path.exists():
        raise cufs.CufsError(
            f"{path}: CUFS source not found (set FSS_CUFS or data.source to the CUFS "
            f"folder or archive, or use data.source=synthetic)"
        )
    return "path", path


def _manifest_for(p: DataParams, root: Path) -> Path | None:
    if p.manifest == "":
        return None
    if p.manifest == "auto":
        cand = root.parent / "cufs-sha256.csv"
        return cand if cand.is_file() else None
    m = Path(p.manifest).expanduser()
    if not m.is_file():
        raise cufs.CufsError(f"{m}: sha256 manifest not found (data.manifest)")
    return m


def run_download(p: DataParams, out: Path, cache: Path | None = None) -> DownloadResult:
    kind, path = resolve_source(p)
    with tempfile.TemporaryDirectory(prefix="fss-cufs-") as tmpd:
        tmp = Path(tmpd)
        if kind == "synthetic":
            root = tmp / "synthetic"
            make_synthetic_cufs(root, p.synthetic_per_split, p.synthetic_seed)
        elif kind == "official":
            cache = cache or Path.home() / ".cache" / "fss" / "cufs"
            root = cufs.fetch_official(cache)
        else:
            assert path is not None
            root = path
        roots = [root]
        archives = cufs.extract_archives(root, tmp / "extracted") if (
            root.is_file() or any(root.rglob("*.zip")) or any(root.rglob("*.tar*"))) else []
        if root.is_file():
            roots = archives
        else:
            roots += archives
        if p.photo_source:
            roots.append(Path(p.photo_source).expanduser())
        synthetic = any((r / cufs.SYNTHETIC_MARKER).exists() for r in roots if r.is_dir())
        reference = None if synthetic else cufs.reference_pairs()
        pairs = cufs.discover_pairs(roots, reference)
        if synthetic:
            n = p.synthetic_per_split
            cufs.check_counts(pairs, {s: {"train": n, "test": n} for s in cufs.SUBSETS}, root)
        else:
            assert reference is not None
            cufs.check_against_reference(pairs, reference, root)
        cufs.check_images(pairs)
        checked, files, manifest = 0, 2 * len(pairs), None
        if not synthetic and root.is_dir() and (manifest := _manifest_for(p, root)):
            checked, files = cufs.check_manifest(pairs, manifest, root, p.manifest_unlisted)
        pairs = cufs.limit_per_split(pairs, p.limit_per_split)
        result = DownloadResult(
            kind="synthetic" if synthetic else "real",
            source="synthetic" if kind == "synthetic" else str(path or kind),
            pairs=len(pairs), sha256_checked=checked, files=files, manifest=manifest,
        )
        cufs.write_raw(pairs, out, {
            "kind": result.kind, "source": result.source, "pairs": str(result.pairs),
            "sha256_checked": str(checked), "limit_per_split": str(p.limit_per_split),
        })
    return result
