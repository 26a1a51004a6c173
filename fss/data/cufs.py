"""Reading CUFS from whatever layout it arrives in, pairing photos with sketches,
verifying the result and writing the verified copy under ``data/raw/``.

Folders are classified by the words in their path (subset: cuhk/ar/xm2vts, kind:
photo/sketch, split: train/test), so the redistributed copy (``AR/Training Photos``)
and the official archives extracted into folders named after them
(``CUHK_training_sketch/...``) read the same way. Pairing follows the database's
naming (see ``../shared/data/README.md``).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tarfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PIL import Image

from fss.io import atomic_dir, atomic_file

SUBSETS = ("cuhk", "ar", "xm2vts")
SPLITS = ("train", "test")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
SYNTHETIC_MARKER = "SYNTHETIC_CUFS.txt"

# Files and folders operating systems and archivers leave beside data: never data, never
# an "unpaired file". Hidden names (``.DS_Store``, macOS's ``._name.jpg`` AppleDouble
# sidecars, ``.Trashes``) are skipped as a rule; these are the visible ones.
_OS_JUNK_FILES = {"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"}
_OS_JUNK_DIRS = {"__macosx", "$recycle.bin", "system volume information"}

_SUBSET_TOKENS = {"cuhk": "cuhk", "ar": "ar", "xm2vts": "xm2vts", "xm": "xm2vts"}
_SPLIT_TOKENS = {"train": "train", "training": "train", "test": "test", "testing": "test"}

# Archives listed on the database page (mmlab.ie.cuhk.edu.hk/archive/facesketch.html).
# AR and XM2VTS photos are not among them: they come from those databases' owners.
OFFICIAL_ARCHIVES = {
    "CUHK_training_sketch.zip": "http://mmlab.ie.cuhk.edu.hk/archive/sketchdatabase/CUHK/training_88/Original_Images/CUHK_training_sketch.zip",
    "CUHK_training_photo.zip": "http://mmlab.ie.cuhk.edu.hk/archive/sketchdatabase/CUHK/training_88/Original_Images/CUHK_training_photo.zip",
    "CUHK_testing_sketch.zip": "http://mmlab.ie.cuhk.edu.hk/archive/sketchdatabase/CUHK/testing_100/Original_Images/CUHK_testing_sketch.zip",
    "CUHK_testing_photo.zip": "http://mmlab.ie.cuhk.edu.hk/archive/sketchdatabase/CUHK/testing_100/Original_Images/CUHK_testing_photo.zip",
    "AR_sketch.zip": "http://mmlab.ie.cuhk.edu.hk/archive/sketchdatabase/AR/Original_Images/AR_sketch.zip",
    "XM2VTS_sketch.zip": "http://mmlab.ie.cuhk.edu.hk/archive/sketchdatabase/XM2VTS/Original_Images/XM2VTS_sketch.zip",
}


class CufsError(ValueError):
    """The CUFS source is incomplete or unreadable; the message names the file."""


@dataclass(frozen=True)
class Pair:
    subset: str
    split: str
    id: str
    photo: Path
    sketch: Path


@dataclass(frozen=True)
class _Found:
    path: Path
    subset: str
    kind: str
    split: str | None


def _tokens(rel_dir: Path) -> list[str]:
    words: list[str] = []
    for part in rel_dir.parts:
        words += [w for w in re.split(r"[^a-z0-9]+", part.lower()) if w]
    return words


def classify_dir(rel_dir: Path) -> tuple[str | None, str | None, str | None]:
    """(subset, kind, split) read from the words of a folder path; None where absent."""
    subset = kind = split = None
    for w in _tokens(rel_dir):
        subset = subset or _SUBSET_TOKENS.get(w)
        split = split or _SPLIT_TOKENS.get(w)
        if kind is None and w.startswith("photo"):
            kind = "photo"
        if kind is None and w.startswith("sketch"):
            kind = "sketch"
    return subset, kind, split


def pair_key(stem: str) -> str:
    """Name shared by a photo and its sketch: CUHK's ``F2-005-01-sz1`` -> ``f-005-01``."""
    key = stem.lower()
    key = re.sub(r"-sz\d+$", "", key)
    key = re.sub(r"^([fm])2-", r"\1-", key)
    return key


