"""The download stage's work: resolve where CUFS comes from, read and verify it, and
write the verified copy to ``data/raw/``."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fss.config import Fraction, NonNegInt, PosInt
from fss.data import cufs
from fss.data.paired_folder import paired_folder_pairs
from fss.data.synthetic import make_synthetic_cufs, make_synthetic_paired


@dataclass(frozen=True)
class DataParams:
    # cufs | paired_folder (a user's photos/ and sketches/, fss.data.paired_folder)
    dataset: Literal["cufs", "paired_folder"] = "cufs"
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
    # paired_folder without a splits.csv: the share of pairs drawn for test, and the draw's seed
    test_share: Fraction = 0.5
    split_seed: NonNegInt = 0


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
    if p.dataset == "paired_folder":
        return download_paired(p, out)
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
            "dataset": "cufs",
        })
    return result


def download_paired(p: DataParams, out: Path) -> DownloadResult:
    """A paired folder (``data.source``; ``synthetic``: made up here, for the smoke run)
    read, split and copied to ``out`` like CUFS."""
    if p.source in ("auto", "official"):
        raise cufs.CufsError(f"data.source={p.source}: a paired folder needs its path "
                             "(data.source=<folder with photos/ and sketches/>, or "
                             "synthetic)")
    with tempfile.TemporaryDirectory(prefix="fss-pairs-") as tmpd:
        if p.source == "synthetic":
            root = Path(tmpd) / "pairs"
            make_synthetic_paired(root, 2 * p.synthetic_per_split, p.synthetic_seed)
        else:
            root = Path(p.source).expanduser()
            if not root.is_dir():
                raise cufs.CufsError(f"{root}: paired folder not found (data.source)")
        pairs, rule = paired_folder_pairs(root, p.test_share, p.split_seed)
        cufs.check_images(pairs)
        checked, files, manifest = 0, 2 * len(pairs), None
        if p.manifest not in ("", "auto"):
            manifest = _manifest_for(p, root)
            checked, files = cufs.check_manifest(pairs, manifest, root, p.manifest_unlisted)
        pairs = cufs.limit_per_split(pairs, p.limit_per_split)
        kind = "synthetic" if p.source == "synthetic" else "real"
        result = DownloadResult(kind=kind, source=p.source if kind == "synthetic" else str(root),
                                pairs=len(pairs), sha256_checked=checked, files=files,
                                manifest=manifest)
        cufs.write_raw(pairs, out, {
            "kind": kind, "source": result.source, "pairs": str(result.pairs),
            "sha256_checked": str(checked), "limit_per_split": str(p.limit_per_split),
            "dataset": "paired_folder", "split": rule,
        })
    return result