def is_os_junk(name: str) -> bool:
    """A sidecar or metadata file/folder an OS or archiver left (``._x.jpg``,
    ``.DS_Store``, ``Thumbs.db``, ``__MACOSX``)."""
    return name.startswith(".") or name.lower() in _OS_JUNK_FILES | _OS_JUNK_DIRS


def _scan(root: Path, base: Path) -> list[_Found]:
    found = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not is_os_junk(d))
        rel = Path(dirpath).relative_to(base)
        subset, kind, split = classify_dir(rel)
        for name in sorted(files):
            p = Path(dirpath) / name
            if is_os_junk(name) or p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if subset and kind:
                found.append(_Found(p, subset, kind, split))
    return found


def _numbered_gap(subset: str, split: str | None, photos: list[Path], sketches: list[Path],
                  reference: dict[str, str]) -> CufsError:
    """The error for numbered sketches that do not match the photos one for one: the
    file that is missing, by the committed split's names (``reference``: photo file
    name -> sketch file name) where it knows them, else by the gap in the numbering."""
    counts = f"{subset} {split}: {len(photos)} photos, {len(sketches)} numbered sketches"
    sketch_dir = sketches[0].parent
    have_s = {s.name for s in sketches}
    have_p = {p.name for p in photos}
    if reference:
        for p in photos:
            want = reference.get(p.name)
            if want and want not in have_s:
                return CufsError(f"{sketch_dir / want}: missing numbered sketch (pairs with "
                                 f"{p.name}; {counts})")
        by_sketch = {s: p for p, s in reference.items()}
        for s in sketches:
            want = by_sketch.get(s.name)
            if want and want not in have_p:
                return CufsError(f"{photos[0].parent / want if photos else want}: missing "
                                 f"photo (its numbered sketch {s.name} is there; {counts})")
    if len(sketches) < len(photos):
        numbers = sorted(int(s.stem) for s in sketches)
        gaps = [n for n in range(numbers[0], numbers[-1]) if n not in set(numbers)]
        n = gaps[0] if gaps else numbers[-1] + 1
        return CufsError(f"{sketch_dir / f'{n}{sketches[0].suffix}'}: missing numbered sketch "
                         f"({counts})")
    return CufsError(f"{sketches[-1]}: unpaired file ({counts})")


def _pair_group(subset: str, split: str | None, photos: list[Path], sketches: list[Path],
                reference: dict[str, str] | None = None):
    """Yield (id, photo, sketch) for one subset/split, raising on any unpaired file.
    ``reference``: photo file name -> sketch file name from the committed split."""
    if sketches and all(s.stem.isdigit() for s in sketches) and not all(
        p.stem.isdigit() for p in photos
    ):
        # CUHK testing: sketches are numbered; sketch first+k is the k-th photo by name.
        photos_sorted = sorted(photos, key=lambda p: p.name)
        sketches_sorted = sorted(sketches, key=lambda s: int(s.stem))
        if len(photos_sorted) != len(sketches_sorted):
            raise _numbered_gap(subset, split, photos_sorted, sketches_sorted, reference or {})
        for p, s in zip(photos_sorted, sketches_sorted, strict=True):
            yield f"{subset}-{pair_key(p.stem)}", p, s
        return
    by_key_p = {pair_key(p.stem): p for p in photos}
    by_key_s = {pair_key(s.stem): s for s in sketches}
    for key, p in by_key_p.items():
        if key not in by_key_s:
            raise CufsError(f"{p}: unpaired file (no {subset} sketch named like it)")
    for key, s in by_key_s.items():
        if key not in by_key_p:
            raise CufsError(f"{s}: unpaired file (no {subset} photo named like it)")
    for key in sorted(by_key_p):
        yield f"{subset}-{key}", by_key_p[key], by_key_s[key]


def reference_pairs() -> list[dict[str, str]]:
    """The committed split of real CUFS (Wang et al.): subset, split, id, photo, sketch."""
    text = resources.files("fss.data").joinpath("cufs_pairs.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def discover_pairs(
    roots: Iterable[Path], reference: list[dict[str, str]] | None = None
) -> list[Pair]:
    """Find and pair every CUFS image under ``roots``.

    Folders without a train/test word take the split from ``reference`` by id (the
    official AR/XM2VTS sketch archives are not split).
    """
    groups: dict[tuple[str, str | None], dict[str, list[Path]]] = defaultdict(
        lambda: {"photo": [], "sketch": []}
    )
    for root in roots:
        for f in _scan(root, root):
            groups[(f.subset, f.split)][f.kind].append(f.path)
    # Folders with no split word are paired as a whole, then split by id.
    merged: dict[tuple[str, str | None], dict[str, list[Path]]] = defaultdict(
        lambda: {"photo": [], "sketch": []}
    )
    for (subset, split), g in groups.items():
        no_split_sibling = any(k[0] == subset and k[1] is None for k in groups)
        key = (subset, None) if no_split_sibling else (subset, split)
        merged[key]["photo"] += g["photo"]
        merged[key]["sketch"] += g["sketch"]
    ref_split = {r["id"]: r["split"] for r in (reference or [])}
    pairs = []
    for (subset, split), g in sorted(merged.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        names = {Path(r["photo"]).name: Path(r["sketch"]).name for r in reference or []
                 if r["subset"] == subset and (split is None or r["split"] == split)}
        for pid, photo, sketch in _pair_group(subset, split, g["photo"], g["sketch"], names):
            s = split or ref_split.get(pid)
            if s is None:
                raise CufsError(f"{photo}: no train/test folder and id '{pid}' is not in the split")
            pairs.append(Pair(subset, s, pid, photo, sketch))
    return sorted(pairs, key=lambda p: (SUBSETS.index(p.subset), SPLITS.index(p.split), p.id))


def check_against_reference(pairs: list[Pair], reference: list[dict[str, str]], root: Path):
    """Every subset present, the split's counts and ids exactly, else a one-line error."""
    have: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in pairs:
        have[(p.subset, p.split)].add(p.id)
    want: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in reference:
        want[(r["subset"], r["split"])].add(r["id"])
    for subset in SUBSETS:
        if not any(have.get((subset, s)) for s in SPLITS):
            raise CufsError(
                f"{root}: missing subset '{subset}' (no folder with '{subset}' and "
                f"'photo'/'sketch' in its path holds images)"
            )
    for key in sorted(want):
        got, exp = have.get(key, set()), want[key]
        if got != exp:
            missing, extra = sorted(exp - got), sorted(got - exp)
            detail = (f"missing {missing[0]}" if missing else f"unexpected {extra[0]}")
            raise CufsError(
                f"{root}: {key[0]} {key[1]} has {len(got)} pairs, expected {len(exp)} "
                f"({detail}{' and more' if len(missing) + len(extra) > 1 else ''})"
            )


def check_counts(pairs: list[Pair], expected: dict[str, dict[str, int]], root: Path):
    for subset, per_split in expected.items():
        for split, n in per_split.items():
            got = sum(1 for p in pairs if p.subset == subset and p.split == split)
            if got == 0 and not any(p.subset == subset for p in pairs):
                raise CufsError(f"{root}: missing subset '{subset}'")
            if got != n:
                raise CufsError(f"{root}: {subset} {split} has {got} pairs, expected {n}")


def check_images(pairs: Iterable[Pair]) -> None:
    for p in pairs:
        for path in (p.photo, p.sketch):
            try:
                with Image.open(path) as im:
                    im.load()
                    if im.width < 16 or im.height < 16:
                        raise CufsError(f"{path}: image too small ({im.width}x{im.height})")
            except CufsError:
                raise
            except Exception as e:  # PIL raises many types for broken files
                raise CufsError(f"{path}: unreadable image ({e.__class__.__name__}: {e})") from e


def check_manifest(pairs: Iterable[Pair], manifest: Path, root: Path,
                   unlisted: str = "error") -> tuple[int, int]:
    """Verify the sha256 of every paired file against ``manifest`` (path,bytes,sha256,
    paths relative to ``root``): each file under ``root`` must be listed and match, so
    a changed file cannot slip in unlisted. An unlisted one is an error naming the
    first few, or with ``unlisted="warn"`` a warning on stderr. Files from elsewhere
    (``data.photo_source``, extracted archives) are outside the manifest's reach.
    Returns (files verified, files paired)."""
    import sys

    from fss.weights import sha256_of

    try:
        with open(manifest, newline="") as f:
            listed = {row["path"]: row["sha256"] for row in csv.DictReader(f)}
    except (KeyError, csv.Error, UnicodeDecodeError) as e:
        raise CufsError(f"{manifest}: not a sha256 manifest (path,bytes,sha256): {e}") from None
    files = [path for p in pairs for path in (p.photo, p.sketch)]
    verified, missing = 0, []
    for path in files:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            continue
        if rel not in listed:
            missing.append(rel)
            continue
        if sha256_of(path) != listed[rel]:
            raise CufsError(f"{path}: sha256 differs from {manifest}")
        verified += 1
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        what = (f"{manifest}: {len(missing)} paired file(s) not listed, so not verified: "
                f"{', '.join(missing[:3])}{more}")
        if unlisted != "warn":
            raise CufsError(f"{what} (list them, or set data.manifest_unlisted=warn)")
        print(f"warning: {what}", file=sys.stderr)
    return verified, len(files)


def extract_archives(source: Path, into: Path) -> list[Path]:
    """Extract every archive at/under ``source`` into ``into/<archive stem>/``."""
    archives = [source] if source.is_file() else [
        p for p in sorted(source.rglob("*")) if p.name.lower().endswith(ARCHIVE_SUFFIXES)
    ]
    out = []
    for a in archives:
        stem = re.sub(r"(\.tar\.gz|\.tgz|\.tar|\.zip)$", "", a.name, flags=re.I)
        dest = into / stem
        dest.mkdir(parents=True, exist_ok=True)
        try:
            if a.name.lower().endswith(".zip"):
                with zipfile.ZipFile(a) as z:
                    z.extractall(dest)
            else:
                with tarfile.open(a) as t:
                    t.extractall(dest, filter="data")
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as e:
            raise CufsError(f"{a}: cannot extract archive ({e})") from e
        out.append(dest)
    return out


def fetch_official(cache: Path) -> Path:
    """Download the official archives into ``cache`` (online machines only)."""
    import urllib.request

    cache.mkdir(parents=True, exist_ok=True)
    for name, url in OFFICIAL_ARCHIVES.items():
        dest = cache / name
        if dest.exists():
            continue
        try:
            with atomic_file(dest) as tmp, urllib.request.urlopen(url, timeout=60) as r, \
                    open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as e:
            raise CufsError(
                f"{url}: download failed ({e}); put the CUFS folder somewhere local and set "
                f"FSS_CUFS (or data.source) to it"
            ) from e
    return cache


def write_raw(pairs: list[Pair], out: Path, provenance: dict[str, str]) -> None:
    """Copy the verified pairs to ``out`` atomically: photos/, sketches/, manifest.csv,
    source.csv (where they came from)."""
    from fss.weights import sha256_of

    with atomic_dir(out) as tmp:
        (tmp / "photos").mkdir()
        (tmp / "sketches").mkdir()
        rows = []
        for p in pairs:
            ph = Path("photos") / f"{p.id}{p.photo.suffix.lower()}"
            sk = Path("sketches") / f"{p.id}{p.sketch.suffix.lower()}"
            shutil.copyfile(p.photo, tmp / ph)
            shutil.copyfile(p.sketch, tmp / sk)
            rows.append({
                "id": p.id, "subset": p.subset, "split": p.split,
                "photo": ph.as_posix(), "sketch": sk.as_posix(),
                "photo_sha256": sha256_of(tmp / ph), "sketch_sha256": sha256_of(tmp / sk),
                "source_photo": p.photo.name, "source_sketch": p.sketch.name,
            })
        with open(tmp / "manifest.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        with open(tmp / "source.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["key", "value"])
            w.writerows(sorted(provenance.items()))


def read_manifest(raw: Path) -> list[dict[str, str]]:
    path = raw / "manifest.csv"
    if not path.is_file():
        raise CufsError(f"{path}: missing; run the download stage first")
    with open(path) as f:
        return list(csv.DictReader(f))


def read_source(raw: Path) -> dict[str, str]:
    with open(raw / "source.csv") as f:
        return {r["key"]: r["value"] for r in csv.DictReader(f)}


def limit_per_split(pairs: list[Pair], n: int) -> list[Pair]:
    """First ``n`` ids (sorted) of each subset/split; 0 keeps everything."""
    if n <= 0:
        return pairs
    kept: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for p in pairs:
        if kept[(p.subset, p.split)] < n:
            kept[(p.subset, p.split)] += 1
            out.append(p)
    return out
